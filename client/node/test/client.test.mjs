// @tutoring/client (dist/, built by `npm run build`) against the live
// tutoring-server (TUTORING_TEST_TARGET) over a database whose rows psql
// reads for ground truth (TUTORING_TEST_DB_URL), and against a scripted
// connect-node server for retries, deadlines and the bearer token.
// Run by tests/node/run.sh (ctest node_client).
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import http2 from "node:http2";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  createTutoringClient, Difficulty, Role, ServiceConfig, TutoringService,
} from "../dist/index.js";

const target = process.env.TUTORING_TEST_TARGET;
const dbUrl = process.env.TUTORING_TEST_DB_URL;
const psqlBin = process.env.TUTORING_PSQL ?? "psql";
const live = target !== undefined && dbUrl !== undefined;

function sql(query) {
  const out = execFileSync(psqlBin, ["-X", "-q", "-tA", "-F", "\t", "-v", "ON_ERROR_STOP=1",
                                     dbUrl, "-c", query], { encoding: "utf8" });
  return out.split("\n").filter((l) => l !== "").map((l) => l.split("\t"));
}

const ROLES = { student: Role.STUDENT, instructor: Role.INSTRUCTOR, admin: Role.ADMIN };
const DIFFICULTIES = { easy: Difficulty.EASY, medium: Difficulty.MEDIUM, hard: Difficulty.HARD };
const micros = (t) => t.seconds * 1000000n + BigInt(Math.floor(t.nanos / 1000));
const userRow = (u) => [u.id, u.email, u.displayName, u.role, u.isActive,
                        u.onboardingCompleted, micros(u.createTime)];
const sqlUser = (r) => [BigInt(r[0]), r[1], r[2], ROLES[r[3]], r[4] === "t", r[5] === "t",
                        BigInt(r[6])];
const USER_COLUMNS = "id, email, display_name, role, is_active, onboarding_completed, " +
  "(extract(epoch FROM created_at) * 1000000)::bigint";

async function walk(list, request, items) {
  const rows = [];
  let pageToken = "";
  do {
    const page = await list({ ...request, pageToken });
    rows.push(...page[items]);
    pageToken = page.nextPageToken;
  } while (pageToken !== "");
  return rows;
}

