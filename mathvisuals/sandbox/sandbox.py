"""The ``--target local`` sandbox: a TLS redis-server and ministack, tracked in a state file."""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import re
import secrets
import string
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from mathvisuals.sandbox import SandboxError
from mathvisuals.sandbox import ministack as ms
from mathvisuals.sandbox.certs import TlsFiles, make_tls_files
from mathvisuals.sandbox.redis_server import LOOPBACK, RedisServer, RedisServerError
from mathvisuals.sandbox.resp import RespClient, RespError, connect

log = logging.getLogger(__name__)

STATE_FILE = "sandbox.json"
TOKEN_ALPHABET = string.ascii_letters + string.digits + "-"
TOKEN_LENGTH = 48
# What a redis.conf ``requirepass`` line and an ACL ``>password`` rule carry verbatim
# (the ElastiCache AUTH token alphabet of deploy.md §5.6).
_TOKEN = re.compile(r"[A-Za-z0-9!&#$^<>-]{16,128}")

# Processes this interpreter started, by PID: whichever Sandbox stops one also reaps it.
_started: dict[int, RedisServer | ms.Ministack] = {}


@dataclass(frozen=True)
class Endpoints:
    """Where the emulated AWS API and the ElastiCache stand-in (TLS, host ``localhost``) are."""

    aws_endpoint_url: str
    redis_port: int
    ca_file: Path


@dataclass(frozen=True)
class ProcessState:
    pid: int
    port: int
    alive: bool
    answering: bool


@dataclass(frozen=True)
class SandboxStatus:
    redis: ProcessState | None
    ministack: ProcessState | None

    @property
    def up(self) -> bool:
        return all(p is not None and p.answering for p in (self.redis, self.ministack))


@dataclass(frozen=True)
class _Record:
    """The state file: PIDs, ports and paths; never a password."""

    redis_pid: int
    redis_port: int
    ministack_pid: int
    ministack_port: int
    ca_file: str
    region: str
    ministack_version: str = ms.MINISTACK_VERSION


