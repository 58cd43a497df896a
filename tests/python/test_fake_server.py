"""tutoring_client against a scripted in-process gRPC server (grpc.aio):
every status code to its exception class, the service config's retries of
UNAVAILABLE (and of nothing else), timeouts, and the bearer token and
metadata reaching the server."""

from __future__ import annotations

import asyncio
import json
import time
from importlib import resources

import grpc
import grpc.aio
import pytest

import tutoring_client
from tutoring_client import aio, pb
from tutoring.v1 import tutoring_pb2_grpc as pb_grpc

ALL_CODES = [c for c in grpc.StatusCode if c != grpc.StatusCode.OK]


class Scripted(pb_grpc.TutoringServiceServicer):
    """GetUserRole fails with the status code numbered user_id (0: answers);
    ListExercises never answers; every call's metadata is recorded."""

    def __init__(self):
        self.calls = 0
        self.metadata = []

    async def GetUserRole(self, request, context):
        self.calls += 1
        self.metadata.append(dict(context.invocation_metadata()))
        if request.user_id == 0:
            return pb.GetUserRoleResponse(user_id=0, role=pb.ROLE_ADMIN, is_active=True)
        code = next(c for c in grpc.StatusCode if c.value[0] == request.user_id)
        await context.abort(code, f"scripted {code.name}")

    async def ListExercises(self, request, context):
        self.calls += 1
        await asyncio.sleep(60)
        return pb.ListExercisesResponse()


@pytest.fixture
async def fake():
    server = grpc.aio.server()
    servicer = Scripted()
    pb_grpc.add_TutoringServiceServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    yield servicer, f"127.0.0.1:{port}"
    await server.stop(None)


def file_retry_policy():
    config = json.loads(resources.files("tutoring_client").joinpath("service_config.json").read_text())
    for entry in config["methodConfig"]:
        for name in entry["name"]:
            if name == {"service": "tutoring.v1.TutoringService", "method": "GetUserRole"}:
                return entry["retryPolicy"]
    raise AssertionError("no retry policy for GetUserRole in the shipped service config")


@pytest.mark.parametrize("code", ALL_CODES, ids=lambda c: c.name)
async def test_each_code_raises_its_class(fake, code):
    servicer, target = fake
    async with aio.Client(target) as client:
        with pytest.raises(tutoring_client.RpcError) as raised:
            await client.get_user_role(code.value[0], timeout=10)
    error = raised.value
    assert type(error) is tutoring_client.error_class(code)
    assert type(error).__name__ == "".join(p.capitalize() for p in code.name.split("_"))
    assert error.code == code and error.details == f"scripted {code.name}"
    retries = file_retry_policy()
    expected_attempts = retries["maxAttempts"] if code.name in retries["retryableStatusCodes"] else 1
    assert servicer.calls == expected_attempts


async def test_blocking_client_maps_codes_too(fake):
    servicer, target = fake
    # In a thread of its own: the server runs on this event loop.
    with tutoring_client.Client(target) as client:
        with pytest.raises(tutoring_client.PermissionDenied) as raised:
            await asyncio.to_thread(client.get_user_role, grpc.StatusCode.PERMISSION_DENIED.value[0])
        assert raised.value.details == "scripted PERMISSION_DENIED"
        assert (await asyncio.to_thread(client.get_user_role, 0)).role == pb.ROLE_ADMIN


async def test_timeout_becomes_deadline_exceeded(fake):
    _, target = fake
    async with aio.Client(target) as client:
        start = time.monotonic()
        with pytest.raises(tutoring_client.DeadlineExceeded) as raised:
            await client.list_exercises(pb.DIFFICULTY_EASY, timeout=0.3)
        elapsed = time.monotonic() - start
    assert raised.value.code == grpc.StatusCode.DEADLINE_EXCEEDED
    assert 0.25 <= elapsed < 10


async def test_default_timeout_applies_to_calls_without_one(fake):
    _, target = fake
    async with aio.Client(target, default_timeout=0.3) as client:
        with pytest.raises(tutoring_client.DeadlineExceeded):
            await client.list_exercises(pb.DIFFICULTY_EASY)


async def test_token_and_metadata_reach_the_server(fake):
    servicer, target = fake
    async with aio.Client(target, token="s3cret-token", metadata=[("x-caller", "dashboards")]) as client:
        await client.get_user_role(0, metadata=[("x-request-id", "r-1")])
    seen = servicer.metadata[-1]
    assert seen["authorization"] == "Bearer s3cret-token"
    assert seen["x-caller"] == "dashboards" and seen["x-request-id"] == "r-1"


def test_bad_options_are_rejected():
    with pytest.raises(ValueError):
        tutoring_client.Client("")
    with pytest.raises(ValueError):
        tutoring_client.Client("127.0.0.1:1", default_timeout=0)
    with pytest.raises(ValueError):
        tutoring_client.Client("127.0.0.1:1", token="a\nb")
    with pytest.raises(ValueError):
        tutoring_client.Client("127.0.0.1:1", certificate_chain="cert.pem")  # without a key