test("every RPC against the live server equals SQL", { skip: !live }, async (t) => {
  const client = createTutoringClient({ baseUrl: `http://${target}` });

  await t.test("GetUserRole, every user", async () => {
    for (const [id, role, active] of sql("SELECT id, role, is_active FROM users")) {
      const got = await client.getUserRole({ userId: BigInt(id) });
      assert.deepEqual([got.userId, got.role, got.isActive], [BigInt(id), ROLES[role], active === "t"]);
    }
  });

  await t.test("ListActiveUsers, all pages", async () => {
    const got = await walk((r) => client.listActiveUsers(r), { pageSize: 7 }, "users");
    const want = sql(`SELECT ${USER_COLUMNS} FROM users WHERE is_active ORDER BY id`).map(sqlUser);
    assert.deepEqual(got.map(userRow), want);
    assert.equal(got.length, Number(sql("SELECT count(*) FROM users WHERE is_active")[0][0]));
  });

  await t.test("ListUsersByRole, all pages", async () => {
    for (const [name, role] of Object.entries(ROLES)) {
      const got = await walk((r) => client.listUsersByRole(r), { role, pageSize: 10 }, "users");
      const want = sql(`SELECT ${USER_COLUMNS} FROM users WHERE role = '${name}' ORDER BY id`).map(sqlUser);
      assert.deepEqual(got.map(userRow), want);
    }
  });

  await t.test("ListExercises, all pages", async () => {
    for (const [name, difficulty] of Object.entries(DIFFICULTIES)) {
      for (const language of ["", "python"]) {
        const got = await walk((r) => client.listExercises(r),
                               { difficulty, programmingLanguage: language, pageSize: 2 }, "exercises");
        const want = sql(`SELECT id FROM exercises WHERE difficulty = '${name}'` +
                         (language ? ` AND programming_language = '${language}'` : "") + " ORDER BY id");
        assert.deepEqual(got.map((e) => e.id), want.map((r) => BigInt(r[0])));
      }
    }
  });

  await t.test("GetStreak and BatchGetStreaks", async () => {
    // The contract's streak by plain SQL, in UTC as of asOf (islands of
    // consecutive days).
    const asOf = "2026-01-12T20:00:00Z";
    const rows = sql(`
      WITH p AS (SELECT timestamptz '${asOf}' AS as_of, (timestamptz '${asOf}' AT TIME ZONE 'UTC')::date AS today),
      days AS (SELECT DISTINCT ue.user_id, (ue.created_at AT TIME ZONE 'UTC')::date AS day
               FROM user_exercises ue, p WHERE ue.status = 'completed' AND ue.created_at <= p.as_of),
      runs AS (SELECT user_id, max(day) AS last_day, count(*) AS length
               FROM (SELECT user_id, day, day - (row_number() OVER (PARTITION BY user_id ORDER BY day))::int AS island
                     FROM days) d GROUP BY user_id, island)
      SELECT u.id,
        coalesce((SELECT r.length FROM runs r, p WHERE r.user_id = u.id AND r.last_day >= p.today - 1), 0),
        coalesce((SELECT max(r.length) FROM runs r WHERE r.user_id = u.id), 0),
        coalesce((SELECT max(d.day)::text FROM days d WHERE d.user_id = u.id), ''),
        EXISTS (SELECT 1 FROM days d, p WHERE d.user_id = u.id AND d.day = p.today)
      FROM users u ORDER BY u.id`);
    const want = rows.map((r) => [BigInt(r[0]), Number(r[1]), Number(r[2]), r[3] ?? "", r[4] === "t"]);
    assert.ok(want.some((w) => w[2] > 0));
    const asOfTs = { seconds: BigInt(Date.parse(asOf) / 1000), nanos: 0 };
    const asRow = (s) => [s.userId, s.currentDays, s.longestDays, s.lastActiveDate, s.activeOnAsOfDate];
    for (const w of want) {
      assert.deepEqual(asRow(await client.getStreak({ userId: w[0], timeZone: "UTC", asOf: asOfTs })), w);
    }
    const batch = await client.batchGetStreaks({ userIds: want.map((w) => w[0]), asOf: asOfTs });
    assert.deepEqual(batch.streaks.map(asRow), want);
  });

  t.after(() => client.close());

  await t.test("errors: NOT_FOUND and INVALID_ARGUMENT codes", async () => {
    const missing = BigInt(sql("SELECT max(id) + 1000 FROM users")[0][0]);
    await assert.rejects(client.getUserRole({ userId: missing }),
                         (e) => e instanceof ConnectError && e.code === Code.NotFound);
    await assert.rejects(client.getStreak({ userId: 1n, timeZone: "+05:00" }),
                         (e) => e instanceof ConnectError && e.code === Code.InvalidArgument &&
                                e.rawMessage.includes("time_zone"));
  });
});

// A scripted server: GetUserRole fails with UNAVAILABLE for the first
// `failures` calls, then answers; ListExercises never answers.
async function scripted(failures) {
  const seen = { calls: 0, headers: [] };
  const handler = connectNodeAdapter({
    grpc: true, connect: false, grpcWeb: false,
    routes(router) {
      router.service(TutoringService, {
        async getUserRole(request, context) {
          seen.calls++;
          seen.headers.push(context.requestHeader);
          if (seen.calls <= failures) throw new ConnectError("scripted", Code.Unavailable);
          return { userId: request.userId, role: Role.ADMIN, isActive: true };
        },
        async listExercises(_request, context) {
          await new Promise((resolve) => context.signal.addEventListener("abort", resolve));
          throw new ConnectError("cancelled", Code.Canceled);
        },
      });
    },
  });
  const server = http2.createServer(handler);
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, seen, baseUrl: `http://127.0.0.1:${server.address().port}` };
}

