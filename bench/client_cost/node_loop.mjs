// The Node side of bench/client_cost.sh: GetUserRole through
// @tutoring/client for SECONDS, random ids in [1, USERS], CONCURRENCY calls
// in flight on one client; prints one JSON line with the calls, errors,
// calls per second and this process's CPU time (process.cpuUsage: user +
// system) per call over the measured interval.
//
//   node node_loop.mjs TARGET SECONDS CONCURRENCY USERS   (cwd: a folder whose
//   node_modules/@tutoring/client is client/node, built)
import { createTutoringClient } from "@tutoring/client";

const [target, secondsArg, concurrencyArg, usersArg] = process.argv.slice(2);
const seconds = Number(secondsArg), concurrency = Number(concurrencyArg), users = Number(usersArg);
const client = createTutoringClient({ baseUrl: `http://${target}` });
await client.getUserRole({ userId: 1n });
let calls = 0, errors = 0;
const deadline = performance.now() + seconds * 1000;
const cpu = process.cpuUsage();
const start = performance.now();
await Promise.all(Array.from({ length: concurrency }, async () => {
  while (performance.now() < deadline) {
    try {
      await client.getUserRole({ userId: BigInt(1 + Math.floor(Math.random() * users)) });
      calls++;
    } catch {
      errors++;
    }
  }
}));
const elapsed = (performance.now() - start) / 1000;
const used = process.cpuUsage(cpu);
client.close();
console.log(JSON.stringify({
  client: "node", calls, errors, seconds: Number(elapsed.toFixed(3)),
  calls_per_s: Number((calls / elapsed).toFixed(1)),
  cpu_us_per_call: calls ? Number(((used.user + used.system) / calls).toFixed(2)) : 0,
}));
