"""The only reliability module that starts processes or reads the environment.

The project bans ``subprocess`` and ``os.environ`` outside ``mathvisuals/sandbox`` and
``settings.py`` (ruff TID251); the scenarios here run the real CLI and API as a user would, so
those uses are gathered in this one module.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess  # noqa: TID251 - the CLI and the API run as real processes
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx2

from mathvisuals.sandbox.redis_server import LOOPBACK, free_port

REPO = Path(__file__).resolve().parents[1]
# Variables that would point a child at a real account, a real Redis or another run's state.
_INHERITED_OUT = ("AWS_", "REDIS_", "MATHVISUALS_", "GITHUB_", "CONFIG_VERSION")


def child_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """This process's environment without AWS/Redis/state variables, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_INHERITED_OUT)}  # noqa: TID251
    env.update(extra or {})
    return env


@dataclass(frozen=True)
class Completed:
    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str
    seconds: float


def run_cli(args: Sequence[str], env: Mapping[str, str], *, timeout: float = 600) -> Completed:
    """``python -m mathvisuals ARGS`` from the repository root, every byte kept."""
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "mathvisuals", *args],
        cwd=REPO,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return Completed(
        tuple(args), done.returncode, done.stdout, done.stderr, time.monotonic() - started
    )


@dataclass
class Spawned:
    """A CLI run in the background whose output lines are collected as they arrive."""

    args: tuple[str, ...]
    process: subprocess.Popen[str]
    stdout: list[str] = field(default_factory=list)
    stderr: list[str] = field(default_factory=list)
    _readers: list[threading.Thread] = field(default_factory=list)

    def wait_for(self, needle: str, timeout: float) -> bool:
        """True once a stderr or stdout line contains ``needle``; False on exit or timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(needle in line for line in (*self.stderr, *self.stdout)):
                return True
            if self.process.poll() is not None:
                return any(needle in line for line in (*self.stderr, *self.stdout))
            time.sleep(0.01)
        return False

    def kill(self) -> None:
        """SIGKILL this process only, by its PID (whatever it started keeps running)."""
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.process.pid, signal.SIGKILL)
        self.finish()

    def finish(self, timeout: float = 600) -> int:
        code = self.process.wait(timeout)
        for reader in self._readers:
            reader.join()
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()
        return code

    @property
    def output(self) -> str:
        return "".join(self.stdout) + "".join(self.stderr)


def spawn_cli(args: Sequence[str], env: Mapping[str, str]) -> Spawned:
    process = subprocess.Popen(
        [sys.executable, "-m", "mathvisuals", *args],
        cwd=REPO,
        env=dict(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        bufsize=1,
    )
    spawned = Spawned(tuple(args), process)
    for stream, sink in ((process.stdout, spawned.stdout), (process.stderr, spawned.stderr)):
        assert stream is not None
        reader = threading.Thread(target=_pump, args=(stream, sink), daemon=True)
        reader.start()
        spawned._readers.append(reader)
    return spawned


def _pump(stream: object, sink: list[str]) -> None:
    for line in stream:  # type: ignore[attr-defined]
        sink.append(line)


@contextlib.contextmanager
def api_servers(redis_env: Mapping[str, str], count: int, logdir: Path) -> Iterator[list[str]]:
    """``count`` ``mathvisuals serve`` processes (uvicorn) in kv mode; yields their base URLs.

    Several processes against one Redis are what several Lambda instances are: the in-process
    locks do not span them, so only WATCH/MULTI arbitrates their writes.
    """
    logdir.mkdir(parents=True, exist_ok=True)
    started: list[subprocess.Popen[bytes]] = []
    urls: list[str] = []
    try:
        for number in range(count):
            port = free_port()
            with (logdir / f"api-{number}.log").open("ab") as log:
                started.append(
                    subprocess.Popen(
                        [sys.executable, "-m", "mathvisuals", "serve", "--port", str(port)],
                        cwd=REPO,
                        env=child_env(redis_env),
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        stdin=subprocess.DEVNULL,
                    )
                )
            urls.append(f"http://{LOOPBACK}:{port}")
        for url, process in zip(urls, started, strict=True):
            _wait_healthy(url, process)
        yield urls
    finally:
        for process in started:
            with contextlib.suppress(ProcessLookupError):
                os.kill(process.pid, signal.SIGTERM)
        for process in started:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                os.kill(process.pid, signal.SIGKILL)
                process.wait()


def _wait_healthy(url: str, process: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"mathvisuals serve exited with {process.returncode}")
        with contextlib.suppress(httpx2.HTTPError):
            if httpx2.get(f"{url}/api/health", timeout=1).status_code == 200:
                return
        time.sleep(0.05)
    raise RuntimeError(f"mathvisuals serve at {url} did not become healthy in {timeout:.0f}s")
