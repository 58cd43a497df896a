#!/usr/bin/env node
// The arithmetic of docs/SCALING.md: measured figures of this project (the
// inputs below, each with where it was measured) scaled to 100x the users
// and 100x the calls under the stated assumptions. Change an input, run
// again:
//
//   node bench/scaling_plan.js [--users-factor 100] [--calls-factor 100]
//       [--db-cores 32] [--pod-cores 2] [--target-utilization 0.6]
//       [--db-ram-gb 256]
//
// Prints every intermediate number, so the document's figures can be
// checked line by line.
'use strict';

const args = process.argv.slice(2);
function arg(name, fallback) {
  const i = args.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const value = Number(args[i + 1]);
  if (!Number.isFinite(value) || value <= 0) {
    console.error(`scaling_plan: --${name} needs a positive number`);
    process.exit(64);
  }
  return value;
}

// ---- Measured (docs/PERFORMANCE.md, docs/SCALING.md section 1) ----------
const measured = {
  // The 1M-user database (tutoring-seed --seed=1, database tutoring_1m),
  // pg_relation_size / pg_total_relation_size on 2026-12-02.
  users: 1_000_000,
  userExercisesRows: 30_594_825,
  exercisesRows: 5_000,
  bytes: {
    usersHeap: 92_520_448,
    usersIndexes: 238_764_032 - 92_520_448, // total minus heap (incl. TOAST)
    userExercisesHeap: 2_088_607_744,
    userExercisesIndexes: 4_534_312_960 - 2_088_607_744,
    // the indexes the service's queries read (the others serve other apps)
    hotIndexes: 22_487_040 /* users_pkey */ + 31_563_776 /* ix_users_role_id */ +
        580_853_760 /* ix_user_exercises_completed_user_created */,
    exercisesTotal: 917_504,
    database: 4_781_899_111,
  },
  // Read mix, 1M users, section 4 of docs/PERFORMANCE.md: server CPU per
  // call (median of 3 rounds, default flags) ...
  serverCpuUsPerCall: 87.6,
  // ... PostgreSQL CPU per mix call through the service (1.10 cores at
  // 7,541 calls/s, from /proc during the closed-loop mix) ...
  postgresCpuUsPerCall: 146,
  // ... and the box's ceiling: median mix peak on 2 shared cores.
  oneBoxCallsPerSecond: 8_391,
  // PgBouncer transaction mode vs direct, read mix, same minutes
  // (docs/PERFORMANCE.md section 5, bench/scaleout.sh): median rates
  // 1,510 / 1,705 calls/s on a heavily shared box.
  pgbouncerThroughputRatio: 1510 / 1705,
};

// ---- Assumptions (stated in docs/SCALING.md section 2) -------------------
const usersFactor = arg('users-factor', 100);
const callsFactor = arg('calls-factor', 100);
const dbCores = arg('db-cores', 32);  // vCPU of one database server
const dbRamGb = arg('db-ram-gb', 256);  // RAM of one database server
const podCores = arg('pod-cores', 2);  // CPU request of one service pod
const utilization = arg('target-utilization', 0.6);  // HPA / DB CPU target
// Server connections one database core keeps busy with pipelining
// (db/connection_pool.h sizing rule).
const connectionsPerDbCore = 2;
const shardMaxDataGb = 500;  // largest data set one Citus worker should hold

const GB = 1e9;
const fmt = (x, d = 0) => x.toLocaleString('en-US', {maximumFractionDigits: d,
                                                     minimumFractionDigits: d});
const line = (label, value, note = '') =>
  console.log(`${label.padEnd(48)} ${String(value).padStart(14)}  ${note}`);

