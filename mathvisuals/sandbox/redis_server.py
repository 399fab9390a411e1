"""Run Debian's ``redis-server`` with TLS and ``requirepass`` on loopback, tracked by PID."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import ssl
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from mathvisuals.sandbox.certs import TlsFiles

LOOPBACK = "127.0.0.1"


class RedisServerError(RuntimeError):
    """The stand-in Redis could not be started."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        return int(probe.getsockname()[1])


@dataclass
class RedisServer:
    """One ``redis-server`` process. The password goes through a 0600 config file, never argv."""

    workdir: Path
    password: str
    tls: TlsFiles | None
    port: int = 0
    appendonly: bool = True
    pid: int | None = None
    _process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def start(self, timeout: float = 10.0) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RedisServerError("redis-server is not installed (apt-get install redis-server)")
        self.workdir = self.workdir.resolve()
        self.workdir.mkdir(parents=True, exist_ok=True)
        stop_stale(self.workdir / "redis.pid")
        self.port = self.port or free_port()
        config = self.workdir / "redis.conf"
        config.touch(mode=0o600)
        config.write_text(self._config_text(), encoding="utf-8")
        log = (self.workdir / "redis.log").open("ab")
        process = subprocess.Popen(
            [binary, str(config)],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        log.close()
        self._process = process
        self.pid = process.pid
        (self.workdir / "redis.pid").write_text(str(process.pid), encoding="utf-8")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RedisServerError(
                    f"redis-server exited with {process.returncode}; see {self.workdir}/redis.log"
                )
            if self.answers():
                return
            time.sleep(0.02)
        self.stop()
        raise RedisServerError(f"redis-server did not answer on port {self.port} in {timeout}s")

    def _config_text(self) -> str:
        lines = [
            f"bind {LOOPBACK}",
            "protected-mode yes",
            f"dir {self.workdir}",
            f"requirepass {self.password}",
            f"appendonly {'yes' if self.appendonly else 'no'}",
            "appendfsync always",
            'save ""',
            "daemonize no",
        ]
        if self.tls is None:
            lines.append(f"port {self.port}")
        else:
            lines += [
                "port 0",
                f"tls-port {self.port}",
                f"tls-cert-file {self.tls.cert_file}",
                f"tls-key-file {self.tls.key_file}",
                f"tls-ca-cert-file {self.tls.ca_file}",
                "tls-auth-clients no",
            ]
        return "\n".join(lines) + "\n"

    def answers(self) -> bool:
        """True when the server accepts a connection (and a TLS handshake, if TLS)."""
        try:
            with socket.create_connection((LOOPBACK, self.port), timeout=0.5) as raw:
                if self.tls is None:
                    return True
                context = ssl.create_default_context(cafile=str(self.tls.ca_file))
                with context.wrap_socket(raw, server_hostname="localhost"):
                    return True
        except OSError:
            return False

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10.0) -> None:
        """Stop the process by PID (SIGKILL with ``sig=signal.SIGKILL``) and wait for it."""
        if self.pid is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, sig)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and _alive(self.pid):
            time.sleep(0.02)
        if _alive(self.pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
        if self._process is not None:
            self._process.wait()
            self._process = None
        self.pid = None
        with contextlib.suppress(OSError):
            (self.workdir / "redis.pid").unlink()


def stop_stale(pid_file: Path) -> None:
    """Stop a server left behind by a killed run of ours (its PID file names a redis-server)."""
    try:
        pid = int(pid_file.read_text(encoding="utf-8").strip())
        command = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError):
        return
    if b"redis-server" in command:
        RedisServer(workdir=pid_file.parent, password="", tls=None, pid=pid).stop()


def _alive(pid: int) -> bool:
    try:
        finished, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        # Not our child (started by another process): probe with signal 0.
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True
    return finished == 0
