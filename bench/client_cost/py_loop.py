#!/usr/bin/env python3
"""The Python side of bench/client_cost.sh: GetUserRole through
tutoring_client for SECONDS, random ids in [1, USERS], CONCURRENCY calls in
flight (aio: tasks on one event loop sharing one aio.Client; blocking:
threads sharing one Client); prints one JSON line with the calls, errors,
calls per second and this process's CPU time (user + system, getrusage, the
gRPC core's threads included) per call over the measured interval.

    py_loop.py aio|blocking TARGET SECONDS CONCURRENCY USERS
"""

import asyncio
import json
import random
import resource
import sys
import threading
import time

import tutoring_client
from tutoring_client import aio


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def report(mode, calls, errors, elapsed, cpu):
    print(json.dumps({"client": f"python-{mode}", "calls": calls, "errors": errors,
                      "seconds": round(elapsed, 3), "calls_per_s": round(calls / elapsed, 1),
                      "cpu_us_per_call": round(cpu * 1e6 / calls, 2) if calls else 0}))


async def run_aio(target, seconds, concurrency, users):
    async with aio.Client(target) as client:
        await client.get_user_role(1)
        calls = errors = 0
        deadline = time.monotonic() + seconds

        async def worker(seed):
            nonlocal calls, errors
            rng = random.Random(seed)
            while time.monotonic() < deadline:
                try:
                    await client.get_user_role(rng.randint(1, users))
                    calls += 1
                except tutoring_client.RpcError:
                    errors += 1

        cpu, start = cpu_seconds(), time.monotonic()
        await asyncio.gather(*(worker(i) for i in range(concurrency)))
        report("aio", calls, errors, time.monotonic() - start, cpu_seconds() - cpu)


def run_blocking(target, seconds, concurrency, users):
    with tutoring_client.Client(target) as client:
        client.get_user_role(1)
        counts = [[0, 0] for _ in range(concurrency)]
        deadline = time.monotonic() + seconds

        def worker(i):
            rng = random.Random(i)
            while time.monotonic() < deadline:
                try:
                    client.get_user_role(rng.randint(1, users))
                    counts[i][0] += 1
                except tutoring_client.RpcError:
                    counts[i][1] += 1

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(concurrency)]
        cpu, start = cpu_seconds(), time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        report("blocking", sum(c[0] for c in counts), sum(c[1] for c in counts),
               time.monotonic() - start, cpu_seconds() - cpu)


def main():
    mode, target = sys.argv[1], sys.argv[2]
    seconds, concurrency, users = float(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
    if mode == "aio":
        asyncio.run(run_aio(target, seconds, concurrency, users))
    elif mode == "blocking":
        run_blocking(target, seconds, concurrency, users)
    else:
        sys.exit("mode must be aio or blocking")


if __name__ == "__main__":
    main()