class Sandbox:
    def __init__(
        self,
        state_dir: Path = Path(".mathvisuals"),
        *,
        ministack_venv: Path | None = None,
        region: str = "eu-north-1",
        gateway_port: int = 0,
    ) -> None:
        """``gateway_port`` 0 picks a free loopback port; ``endpoints()`` tells which."""
        self.state_dir = state_dir.resolve()
        self.ministack_venv = ministack_venv
        self.region = region
        self.gateway_port = gateway_port

    @property
    def state_file(self) -> Path:
        return self.state_dir / STATE_FILE

    @property
    def redis_dir(self) -> Path:
        return self.state_dir / "sandbox" / "redis"

    def up(self, token: str) -> Endpoints:
        """Start redis-server (``requirepass`` = token) then ministack; reuse live ones as is."""
        if not _TOKEN.fullmatch(token):
            raise SandboxError("the token must be 16-128 characters of [A-Za-z0-9!&#$^<>-]")
        with self._locked():
            record = self._load()
            if record is not None and self._answering(record):
                log.info(
                    "sandbox: reusing redis pid %d, ministack pid %d",
                    record.redis_pid,
                    record.ministack_pid,
                )
                return _endpoints(record)
            self._stop(record)
            self._forget()
            record = self._start(token)
            self._save(record)
            return _endpoints(record)

    def _start(self, token: str) -> _Record:
        stack = ms.Ministack(
            self.state_dir,
            0,
            venv_dir=self.ministack_venv,
            port=self.gateway_port,
            region=self.region,
        )
        # The slow, failure-prone install first, so that it never strands a redis-server.
        stack.ensure_venv()
        tls = self._tls()
        redis = RedisServer(workdir=self.redis_dir, password=token, tls=tls, appendonly=False)
        try:
            redis.start()
        except RedisServerError as exc:
            raise SandboxError(f"redis-server did not start: {exc}") from exc
        _started[_pid(redis.pid)] = redis
        stack.redis_port = redis.port
        try:
            stack.start()
        except BaseException:
            self._stop_redis(_pid(redis.pid))
            raise
        _started[_pid(stack.pid)] = stack
        return _Record(
            redis_pid=_pid(redis.pid),
            redis_port=redis.port,
            ministack_pid=_pid(stack.pid),
            ministack_port=stack.port,
            ca_file=str(tls.ca_file),
            region=self.region,
        )

    def down(self) -> None:
        """Stop ministack (with its Lambda workers), then redis-server; forget the state."""
        with self._locked():
            self._stop(self._load())
            self._forget()

    def status(self) -> SandboxStatus:
        record = self._load()
        if record is None:
            return SandboxStatus(None, None)
        redis_alive = _is_redis(record.redis_pid)
        stack_alive = ms.is_ministack_group(record.ministack_pid)
        return SandboxStatus(
            redis=ProcessState(
                record.redis_pid,
                record.redis_port,
                redis_alive,
                redis_alive and _redis_answers(record),
            ),
            ministack=ProcessState(
                record.ministack_pid,
                record.ministack_port,
                stack_alive,
                stack_alive and ms.answers(record.ministack_port),
            ),
        )

    def endpoints(self) -> Endpoints:
        record = self._load()
        if record is None:
            raise SandboxError(f"the sandbox is not up ({self.state_file} does not exist)")
        return _endpoints(record)

    def processes(self) -> list[int]:
        """Every PID the sandbox owns: redis-server, ministack and ministack's Lambda workers."""
        record = self._load()
        if record is None:
            return []
        redis = [record.redis_pid] if _is_redis(record.redis_pid) else []
        return redis + ms.group_members(record.ministack_pid)

    def add_password(self, current: str, new: str) -> None:
        """Emulate ElastiCache ``ROTATE``: ``new`` becomes valid beside the current password."""
        self._acl(current, f">{new}")

    def remove_password(self, current: str, old: str) -> None:
        """Emulate ElastiCache ``SET``: ``old`` stops working (``current`` stays)."""
        if current == old:
            raise SandboxError("refusing to remove the password used to authenticate")
        self._acl(current, f"<{old}")

    def _acl(self, current: str, rule: str) -> None:
        endpoints = self.endpoints()
        with connect(endpoints.redis_port, endpoints.ca_file, current) as client:
            client.command("ACL", "SETUSER", "default", rule)

    def _answering(self, record: _Record) -> bool:
        return (
            record.ministack_version == ms.MINISTACK_VERSION
            and _is_redis(record.redis_pid)
            and _redis_answers(record)
            and ms.is_ministack_group(record.ministack_pid)
            and ms.answers(record.ministack_port)
        )

    def _stop(self, record: _Record | None) -> None:
        if record is None:
            return
        started = _started.pop(record.ministack_pid, None)
        if not isinstance(started, ms.Ministack):
            # Started by another process: stop it by PID alone (its group, if still ministack).
            started = ms.Ministack(self.state_dir, record.redis_port, pid=record.ministack_pid)
        started.stop()
        self._stop_redis(record.redis_pid)

    def _stop_redis(self, pid: int) -> None:
        started = _started.pop(pid, None)
        if isinstance(started, RedisServer):
            started.stop()
        elif _is_redis(pid):
            RedisServer(workdir=self.redis_dir, password="", tls=None, pid=pid).stop()
        # The config file holds the token in clear; it has no use once the server is gone.
        with contextlib.suppress(FileNotFoundError):
            (self.redis_dir / "redis.conf").unlink()

    def _tls(self) -> TlsFiles:
        directory = self.state_dir / "sandbox" / "tls"
        files = TlsFiles(
            directory / "ca.pem", directory / "server.pem", directory / "server-key.pem"
        )
        if all(path.exists() for path in (files.ca_file, files.cert_file, files.key_file)):
            return files
        return make_tls_files(directory)

    def _load(self) -> _Record | None:
        try:
            data = json.loads(self.state_file.read_text(encoding="utf-8"))
            return _Record(**data)
        except FileNotFoundError:
            return None
        except (ValueError, TypeError) as exc:
            raise SandboxError(f"{self.state_file} is unreadable; remove it") from exc

    def _forget(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.state_file.unlink()

    def _save(self, record: _Record) -> None:
        partial = self.state_file.with_suffix(".json.partial")
        partial.write_text(json.dumps(asdict(record), indent=2) + "\n", encoding="utf-8")
        partial.replace(self.state_file)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        with (self.state_dir / "sandbox.lock").open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


def ensure_token(path: Path = Path(".mathvisuals/token")) -> str:
    """The harness token: generated once (48 of ``A-Za-z0-9-``), kept 0600, never printed."""
    if path.exists():
        path.chmod(0o600)
        token = path.read_text(encoding="utf-8")
        if not _TOKEN.fullmatch(token):
            raise SandboxError(f"{path} does not hold a valid token; remove it to get a new one")
        return token
    path.parent.mkdir(parents=True, exist_ok=True)
    token = generate_token()
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(token)  # no newline: the file is read exactly as written (C14)
    return token


def generate_token(length: int = TOKEN_LENGTH) -> str:
    while True:
        token = "".join(secrets.choice(TOKEN_ALPHABET) for _ in range(length))
        if (
            any(ch.isupper() for ch in token)
            and any(ch.islower() for ch in token)
            and any(ch.isdigit() for ch in token)
        ):
            return token


def _endpoints(record: _Record) -> Endpoints:
    return Endpoints(
        aws_endpoint_url=f"http://{LOOPBACK}:{record.ministack_port}",
        redis_port=record.redis_port,
        ca_file=Path(record.ca_file),
    )


def _redis_answers(record: _Record) -> bool:
    """A PING without a password: ``NOAUTH`` proves a TLS redis-server with our CA is there."""
    try:
        with RespClient(record.redis_port, Path(record.ca_file), timeout=2.0) as client:
            client.command("PING")
    except RespError as exc:
        return exc.kind == "NOAUTH"
    except SandboxError:
        return False
    return True


def _is_redis(pid: int) -> bool:
    try:
        return b"redis-server" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def _pid(pid: int | None) -> int:
    if pid is None:
        raise SandboxError("a sandbox process has no PID after starting")
    return pid
