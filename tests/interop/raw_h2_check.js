// Raw HTTP/2 requests no gRPC library would send, against a live server
// (node's own http2 module; no npm package):
//   - grpc-timeout values past the year 2262 (grpc-go's largest, and more)
//     are no deadline: the call succeeds;
//   - a body that is not protobuf is INVALID_ARGUMENT;
//   - a length prefix claiming 100 MB, then silence, with no deadline: the
//     stream does not stay open forever (the server was started with a
//     short --max-connection-age: its GOAWAY and grace end the stream).
// Usage: node raw_h2_check.js PORT STALL_BOUND_MS. Exits 1 on the first
// failed check.
'use strict';
const http2 = require('http2');

const [port, stallBoundMs] = process.argv.slice(2).map(Number);
const path = '/tutoring.v1.TutoringService/GetUserRole';
// GetUserRoleRequest{user_id: 1}, length-prefixed.
const validBody = Buffer.from('000000000208' + '01', 'hex');

function fail(message) {
  console.error('FAIL: ' + message);
  process.exit(1);
}

// One request; resolves with {status, elapsedMs} when the stream closes.
function request(headers, body, endStream) {
  return new Promise((resolve) => {
    const session = http2.connect('http://127.0.0.1:' + port);
    session.on('error', () => {});
    const started = Date.now();
    let status = null;
    const stream = session.request(Object.assign({
      ':method': 'POST', ':path': path,
      'content-type': 'application/grpc', 'te': 'trailers',
    }, headers), {endStream: false});
    const take = (h) => {
      if (h['grpc-status'] !== undefined) status = Number(h['grpc-status']);
    };
    stream.on('response', take);
    stream.on('trailers', take);
    stream.on('data', () => {});
    stream.on('error', () => {});
    stream.on('close', () => {
      session.close();
      resolve({status, rst: stream.rstCode, elapsedMs: Date.now() - started});
    });
    stream.write(body);
    if (endStream) stream.end();
  });
}

(async () => {
  for (const timeout of ['2562047H', '99999999H']) {
    const r = await request({'grpc-timeout': timeout}, validBody, true);
    if (r.status !== 0) fail(`grpc-timeout ${timeout}: status ${r.status}`);
    console.log(`grpc-timeout ${timeout}: OK`);
  }
  const garbage = Buffer.from('0000000003ffffff', 'hex');
  const g = await request({}, garbage, true);
  if (g.status !== 3) fail(`undecodable body: status ${g.status}, want 3`);
  console.log('undecodable body: INVALID_ARGUMENT');

  const stall = request({}, Buffer.from('0005f5e100', 'hex'), false);
  const bound = new Promise((resolve) =>
      setTimeout(() => resolve(null), stallBoundMs));
  const s = await Promise.race([stall, bound]);
  if (s === null) fail(`stalled 100 MB request still open after ${stallBoundMs} ms`);
  if (s.status === 0) fail('stalled request answered OK');
  console.log(`stalled 100 MB request ended after ${s.elapsedMs} ms ` +
              `(grpc-status ${s.status}, RST ${s.rst})`);
  process.exit(0);
})();
