"""client/python/examples/quart_app.py, started as its own process (Quart on
hypercorn), answers /users/<id>/streak through the service: the JSON equals
the streak oracle of the current instant, a missing user is 404, a bad zone
400."""

from __future__ import annotations

import datetime
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request

from conftest import SOURCE_DIR, free_port
from streak_oracle import load_rows, oracle


def get(url: str):
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_streak_route_calls_the_service(target, sql):
    port = free_port()
    app = subprocess.Popen([sys.executable, str(SOURCE_DIR / "client/python/examples/quart_app.py"),
                            "--port", str(port)], env={**os.environ, "TUTORING_TARGET": target},
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(base + "/", timeout=1)
            except urllib.error.HTTPError:
                break  # 404 for "/": the app is up
            except OSError:
                assert app.poll() is None, app.stderr.read().decode()
                assert time.monotonic() < deadline, "the Quart app did not start"
                time.sleep(0.1)
        ids = [1, 2, 6]
        rows = load_rows(sql, ids)
        for user_id in ids:
            status, body = get(f"{base}/users/{user_id}/streak?time_zone=Asia/Tokyo")
            now = datetime.datetime.now(datetime.timezone.utc)
            want = oracle(rows[user_id], "Asia/Tokyo", now)
            assert status == 200, body
            assert body == {"user_id": user_id, "current_days": want.current_days,
                            "longest_days": want.longest_days,
                            "last_active_date": want.last_active_date,
                            "active_today": want.active_on_as_of_date}
        missing = int(sql("SELECT max(id) + 1 FROM users")[0][0])
        status, body = get(f"{base}/users/{missing}/streak")
        assert status == 404 and body["error"] == "NOT_FOUND"
        status, body = get(f"{base}/users/1/streak?time_zone=Mars/Olympus")
        assert status == 400 and body["error"] == "INVALID_ARGUMENT"
    finally:
        app.terminate()
        app.wait(timeout=10)
