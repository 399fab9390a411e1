"""Run the ministack AWS emulator, pinned in its own virtualenv, on loopback; stop it by PID."""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from mathvisuals.sandbox import SandboxError
from mathvisuals.sandbox.redis_server import LOOPBACK, free_port

log = logging.getLogger(__name__)

# ministack 1.5.33 pins botocore==1.43.106, which our boto3 1.44.8 cannot share a venv with.
MINISTACK_VERSION = "1.5.33"
STAMP_NAME = ".mathvisuals-ministack-version"
HEALTH_PATH = "/_ministack/health"
# Copied from our environment into ministack's; every Lambda it runs inherits ministack's
# whole environment, so nothing else of ours (AWS_*, REDIS_*, MATHVISUALS_*) may leak in.
INHERITED = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "USER", "LOGNAME")
# Never go through an http(s)_proxy from the environment: the emulator is on loopback.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class MinistackError(SandboxError):
    """ministack could not be installed, started or stopped."""


def ensure_venv(venv_dir: Path, *, timeout: float = 900.0) -> Path:
    """Install ``ministack==MINISTACK_VERSION`` into ``venv_dir`` once; return its script.

    A stamp file written last marks a finished install, so an interrupted one is redone.
    Concurrent callers (two test sessions, a test and the CLI) serialise on a lock file.
    """
    venv_dir = venv_dir.resolve()
    venv_dir.parent.mkdir(parents=True, exist_ok=True)
    script = venv_dir / "bin" / "ministack"
    stamp = venv_dir / STAMP_NAME
    with _locked(venv_dir.with_name(venv_dir.name + ".lock")):
        if script.exists() and _read(stamp) == stamp_text():
            return script
        log.info("ministack: installing %s into %s", MINISTACK_VERSION, venv_dir)
        shutil.rmtree(venv_dir, ignore_errors=True)
        install_log = venv_dir.with_name(venv_dir.name + "-install.log")
        python = venv_dir / "bin" / "python"
        pip = [str(python), "-m", "pip", "install", "--disable-pip-version-check"]
        steps = (
            [sys.executable, "-m", "venv", str(venv_dir)],
            [*pip, f"ministack=={MINISTACK_VERSION}"],
        )
        with install_log.open("wb") as out:
            for step in steps:
                try:
                    done = subprocess.run(
                        step,
                        stdout=out,
                        stderr=subprocess.STDOUT,
                        stdin=subprocess.DEVNULL,
                        timeout=timeout,
                        check=False,
                    )
                except subprocess.TimeoutExpired as exc:
                    raise MinistackError(f"{step[2]} timed out; see {install_log}") from exc
                if done.returncode != 0:
                    raise MinistackError(
                        f"installing ministack=={MINISTACK_VERSION} failed "
                        f"({step[2]} exited {done.returncode}); see {install_log}"
                    )
        if not script.exists():
            raise MinistackError(f"{script} is missing after the install; see {install_log}")
        stamp.write_text(stamp_text() + "\n", encoding="utf-8")
        return script


def stamp_text() -> str:
    """The pinned version and the Python it runs on: Lambdas run with that interpreter too,
    so a venv made by another Python is rebuilt to match artefacts built for this one."""
    return f"ministack=={MINISTACK_VERSION} python{sys.version_info[0]}.{sys.version_info[1]}"