console.log('== sizes: bytes per user, measured on 1M users, scaled ==');
const b = measured.bytes;
const perUser = {
  usersHeap: b.usersHeap / measured.users,
  usersIndexes: b.usersIndexes / measured.users,
  userExercisesHeap: b.userExercisesHeap / measured.users,
  userExercisesIndexes: b.userExercisesIndexes / measured.users,
  hot: b.hotIndexes / measured.users,
};
const bytesPerUser = b.database / measured.users;
line('user_exercises rows per user', fmt(measured.userExercisesRows / measured.users, 1));
line('users heap bytes/user', fmt(perUser.usersHeap));
line('users indexes bytes/user', fmt(perUser.usersIndexes));
line('user_exercises heap bytes/user', fmt(perUser.userExercisesHeap));
line('user_exercises indexes bytes/user', fmt(perUser.userExercisesIndexes));
line('database bytes/user', fmt(bytesPerUser));
line('hot index bytes/user (what the RPCs read)', fmt(perUser.hot));
const users = measured.users * usersFactor;
const dbGb = bytesPerUser * users / GB;
const hotGb = perUser.hot * users / GB + b.exercisesTotal / GB;
line(`database at ${fmt(users)} users (GB)`, fmt(dbGb, 1));
line('  users table + indexes (GB)', fmt((perUser.usersHeap + perUser.usersIndexes) * users / GB, 1));
line('  user_exercises table + indexes (GB)', fmt((perUser.userExercisesHeap + perUser.userExercisesIndexes) * users / GB, 1));
line('hot indexes (GB)', fmt(hotGb, 1), `vs ${dbRamGb} GB RAM per DB server`);

console.log('\n== calls ==');
const calls = measured.oneBoxCallsPerSecond * callsFactor;
line('target calls/s (one box x calls factor)', fmt(calls));
const podCallsPerSecond = podCores * 1e6 / measured.serverCpuUsPerCall * utilization;
const pods = Math.ceil(calls / podCallsPerSecond);
line('service calls/s per core at 100%', fmt(1e6 / measured.serverCpuUsPerCall));
line(`calls/s per ${podCores}-core pod at ${utilization * 100}%`, fmt(podCallsPerSecond));
line('service pods', fmt(pods), `${fmt(pods * podCores)} cores`);

const dbCallsPerSecond = dbCores * 1e6 / measured.postgresCpuUsPerCall * utilization;
const readServers = Math.ceil(calls / dbCallsPerSecond);
line(`PostgreSQL calls/s per ${dbCores}-core server at ${utilization * 100}%`, fmt(dbCallsPerSecond));
line('database servers serving reads', fmt(readServers));
line('replicas per primary (reads on replicas, +1 spare)', fmt(readServers + 1),
     'the primary takes writes, and reads only as fallback');

console.log('\n== connections ==');
const wantedPerServer = dbCores * connectionsPerDbCore;
line('server connections wanted per DB server', fmt(wantedPerServer), `${connectionsPerDbCore} per core`);
const direct = pods * 1;  // pool_size 1 per replica endpoint, per pod
line('direct: pods x 1 connection per replica endpoint', fmt(direct),
     direct > wantedPerServer ? 'too many per server: PgBouncer needed' : 'fits');
const perPodPerReplica = Math.max(1, Math.floor(wantedPerServer / pods));
line('direct: pool size per replica endpoint per pod', fmt(perPodPerReplica));
line('with PgBouncer per DB server: client connections', fmt(pods * 2),
     `pool 2 per endpoint per pod -> ${fmt(wantedPerServer)} server connections`);
line('PgBouncer transaction mode capacity cost', `${fmt((1 - measured.pgbouncerThroughputRatio) * 100)}%`,
     'measured on the mix: more service pods for the same calls');

console.log('\n== when sharding (Citus by user_id) takes over ==');
const fitsRam = hotGb < dbRamGb * 0.5;
line('hot indexes fit half the RAM of one server', fitsRam ? 'yes' : 'no');
const shards = Math.ceil(dbGb / shardMaxDataGb);
line(`Citus workers at <= ${shardMaxDataGb} GB each`, fmt(shards));
const usersPerServerLimit = (dbRamGb * 0.5 * GB) / perUser.hot;
line('users one server keeps hot (half its RAM)', fmt(usersPerServerLimit));
