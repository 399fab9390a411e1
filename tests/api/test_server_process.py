"""``mathvisuals serve`` as a real process: persistence across restarts, Redis outages."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest

from mathvisuals.sandbox.certs import TlsFiles
from mathvisuals.sandbox.redis_server import RedisServer, free_port


class ApiProcess:
    """One ``mathvisuals serve`` process on a free loopback port."""

    def __init__(self, env: dict[str, str], log_file: Path, *args: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        clean = {k: v for k, v in os.environ.items() if not k.startswith("REDIS_")}
        self._log = log_file.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "mathvisuals", "serve", "--port", str(self.port), *args],
            env={**clean, **env},
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                httpx2.get(self.url + "/api/examples", timeout=1)
                return
            except httpx2.TransportError:
                assert self.process.poll() is None, log_file.read_text()
                time.sleep(0.05)
        raise AssertionError("the API process did not start")

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=15)
        self._log.close()


@pytest.fixture
def own_redis(tmp_path: Path, tls_files: TlsFiles) -> Iterator[RedisServer]:
    """A server of this test's own, so it can be stopped and restarted (AOF keeps the data)."""
    server = RedisServer(workdir=tmp_path / "redis", password=secrets.token_hex(16), tls=tls_files)
    server.start()
    yield server
    server.stop()


def env_for(server: RedisServer) -> dict[str, str]:
    assert server.tls is not None
    return {
        "REDIS_ENDPOINT": "localhost",
        "REDIS_PORT": str(server.port),
        "REDIS_AUTH_TOKEN": server.password,
        "REDIS_TLS_CA_FILE": str(server.tls.ca_file),
        "REDIS_TLS": "yes",
    }


def test_kv_data_survives_an_api_restart(own_redis: RedisServer, tmp_path: Path) -> None:
    api = ApiProcess(env_for(own_redis), tmp_path / "api.log")
    body = {"examples": [{"title": "kept"}], "deletedProvided": []}
    assert httpx2.put(api.url + "/api/examples?path=/persist", json=body).status_code == 200
    api.stop()
    again = ApiProcess(env_for(own_redis), tmp_path / "api.log")
    response = httpx2.get(again.url + "/api/examples?path=/persist")
    again.stop()
    assert response.status_code == 200
    assert response.json()["examples"] == [{"title": "kept", "description": ""}]
    log = (tmp_path / "api.log").read_text()
    assert '"event":"store.ready"' in log and '"mode":"kv"' in log
    assert own_redis.password not in log


def test_memory_mode_forgets_on_restart(tmp_path: Path) -> None:
    api = ApiProcess({}, tmp_path / "api.log")
    httpx2.put(api.url + "/api/examples?path=/gone", json={"examples": [], "deletedProvided": []})
    api.stop()
    again = ApiProcess({}, tmp_path / "api.log")
    assert httpx2.get(again.url + "/api/examples?path=/gone").status_code == 404
    assert httpx2.get(again.url + "/api/health").json()["mode"] == "memory"
    again.stop()


def test_outage_answers_503_fast_and_recovers_without_restart(
    own_redis: RedisServer, tmp_path: Path
) -> None:
    api = ApiProcess(env_for(own_redis), tmp_path / "api.log")
    with httpx2.Client(base_url=api.url, timeout=10) as http:
        acknowledged = http.put(
            "/api/examples?path=/before", json={"examples": [{"a": 1}], "deletedProvided": []}
        )
        assert acknowledged.status_code == 200
        own_redis.stop(signal.SIGKILL)

        started = time.perf_counter()
        write = http.put("/api/examples?path=/during", json={"examples": [], "deletedProvided": []})
        health = http.get("/api/health")
        elapsed = time.perf_counter() - started
        assert write.status_code == 503
        assert write.json()["error"] == "KVUnavailable"
        assert write.json()["message"] == "Unable to establish Redis connection"
        assert write.json()["mode"] == "kv"
        assert health.status_code == 503 and health.json()["redis"]["reachable"] is False
        assert elapsed < 2.0  # both requests, each well under a second
        read = http.get("/api/examples")
        assert read.status_code == 503  # never a 200 from memory (FIX-A)

        own_redis.start()  # same port, same AOF
        assert http.get("/api/health").status_code == 200
        restored = http.get("/api/examples?path=/before")
        assert restored.status_code == 200 and restored.json()["examples"] == [
            {"a": 1, "description": ""}
        ]
    api.stop()
    log = (tmp_path / "api.log").read_text()
    assert '"event":"redis.error"' in log and '"error_class":"CONNECTION"' in log


def serve_refusal(*args: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("REDIS_")}
    return subprocess.run(
        [sys.executable, "-m", "mathvisuals", "serve", *args],
        env=clean, capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip


def test_a_busy_port_is_one_line_and_exit_2_before_it_says_serving(tmp_path: Path) -> None:
    api = ApiProcess({}, tmp_path / "api.log")
    try:
        done = serve_refusal("--port", str(api.port))
    finally:
        api.stop()
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines()[-1] == (
        f"error: cannot listen on 127.0.0.1:{api.port}: Address already in use "
        "(hint: pick another --port, or stop what listens there)"
    )
    assert "serving the API" not in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("--port", "99999"), "'--port'"),  # out of range: refused, not served for ever
        (("--host", "192.0.2.1"), "--host must be an address of this machine"),
    ],
)
def test_an_address_that_cannot_be_bound_is_refused(args: tuple[str, ...], says: str) -> None:
    done = serve_refusal(*(args if "--port" in args else (*args, "--port", str(free_port()))))
    assert done.returncode == 2, done.stderr
    assert says in done.stderr and "serving the API" not in done.stderr
