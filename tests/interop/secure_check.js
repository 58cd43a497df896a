// TLS, mTLS and authorization as clients nobody here wrote see them:
// grpc-js (from the .proto alone) and buf curl (through reflection), with
// client certificates and an authorization header, against a server run
// with docs/examples/authz_policy.json. Expected answers come from
// tests/interop/fixture.sql, the same as the plaintext checks'.
//
// usage: node secure_check.js HOST:PORT PROTO_ROOT PKI_DIR
'use strict';
const assert = require('assert');
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const [target, protoRoot, pki] = process.argv.slice(2);
if (!target || !protoRoot || !pki) {
  console.error('usage: node secure_check.js HOST:PORT PROTO_ROOT PKI_DIR');
  process.exit(2);
}
const buf = path.join(__dirname, 'node_modules', '.bin', 'buf');
const port = target.split(':').pop();
const read = (name) => fs.readFileSync(path.join(pki, name));
const tokens = read('tokens').toString().split('\n').filter((l) => l && !l.startsWith('#'));
const dashboardToken = tokens.find((t) => t.startsWith('dashboard.'));
const reportingToken = tokens.find((t) => t.startsWith('reporting.'));

const definition = protoLoader.loadSync(
  path.join(protoRoot, 'tutoring/v1/tutoring.proto'),
  { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true,
    includeDirs: [protoRoot] });
const tutoring = grpc.loadPackageDefinition(definition).tutoring.v1;

// A grpc-js client presenting `who` (a certificate name in PKI_DIR, or null).
function client(who) {
  const credentials = who
    ? grpc.credentials.createSsl(read('ca.pem'), read(`${who}.key`), read(`${who}.pem`))
    : grpc.credentials.createSsl(read('ca.pem'));
  // Connect to the IP, check the certificate for "localhost".
  return new tutoring.TutoringService(target, credentials,
    { 'grpc.ssl_target_name_override': 'localhost', 'grpc.default_authority': 'localhost' });
}

function call(c, method, request, token) {
  const metadata = new grpc.Metadata();
  if (token) metadata.set('authorization', `Bearer ${token}`);
  return new Promise((resolve, reject) => {
    c[method](request, metadata, { deadline: new Date(Date.now() + 10000) },
      (error, response) => (error ? reject(error) : resolve(response)));
  });
}

const userRole = async (c, token) => {
  const r = await call(c, 'GetUserRole', { user_id: 2 }, token);
  assert.deepStrictEqual([r.user_id, r.role, r.is_active], ['2', 'ROLE_INSTRUCTOR', true]);
};
const hardExercises = async (c, token) => {
  const r = await call(c, 'ListExercises', { difficulty: 'DIFFICULTY_HARD' }, token);
  assert.deepStrictEqual(r.exercises.map((e) => [e.id, e.title]), [['3', 'Graphs']]);
};
const fails = (promise, code) => assert.rejects(promise, (e) => {
  assert.strictEqual(e.code, code, `got ${e.code}: ${e.details}`);
  return true;
});

const dashboard = client('dashboard');
const generator = client('exercise-generator');
const anonymous = client(null);
const S = grpc.status;

const grpcJsChecks = [
  ['dashboard certificate reads users', () => userRole(dashboard)],
  ['dashboard certificate may not list exercises',
    () => fails(hardExercises(dashboard), S.PERMISSION_DENIED)],
  ['generator certificate lists exercises', () => hardExercises(generator)],
  ['generator certificate may not read users',
    () => fails(userRole(generator), S.PERMISSION_DENIED)],
  ['dashboard token reads users', () => userRole(generator, dashboardToken)],
  ['reporting token is valid but granted nothing',
    () => fails(userRole(generator, reportingToken), S.PERMISSION_DENIED)],
  ['forged dashboard token is UNAUTHENTICATED',
    () => fails(userRole(generator, 'dashboard.forged-secret-0123456789'), S.UNAUTHENTICATED)],
  ['no client certificate is refused', () => fails(userRole(anonymous), S.UNAVAILABLE)],
];

// buf curl: exit status is the gRPC code times 8.
function curl(who, method, request, token) {
  const args = ['curl', '--protocol', 'grpc', '--cacert', path.join(pki, 'ca.pem'),
    '--servername', 'localhost', '--reflect-protocol', 'grpc-v1', '-d', JSON.stringify(request)];
  if (who) args.push('--cert', path.join(pki, `${who}.pem`), '--key', path.join(pki, `${who}.key`));
  if (token) args.push('-H', `Authorization: Bearer ${token}`);
  args.push(`https://127.0.0.1:${port}/tutoring.v1.TutoringService/${method}`);
  return spawnSync(buf, args, { encoding: 'utf8', timeout: 30000 });
}

const bufChecks = [
  ['buf curl: dashboard certificate reads users', () => {
    const r = curl('dashboard', 'GetUserRole', { user_id: 2 });
    assert.strictEqual(r.status, 0, r.stderr);
    const body = JSON.parse(r.stdout);
    assert.deepStrictEqual([body.userId, body.role, body.isActive], ['2', 'ROLE_INSTRUCTOR', true]);
  }],
  ['buf curl: generator certificate may not read users', () => {
    const r = curl('exercise-generator', 'GetUserRole', { user_id: 2 });
    assert.strictEqual(r.status, S.PERMISSION_DENIED * 8, `exit ${r.status}: ${r.stderr}`);
    assert.strictEqual(r.stdout, '');
  }],
  ['buf curl: dashboard token reads users', () => {
    const r = curl('exercise-generator', 'GetUserRole', { user_id: 2 }, dashboardToken);
    assert.strictEqual(r.status, 0, r.stderr);
    assert.strictEqual(JSON.parse(r.stdout).role, 'ROLE_INSTRUCTOR');
  }],
  ['buf curl: forged token is UNAUTHENTICATED', () => {
    const r = curl('exercise-generator', 'GetUserRole', { user_id: 2 },
      'dashboard.forged-secret-0123456789');
    assert.strictEqual(r.status, S.UNAUTHENTICATED * 8, `exit ${r.status}: ${r.stderr}`);
    assert.strictEqual(r.stdout, '');
  }],
];

(async () => {
  let failures = 0;
  for (const [name, fn] of [...grpcJsChecks, ...bufChecks]) {
    try {
      await fn();
      console.log(`ok   ${name}`);
    } catch (e) {
      failures++;
      console.log(`FAIL ${name}\n${e.stack}`);
    }
  }
  for (const c of [dashboard, generator, anonymous]) c.close();
  if (failures > 0) {
    console.log(`${failures} secure check(s) failed`);
    process.exit(1);
  }
  console.log('all secure checks passed');
})();
