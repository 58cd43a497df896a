"""TLS and mutual TLS options of tutoring_client, against a scripted grpc.aio
server with certificates made here by openssl (tutoring-server's own TLS is
tested where it is built): a client that trusts the CA gets answers and its
bearer token arrives; one that does not is refused; with client
certificates required, a client without one is refused and one with one
gets answers."""

from __future__ import annotations

import subprocess
from pathlib import Path

import grpc
import grpc.aio
import pytest

import tutoring_client
from tutoring_client import aio, pb
from test_fake_server import Scripted
from tutoring.v1 import tutoring_pb2_grpc as pb_grpc


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> Path:
    """ca.pem, server.pem/-key.pem (localhost), client.pem/-key.pem, and an
    unrelated other-ca.pem."""
    d = tmp_path_factory.mktemp("pki")
    for ca in ("ca", "other-ca"):
        openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", f"/CN={ca}",
                "-keyout", f"{ca}-key.pem", "-out", f"{ca}.pem", cwd=d)
    (d / "san.ext").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    for name in ("server", "client"):
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={name}",
                "-keyout", f"{name}-key.pem", "-out", f"{name}.csr", cwd=d)
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca-key.pem",
                "-CAcreateserial", "-days", "2", "-extfile", "san.ext", "-out", f"{name}.pem", cwd=d)
    return d


async def start(pki: Path, require_client_cert: bool):
    server = grpc.aio.server()
    servicer = Scripted()
    pb_grpc.add_TutoringServiceServicer_to_server(servicer, server)
    credentials = grpc.ssl_server_credentials(
        [((pki / "server-key.pem").read_bytes(), (pki / "server.pem").read_bytes())],
        root_certificates=(pki / "ca.pem").read_bytes() if require_client_cert else None,
        require_client_auth=require_client_cert)
    port = server.add_secure_port("127.0.0.1:0", credentials)
    await server.start()
    return server, servicer, f"localhost:{port}"


async def test_tls_with_a_trusted_ca_and_a_token(pki):
    server, servicer, target = await start(pki, require_client_cert=False)
    try:
        async with aio.Client(target, root_certificates=pki / "ca.pem", token="t0ken") as client:
            assert (await client.get_user_role(0, timeout=10)).role == pb.ROLE_ADMIN
        assert servicer.metadata[-1]["authorization"] == "Bearer t0ken"
        async with aio.Client(target, root_certificates=pki / "other-ca.pem") as client:
            with pytest.raises(tutoring_client.Unavailable):
                await client.get_user_role(0, timeout=10)
        credentials = grpc.ssl_channel_credentials((pki / "ca.pem").read_bytes())
        async with aio.Client(target, credentials=credentials) as client:
            assert (await client.get_user_role(0, timeout=10)).user_id == 0
    finally:
        await server.stop(None)


async def test_mutual_tls(pki):
    server, _, target = await start(pki, require_client_cert=True)
    try:
        async with aio.Client(target, root_certificates=pki / "ca.pem") as client:
            with pytest.raises(tutoring_client.Unavailable):
                await client.get_user_role(0, timeout=10)
        async with aio.Client(target, root_certificates=pki / "ca.pem",
                              certificate_chain=pki / "client.pem",
                              private_key=pki / "client-key.pem") as client:
            assert (await client.get_user_role(0, timeout=10)).role == pb.ROLE_ADMIN
    finally:
        await server.stop(None)
