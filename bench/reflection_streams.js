// The client side of bench/reflection_streams.sh: opens N server reflection
// streams (alternately grpc.reflection.v1 and v1alpha, spread over C
// connections), sends list_services on each and waits for every answer;
// prints "answered A of N" and keeps the streams open until a line arrives
// on stdin, then half-closes them all and prints "closed K of N" once each
// ended OK.
//
// usage: node reflection_streams.js HOST:PORT STREAMS CONNECTIONS GRPC_PROTO_DIR
'use strict';
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');
const path = require('path');
const readline = require('readline');

const [target, streamsArg, connectionsArg, protoDir] = process.argv.slice(2);
if (!target || !streamsArg || !connectionsArg || !protoDir) {
  console.error('usage: node reflection_streams.js HOST:PORT STREAMS CONNECTIONS GRPC_PROTO_DIR');
  process.exit(2);
}
const streams = Number(streamsArg);
const connections = Number(connectionsArg);

function serviceOf(version) {
  const definition = protoLoader.loadSync(
    path.join(protoDir, `grpc/reflection/${version}/reflection.proto`),
    { keepCase: true, oneofs: true, includeDirs: [protoDir] });
  return grpc.loadPackageDefinition(definition).grpc.reflection[version].ServerReflection;
}
const services = [serviceOf('v1'), serviceOf('v1alpha')];

// One client per connection and version; a local subchannel pool each, so
// the connections are really distinct.
const clients = [];
for (let c = 0; c < connections; ++c) {
  clients.push(services.map((Service) => new Service(target, grpc.credentials.createInsecure(),
    { 'grpc.use_local_subchannel_pool': 1, 'bench.connection': c })));
}

const calls = [];
let answered = 0;
let closed = 0;
let ended = 0;
function report(line) { process.stdout.write(`${line}\n`); }

for (let i = 0; i < streams; ++i) {
  const call = clients[i % connections][i % 2].ServerReflectionInfo();
  let first = true;
  call.on('data', (response) => {
    if (first && response.list_services_response) {
      first = false;
      if (++answered === streams) report(`answered ${answered} of ${streams}`);
    }
  });
  // 'status' comes once per stream, whatever its end; 'error' too on a
  // failure (listened to so that it is not thrown).
  call.on('error', (error) => {
    if (first) console.error(`stream ${i}: ${error.code} ${error.details}`);
  });
  call.on('status', (status) => {
    if (status.code === grpc.status.OK) ++closed;
    if (++ended === streams) report(`closed ${closed} of ${streams}`);
  });
  call.write({ list_services: '' });
  calls.push(call);
}

readline.createInterface({ input: process.stdin }).once('line', () => {
  for (const call of calls) call.end();
});
