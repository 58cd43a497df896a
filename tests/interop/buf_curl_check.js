// Calls every case of cases.json with `buf curl` (npm @bufbuild/buf), using
// server reflection for the schema, once per reflection protocol, and
// compares the JSON it prints with the expected answer.
//
// usage: node buf_curl_check.js HOST:PORT
'use strict';
const { spawnSync } = require('child_process');
const assert = require('assert');
const path = require('path');

const target = process.argv[2];
if (!target) {
  console.error('usage: node buf_curl_check.js HOST:PORT');
  process.exit(2);
}
const buf = path.join(__dirname, 'node_modules', '.bin', 'buf');
const cases = require('./cases.json');
// gRPC status names as buf prints them, by code (exit code = code * 8).
const codes = { invalid_argument: 3, not_found: 5 };

let failures = 0;
function check(name, fn) {
  try {
    fn();
    console.log(`ok   ${name}`);
  } catch (e) {
    failures++;
    console.log(`FAIL ${name}\n${e.message}`);
  }
}

function curl(protocol, method, request) {
  return spawnSync(buf, [
    'curl', '--protocol', 'grpc', '--http2-prior-knowledge',
    '--reflect-protocol', protocol,
    '-d', JSON.stringify(request),
    `http://${target}/${method}`,
  ], { encoding: 'utf8', timeout: 30000 });
}

// Service listing works through both reflection versions.
for (const protocol of ['grpc-v1', 'grpc-v1alpha']) {
  check(`list services (${protocol})`, () => {
    const r = spawnSync(buf, ['curl', '--protocol', 'grpc', '--http2-prior-knowledge',
      '--reflect-protocol', protocol, '--list-services', `http://${target}`],
      { encoding: 'utf8', timeout: 30000 });
    assert.strictEqual(r.status, 0, r.stderr);
    const services = r.stdout.trim().split('\n').sort();
    for (const s of ['grpc.health.v1.Health', 'tutoring.v1.TutoringService']) {
      assert.ok(services.includes(s), `${s} missing from ${services}`);
    }
  });
}

for (const protocol of ['grpc-v1', 'grpc-v1alpha']) {
  for (const c of cases) {
    check(`${c.method} ${JSON.stringify(c.request)} (${protocol})`, () => {
      const r = curl(protocol, c.method, c.request);
      if (c.error) {
        assert.strictEqual(r.status, codes[c.error] * 8, `exit ${r.status}: ${r.stderr}`);
        assert.strictEqual(JSON.parse(r.stderr).code, c.error, r.stderr);
        return;
      }
      assert.strictEqual(r.status, 0, `exit ${r.status}: ${r.stderr}`);
      assert.deepStrictEqual(JSON.parse(r.stdout), c.response);
    });
  }
}

if (failures > 0) {
  console.log(`${failures} buf curl check(s) failed`);
  process.exit(1);
}
console.log('all buf curl checks passed');