@dataclass
class Ministack:
    """One ministack process on ``127.0.0.1:port`` whose ElastiCache endpoint is our redis."""

    state_dir: Path
    redis_port: int
    venv_dir: Path | None = None
    port: int = 0
    region: str = "eu-north-1"
    account_id: str = "000000000000"
    pid: int | None = None
    _process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def home(self) -> Path:
        return self.state_dir.resolve() / "ministack"

    @property
    def venv(self) -> Path:
        return (self.venv_dir or self.home / "venv").resolve()

    @property
    def python(self) -> Path:
        """The interpreter every Python Lambda runs with (ministack's ``sys.executable``)."""
        return self.venv / "bin" / "python"

    @property
    def log_file(self) -> Path:
        return self.home / "ministack.log"

    @property
    def pid_file(self) -> Path:
        return self.home / "ministack.pid"

    @property
    def endpoint_url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def environment(self, inherited: Mapping[str, str] = os.environ) -> dict[str, str]:
        """ministack's whole environment (its Lambdas inherit it); it holds no secret."""
        env = {name: inherited[name] for name in INHERITED if name in inherited}
        env.update(
            BIND_HOST=LOOPBACK,
            GATEWAY_PORT=str(self.port),
            # What CreateReplicationGroup reports as the endpoint when there is no Docker.
            REDIS_HOST=LOOPBACK,
            REDIS_PORT=str(self.redis_port),
            LAMBDA_EXECUTOR="local",
            MINISTACK_REGION=self.region,
            MINISTACK_ACCOUNT_ID=self.account_id,
            # On by default, the IoT mTLS broker listens on 0.0.0.0:8883; SFTP on 0.0.0.0.
            IOT_MTLS_ENABLED="0",
            SFTP_ENABLED="0",
            SFTP_HOST=LOOPBACK,
            # Never look for a Docker daemon (ElastiCache/RDS/Lambda would try containers).
            DOCKER_HOST=f"unix://{self.home / 'no-docker.sock'}",
            PERSIST_STATE="0",
            STATE_DIR=str(self.home / "state"),
            S3_DATA_DIR=str(self.home / "s3"),
            # Lambda code is unzipped under TMPDIR (ministack-lambda-<name>-*/code).
            TMPDIR=str(self.home / "tmp"),
            LOG_LEVEL="INFO",
            PYTHONUNBUFFERED="1",
        )
        return env

    def ensure_venv(self) -> Path:
        return ensure_venv(self.venv)

    def start(self, timeout: float = 60.0) -> None:
        script = self.ensure_venv()
        self.home.mkdir(parents=True, exist_ok=True)
        stop_stale(self.pid_file)
        shutil.rmtree(self.home / "tmp", ignore_errors=True)
        (self.home / "tmp").mkdir()
        self.port = self.port or free_port()
        with self.log_file.open("ab") as out:
            process = subprocess.Popen(
                [str(script)],
                cwd=self.home,
                env=self.environment(),
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                # Its own session and process group: stop() takes the Lambda workers with it.
                start_new_session=True,
            )
        self._process, self.pid = process, process.pid
        self.pid_file.write_text(str(process.pid), encoding="utf-8")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                self.stop()
                raise MinistackError(
                    f"ministack exited with {process.returncode}; see {self.log_file}"
                )
            if self.answers():
                log.info("ministack: %s (pid %d)", self.endpoint_url, process.pid)
                return
            time.sleep(0.1)
        self.stop()
        raise MinistackError(f"ministack did not answer on {self.endpoint_url} in {timeout}s")

    def answers(self) -> bool:
        """True when our pinned ministack serves its health document on ``port``."""
        return answers(self.port)

    def processes(self) -> list[int]:
        """ministack and the Lambda workers it started (its process group), oldest first."""
        return [] if self.pid is None else group_members(self.pid)

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM the process group, then SIGKILL whatever is left after ``timeout``."""
        if self.pid is not None:
            stop_group(self.pid, timeout=timeout)
        if self._process is not None:
            self._process.wait()
            self._process = None
        self.pid = None
        with contextlib.suppress(OSError):
            self.pid_file.unlink()
        shutil.rmtree(self.home / "tmp", ignore_errors=True)


def answers(port: int) -> bool:
    try:
        with _OPENER.open(f"http://{LOOPBACK}:{port}{HEALTH_PATH}", timeout=2.0) as response:
            body = json.loads(response.read())
    except (OSError, ValueError):
        return False
    return isinstance(body, dict) and body.get("version") == MINISTACK_VERSION


def group_members(pgid: int) -> list[int]:
    """Live (non-zombie) processes whose process group is ``pgid``."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        # "pid (comm) state ppid pgrp ..."; comm may itself contain spaces and parentheses.
        fields = stat.rsplit(")", 1)[-1].split()
        if len(fields) > 2 and fields[0] != "Z" and int(fields[2]) == pgid:
            members.append(int(entry.name))
    return sorted(members)


def is_ministack_group(pgid: int) -> bool:
    """Whether ``pgid`` still names a ministack group (and not a recycled PID)."""
    for pid in group_members(pgid):
        with contextlib.suppress(OSError):
            if b"ministack" in Path(f"/proc/{pid}/cmdline").read_bytes():
                return True
    return False


def stop_group(pgid: int, *, timeout: float = 10.0) -> None:
    if not is_ministack_group(pgid):
        return
    _signal_group(pgid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and group_members(pgid):
        _reap(pgid)
        time.sleep(0.05)
    if group_members(pgid):
        log.warning("ministack: group %d ignored SIGTERM; killing it", pgid)
        _signal_group(pgid, signal.SIGKILL)
        while group_members(pgid):
            _reap(pgid)
            time.sleep(0.02)
    _reap(pgid)


def stop_stale(pid_file: Path) -> None:
    """Stop a ministack left behind by a killed run of ours (its PID file names one)."""
    try:
        pid = int(pid_file.read_text(encoding="utf-8").strip())
    except (OSError, ValueError):
        return
    stop_group(pid)
    with contextlib.suppress(OSError):
        pid_file.unlink()


def _signal_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _reap(pid: int) -> None:
    """Collect the exit status when the leader is our own child, so it leaves no zombie."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError:
        return ""


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
