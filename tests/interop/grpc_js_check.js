// Calls each RPC with @grpc/grpc-js and @grpc/proto-loader, built from the
// .proto file alone (no code of ours), and checks one known answer per RPC
// against tests/interop/fixture.sql, plus an INVALID_ARGUMENT case.
//
// usage: node grpc_js_check.js HOST:PORT PROTO_ROOT
'use strict';
const assert = require('assert');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');
const path = require('path');

const [target, protoRoot] = process.argv.slice(2);
if (!target || !protoRoot) {
  console.error('usage: node grpc_js_check.js HOST:PORT PROTO_ROOT');
  process.exit(2);
}
const definition = protoLoader.loadSync(
  path.join(protoRoot, 'tutoring/v1/tutoring.proto'),
  { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true,
    includeDirs: [protoRoot] });
const tutoring = grpc.loadPackageDefinition(definition).tutoring.v1;
const client = new tutoring.TutoringService(target, grpc.credentials.createInsecure());

function call(method, request) {
  return new Promise((resolve, reject) => {
    const deadline = new Date(Date.now() + 10000);
    client[method](request, { deadline }, (error, response) =>
      error ? reject(error) : resolve(response));
  });
}

const asOf = { seconds: String(Date.parse('2026-01-12T20:00:00Z') / 1000), nanos: 0 };

const checks = [
  ['ListActiveUsers', async () => {
    const r = await call('ListActiveUsers', { page_size: 1, role: 'ROLE_STUDENT' });
    assert.deepStrictEqual(r.users.map((u) => u.id), ['1']);
    assert.strictEqual(r.users[0].email, 'alice@example.test');
    assert.strictEqual(r.users[0].create_time.seconds, String(Date.parse('2025-01-01T00:00:00Z') / 1000));
    assert.notStrictEqual(r.next_page_token, '');
    const next = await call('ListActiveUsers',
      { page_size: 1, role: 'ROLE_STUDENT', page_token: r.next_page_token });
    assert.deepStrictEqual(next.users.map((u) => u.id), ['4']);
    assert.strictEqual(next.next_page_token, '');
  }],
  ['ListUsersByRole', async () => {
    const r = await call('ListUsersByRole', { role: 'ROLE_ADMIN' });
    assert.deepStrictEqual(r.users.map((u) => [u.id, u.is_active]), [['3', false], ['5', true]]);
  }],
  ['GetUserRole', async () => {
    const r = await call('GetUserRole', { user_id: 2 });
    assert.deepStrictEqual([r.user_id, r.role, r.is_active], ['2', 'ROLE_INSTRUCTOR', true]);
  }],
  ['ListExercises', async () => {
    const r = await call('ListExercises', { difficulty: 'DIFFICULTY_HARD' });
    assert.deepStrictEqual(r.exercises.map((e) => [e.id, e.title, e.programming_language]),
      [['3', 'Graphs', 'rust']]);
  }],
  ['GetStreak', async () => {
    const r = await call('GetStreak', { user_id: 1, time_zone: 'UTC', as_of: asOf });
    assert.deepStrictEqual(
      [r.current_days, r.longest_days, r.last_active_date, r.active_on_as_of_date],
      [3, 3, '2026-01-12', true]);
  }],
  ['BatchGetStreaks', async () => {
    const r = await call('BatchGetStreaks',
      { user_ids: [4, 2], time_zone: 'America/New_York', as_of: asOf });
    assert.deepStrictEqual(r.streaks.map((s) => [s.user_id, s.current_days, s.last_active_date]),
      [['4', 1, '2026-01-11'], ['2', 0, '']]);
  }],
  ['INVALID_ARGUMENT for a negative page_size', async () => {
    await assert.rejects(call('ListUsersByRole', { role: 'ROLE_ADMIN', page_size: -3 }),
      (e) => e.code === grpc.status.INVALID_ARGUMENT && /page_size/.test(e.details));
  }],
  ['NOT_FOUND for a missing user', async () => {
    await assert.rejects(call('GetUserRole', { user_id: 99 }),
      (e) => e.code === grpc.status.NOT_FOUND);
  }],
];

(async () => {
  let failures = 0;
  for (const [name, fn] of checks) {
    try {
      await fn();
      console.log(`ok   ${name}`);
    } catch (e) {
      failures++;
      console.log(`FAIL ${name}\n${e.stack}`);
    }
  }
  client.close();
  if (failures > 0) {
    console.log(`${failures} grpc-js check(s) failed`);
    process.exit(1);
  }
  console.log('all grpc-js checks passed');
})();
