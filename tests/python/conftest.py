"""Fixtures of the Python client tests: a scratch database holding
tests/client/fixture.sql, the real tutoring-server over it, ground truth by
plain SQL (psql), and the streak oracle.

Run through run.sh (ctest python_client), which installs the built wheel into
a fresh venv; the environment comes from ctest (TUTORING_TEST_DATABASE_URL,
TUTORING_SERVER_BIN, TUTORING_MIGRATE_BIN, TUTORING_SOURCE_DIR).
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import List, Optional

import pytest

SOURCE_DIR = Path(os.environ["TUTORING_SOURCE_DIR"])
ADMIN_URL = os.environ["TUTORING_TEST_DATABASE_URL"]
PSQL = str(Path(subprocess.run(["pg_config", "--bindir"], check=True, capture_output=True,
                               text=True).stdout.strip()) / "psql")


def psql(url: str, sql: str) -> List[List[str]]:
    """Rows of `sql` as lists of text fields (tab-separated, unaligned)."""
    out = subprocess.run([PSQL, "-X", "-q", "-tA", "-F", "\t", "-v", "ON_ERROR_STOP=1", url, "-c", sql],
                         check=True, capture_output=True, text=True).stdout
    return [line.split("\t") for line in out.splitlines() if line]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerProcess:
    """tutoring-server on 127.0.0.1:`port` (0: any) over `url`."""

    def __init__(self, url: str, port: int = 0):
        self.url = url
        self.log = tempfile.NamedTemporaryFile(prefix="tutoring-server-", suffix=".log", delete=False)
        self.process = subprocess.Popen(
            [os.environ["TUTORING_SERVER_BIN"], f"--listen=127.0.0.1:{port}", f"--database-url={url}",
             "--health-interval=100ms"],
            stdout=subprocess.DEVNULL, stderr=self.log)
        self.port = self._wait_serving()

    def _wait_serving(self) -> int:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            text = Path(self.log.name).read_text(errors="replace")
            port = re.search(r"\(port (\d+)\)", text)
            if port and "health SERVING" in text:
                return int(port.group(1))
            if self.process.poll() is not None:
                break
            time.sleep(0.02)
        self.stop()
        raise RuntimeError("tutoring-server did not start:\n" + Path(self.log.name).read_text())

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    def started_calls(self, method: str) -> int:
        """grpc_server_started_total of `method`, from the admin port's
        /metrics (ADMIN_LISTEN comes from ctest: any free port, logged)."""
        deadline = time.monotonic() + 30
        while (admin := re.search(r"\(admin port (\d+)\)", Path(self.log.name).read_text(errors="replace"))) is None:
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise RuntimeError("no admin port logged:\n" + Path(self.log.name).read_text())
            time.sleep(0.02)
        with urllib.request.urlopen(f"http://127.0.0.1:{admin.group(1)}/metrics", timeout=5) as answer:
            metrics = answer.read().decode()
        return sum(int(float(line.rsplit(" ", 1)[1])) for line in metrics.splitlines()
                   if line.startswith("grpc_server_started_total{") and f'grpc_method="{method}"' in line)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        os.unlink(self.log.name)


@pytest.fixture(scope="session")
def db_url():
    name = f"pyclient_{os.getpid()}"
    url = ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    psql(ADMIN_URL, f"CREATE DATABASE {name}")
    try:
        subprocess.run([os.environ["TUTORING_MIGRATE_BIN"], f"--database-url={url}",
                        f"--migrations-dir={SOURCE_DIR / 'migrations'}", "up"],
                       check=True, stdout=subprocess.DEVNULL)
        subprocess.run([PSQL, "-X", "-q", "-v", "ON_ERROR_STOP=1", url, "-f",
                        str(SOURCE_DIR / "tests/client/fixture.sql")], check=True, stdout=subprocess.DEVNULL)
        yield url
    finally:
        psql(ADMIN_URL, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(scope="session")
def server(db_url):
    process = ServerProcess(db_url)
    yield process
    process.stop()


@pytest.fixture
def target(server) -> str:
    return server.target


@pytest.fixture
def sql(db_url):
    return lambda query: psql(db_url, query)