test("UNAVAILABLE is retried as the service config says", async () => {
  const { server, seen, baseUrl } = await scripted(2);
  try {
    const client = createTutoringClient({ baseUrl });
    const got = await client.getUserRole({ userId: 42n }).finally(() => client.close());
    assert.equal(got.userId, 42n);
    assert.equal(seen.calls, 3);
    const max = ServiceConfig.load().lookup("tutoring.v1.TutoringService", "GetUserRole").retry.maxAttempts;
    seen.calls = 0;
    const always = await scripted(100);
    try {
      const failing = createTutoringClient({ baseUrl: always.baseUrl });
      await assert.rejects(failing.getUserRole({ userId: 1n }), (e) => e.code === Code.Unavailable);
      failing.close();
      assert.equal(always.seen.calls, max);
    } finally {
      always.server.close();
    }
  } finally {
    server.close();
  }
});

test("a call's timeout becomes DEADLINE_EXCEEDED", async () => {
  const { server, baseUrl } = await scripted(0);
  try {
    const client = createTutoringClient({ baseUrl });
    const start = Date.now();
    await assert.rejects(client.listExercises({ difficulty: Difficulty.EASY }, { timeoutMs: 300 }),
                         (e) => e instanceof ConnectError && e.code === Code.DeadlineExceeded);
    const elapsed = Date.now() - start;
    client.close();
    assert.ok(elapsed >= 250 && elapsed < 10000, `took ${elapsed} ms`);
  } finally {
    server.close();
  }
});

test("the bearer token reaches the server", async () => {
  const { server, seen, baseUrl } = await scripted(0);
  try {
    const client = createTutoringClient({ baseUrl, token: "s3cret" });
    await client.getUserRole({ userId: 1n }).finally(() => client.close());
    assert.equal(seen.headers[0].get("authorization"), "Bearer s3cret");
  } finally {
    server.close();
  }
});

test("TLS: a client trusting the CA gets answers, mutual TLS sends its certificate", async () => {
  const { mkdtempSync, readFileSync, rmSync, writeFileSync } = await import("node:fs");
  const { tmpdir } = await import("node:os");
  const { join } = await import("node:path");
  const dir = mkdtempSync(join(tmpdir(), "tutoring-tls-"));
  const openssl = (...args) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
  try {
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=ca",
            "-keyout", "ca-key.pem", "-out", "ca.pem");
    writeFileSync(join(dir, "san.ext"), "subjectAltName=DNS:localhost,IP:127.0.0.1\n");
    for (const name of ["server", "client"]) {
      openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", `/CN=${name}`,
              "-keyout", `${name}-key.pem`, "-out", `${name}.csr`);
      openssl("x509", "-req", "-in", `${name}.csr`, "-CA", "ca.pem", "-CAkey", "ca-key.pem",
              "-CAcreateserial", "-days", "2", "-extfile", "san.ext", "-out", `${name}.pem`);
    }
    const pem = (f) => readFileSync(join(dir, f));
    let peer;
    const handler = connectNodeAdapter({
      grpc: true, connect: false, grpcWeb: false,
      routes(router) {
        router.service(TutoringService, {
          async getUserRole(request) {
            return { userId: request.userId, role: Role.STUDENT, isActive: true };
          },
        });
      },
    });
    const server = http2.createSecureServer({
      key: pem("server-key.pem"), cert: pem("server.pem"), ca: pem("ca.pem"),
      requestCert: true, rejectUnauthorized: true,
    }, (req, res) => {
      peer = req.socket.getPeerCertificate().subject?.CN;
      handler(req, res);
    });
    await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
    const baseUrl = `https://localhost:${server.address().port}`;
    try {
      const client = createTutoringClient({
        baseUrl, tls: { ca: pem("ca.pem"), cert: pem("client.pem"), key: pem("client-key.pem") },
      });
      const got = await client.getUserRole({ userId: 7n }).finally(() => client.close());
      assert.equal(got.role, Role.STUDENT);
      assert.equal(peer, "client");
      const untrusting = createTutoringClient({ baseUrl, defaultTimeoutMs: 5000 });
      await assert.rejects(untrusting.getUserRole({ userId: 7n }).finally(() => untrusting.close()),
                           (e) => e instanceof ConnectError);
    } finally {
      server.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
