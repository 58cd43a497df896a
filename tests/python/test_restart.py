"""Servers restarted mid-run. The client's target names two servers
(ipv4:A,B, as a headless service's DNS name would): the service config's
round_robin spreads calls over both, its health checking routes around a
server that is not SERVING, and its retry policy repeats the calls a killed
server dropped. While 16 tasks call GetUserRole through one aio.Client, each
server in turn is killed (SIGKILL: connections cut with calls in flight) and
started again on its port: every call succeeds. The same run with retries
turned off sees UNAVAILABLE, so it is the retries that carry the calls.

As in a real rollout, the next server goes only once the restarted one takes
calls again. The client reconnects to a restarted server on gRPC's backoff
(about 1 s, then 1.6 s, ...), so on a busy machine a fixed pause could kill
the second server before the client is back on the first: an outage of every
server, longer than the retry policy's budget (4 attempts, at most 0.7 s of
backoff), which rightly surfaces as UNAVAILABLE."""

from __future__ import annotations

import asyncio
import signal

import tutoring_client
from tutoring_client import aio
from conftest import ServerProcess, free_port


async def taking_calls(server: ServerProcess, within: float = 30) -> None:
    """Returns once the client's calls reach `server` (its started-call count
    grows); fails after `within` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    first = await asyncio.to_thread(server.started_calls, "BatchGetStreaks")
    while await asyncio.to_thread(server.started_calls, "BatchGetStreaks") == first:
        assert loop.time() < deadline, f"no call reached the restarted server in {within} s"
        await asyncio.sleep(0.05)


async def rolling_restart(db_url, client_options=None):
    """Returns (answers, errors by class name, answers after the first kill)."""
    servers = [ServerProcess(db_url, free_port()) for _ in range(2)]
    target = "ipv4:" + ",".join(f"127.0.0.1:{s.port}" for s in servers)
    answers, errors = 0, {}
    killed = asyncio.Event()
    after_kill = 0
    stop = asyncio.Event()

    async with aio.Client(target, options=client_options) as client:
        # Batches of 1,000 streaks keep calls in flight on the server (a
        # GetUserRole is answered before a kill can catch it).
        batch = [1, 2, 4, 6] * 250

        async def caller():
            nonlocal answers, after_kill
            while not stop.is_set():
                try:
                    response = await client.batch_get_streaks(batch, timeout=20)
                    assert [s.user_id for s in response.streaks] == batch
                    answers += 1
                    after_kill += killed.is_set()
                except tutoring_client.RpcError as error:
                    errors[type(error).__name__] = errors.get(type(error).__name__, 0) + 1

        tasks = [asyncio.create_task(caller()) for _ in range(16)]
        try:
            await asyncio.sleep(0.5)
            assert answers > 0, errors
            for i, server in enumerate(servers):
                await asyncio.to_thread(server.stop, signal.SIGKILL)
                killed.set()
                await asyncio.sleep(0.3)
                servers[i] = await asyncio.to_thread(ServerProcess, db_url, server.port)
                await taking_calls(servers[i])
        finally:
            stop.set()
            await asyncio.gather(*tasks)
            for server in servers:
                server.stop()
    return answers, errors, after_kill


async def test_calls_succeed_through_rolling_restarts(db_url):
    answers, errors, after_kill = await rolling_restart(db_url)
    assert errors == {}
    assert after_kill > 0 and answers > after_kill


async def test_without_retries_the_restarts_show(db_url):
    _, errors, _ = await rolling_restart(db_url, client_options=[("grpc.enable_retries", 0)])
    assert errors.get("Unavailable", 0) > 0, errors
