"""One lock per environment, taken lazily before the first mutating call (deploy.md §5.10)."""

from __future__ import annotations

import json
import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from mathvisuals.deploy.errors import LockHeldError
from mathvisuals.deploy.gateway import Artifacts

LOCK_SECONDS = 2 * 3600


def holder() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class Lock(Protocol):
    def acquire(self, *, break_lock: bool) -> None: ...

    def release(self) -> None: ...


def _body(now: float) -> bytes:
    return json.dumps({"holder": holder(), "expires": now + LOCK_SECONDS}).encode()


def _expired(raw: bytes | None, now: float) -> bool:
    try:
        return raw is None or float(json.loads(raw)["expires"]) < now
    except (ValueError, KeyError, TypeError):
        return True


@dataclass
class S3Lock:
    """``locks/<env>.json`` in the artefact bucket, written with ``If-None-Match: *``."""

    artifacts: Artifacts
    bucket: str
    env: str
    held: bool = False

    @property
    def key(self) -> str:
        return f"locks/{self.env}.json"

    def acquire(self, *, break_lock: bool) -> None:
        now = time.time()
        if self.artifacts.acquire_lock(self.bucket, self.key, _body(now)):
            self.held = True
            return
        current = self.artifacts.read(self.bucket, self.key)
        if break_lock or _expired(current, now):
            self.artifacts.delete(self.bucket, self.key)
            if self.artifacts.acquire_lock(self.bucket, self.key, _body(now)):
                self.held = True
                return
        raise LockHeldError(
            f"another run holds s3://{self.bucket}/{self.key} ({_describe(current)})"
        ).with_hint("wait for it, or pass --break-lock if that run is dead")

    def release(self) -> None:
        if self.held:
            self.artifacts.delete(self.bucket, self.key)
            self.held = False


@dataclass
class FileLock:
    """The local target's lock: an exclusive-create file under the state folder."""

    path: Path
    held: bool = False

    def acquire(self, *, break_lock: bool) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        now = time.time()
        for _ in range(2):
            try:
                with self.path.open("xb") as handle:
                    handle.write(_body(now))
                self.held = True
                return
            except FileExistsError:
                current = self.path.read_bytes() if self.path.exists() else None
                if not (break_lock or _expired(current, now) or _dead(current)):
                    raise LockHeldError(
                        f"another run holds {self.path} ({_describe(current)})"
                    ).with_hint("wait for it, or pass --break-lock if that run is dead") from None
                self.path.unlink(missing_ok=True)
        raise LockHeldError(f"could not take {self.path}")

    def release(self) -> None:
        if self.held:
            self.path.unlink(missing_ok=True)
            self.held = False


def _describe(raw: bytes | None) -> str:
    try:
        data = json.loads(raw or b"{}")
        return f"holder {data.get('holder', '?')}"
    except ValueError:
        return "unreadable lock"


def _dead(raw: bytes | None) -> bool:
    """A local lock whose process is gone (killed run) does not block the next run."""
    try:
        host, pid = str(json.loads(raw or b"{}")["holder"]).rsplit(":", 1)
        if host != socket.gethostname():
            return False
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except (ValueError, KeyError, PermissionError, OSError):
        return False
    return False
