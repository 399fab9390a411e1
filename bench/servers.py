"""Processes under measurement: redis-server (plain and TLS) and ``mathvisuals serve``."""

from __future__ import annotations

import contextlib
import http.client
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis

from mathvisuals.sandbox.certs import make_tls_files
from mathvisuals.sandbox.redis_server import LOOPBACK, RedisServer, free_port

REPO = Path(__file__).resolve().parents[1]


@dataclass
class BenchRedis:
    """A redis-server without persistence (like a default local install), plain or TLS."""

    server: RedisServer
    name: str  # "plain" or "tls"

    @property
    def tls(self) -> bool:
        return self.server.tls is not None

    def env(self) -> dict[str, str]:
        """The REDIS_* variables an API process needs to run in kv mode against this server."""
        env = {
            "REDIS_HOST": "localhost" if self.tls else LOOPBACK,
            "REDIS_PORT": str(self.server.port),
            "REDIS_PASSWORD": self.server.password,
            "REDIS_TLS": "true" if self.tls else "false",
        }
        if self.server.tls is not None:
            env["REDIS_TLS_CA_FILE"] = str(self.server.tls.ca_file)
        return env

    def client(self) -> Any:
        """A synchronous redis-py client for seeding and INFO (never on the measured path)."""
        tls: dict[str, Any] = {}
        if self.server.tls is not None:
            tls = {"ssl": True, "ssl_ca_certs": str(self.server.tls.ca_file)}
        return redis.Redis(
            host="localhost", port=self.server.port, password=self.server.password, **tls
        )

    def benchmark_args(self) -> list[str]:
        args = ["-h", "localhost", "-p", str(self.server.port), "-a", self.server.password]
        if self.server.tls is not None:
            args += ["--tls", "--cacert", str(self.server.tls.ca_file)]
        return args


@contextlib.contextmanager
def redis_servers(workdir: Path) -> Iterator[dict[str, BenchRedis]]:
    """Start a plain and a TLS server (both with requirepass), stop them by PID at the end."""
    tls_files = make_tls_files(workdir / "tls")
    started: dict[str, BenchRedis] = {}
    try:
        for name, tls in (("plain", None), ("tls", tls_files)):
            server = RedisServer(
                workdir=workdir / f"redis-{name}",
                password=secrets.token_urlsafe(24),
                tls=tls,
                appendonly=False,
            )
            server.start()
            started[name] = BenchRedis(server, name)
        yield started
    finally:
        for item in started.values():
            item.server.stop()


@dataclass
class ApiServer:
    """``mathvisuals serve`` as a subprocess on a free loopback port; stdout to a log file."""

    env: Mapping[str, str]
    logdir: Path
    workers: int = 1
    port: int = 0
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    server: str = "uvicorn"  # or "granian": the same app factory under granian (measured only)

    @property
    def base(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def start(self, timeout: float = 20.0) -> None:
        self.port = free_port()
        self.logdir.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith("REDIS_")}
        env.update(self.env)
        args = [sys.executable, "-m", "mathvisuals", "serve", "--port", str(self.port)]
        if self.workers != 1:
            args += ["--workers", str(self.workers)]
        if self.server == "granian":
            args = [
                str(Path(sys.executable).parent / "granian"), "--interface", "asgi", "--factory",
                "--host", LOOPBACK, "--port", str(self.port), "--workers", str(self.workers),
                "--loop", "uvloop", "--log-level", "warning", "--no-access-log",
                "mathvisuals.cli.serve:app_from_env",
            ]  # fmt: skip
        log = (self.logdir / f"serve-{self.port}.log").open("ab")
        self.process = subprocess.Popen(
            args, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"serve exited with {self.process.returncode}; see {log.name}")
            with contextlib.suppress(OSError):
                if get(self.port, "/api/health")[0] == 200:
                    return
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"serve did not answer on port {self.port} within {timeout}s")

    def rss_kib(self) -> int:
        """Resident memory of the server and its worker processes, from /proc."""
        if self.process is None:
            return 0
        return sum(_rss_kib(pid) for pid in _tree(self.process.pid))

    def cpu_seconds(self) -> float:
        """User + system CPU time of the server and its workers so far, from /proc."""
        if self.process is None:
            return 0.0
        return sum(_cpu_seconds(pid) for pid in _tree(self.process.pid))

    def stop(self) -> None:
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self.process = None


def _tree(pid: int) -> list[int]:
    found = [pid]
    with contextlib.suppress(OSError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            children = (task / "children").read_text().split()
            for child in children:
                found += _tree(int(child))
    return found


def _cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    # utime and stime are fields 14 and 15 of stat(5); fields[0] here is field 3.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def request(
    port: int,
    method: str,
    path: str,
    body: bytes | None = None,
    connection: http.client.HTTPConnection | None = None,
) -> tuple[int, bytes]:
    """One request (on ``connection`` when given, for keep-alive); (status, body)."""
    conn = connection or http.client.HTTPConnection(LOOPBACK, port, timeout=10)
    headers = {"Content-Type": "application/json"} if body is not None else {}
    try:
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        if connection is None:
            conn.close()


def get(port: int, path: str) -> tuple[int, bytes]:
    return request(port, "GET", path)
