"""The composition root: the one place a target's profile, its clients and its lock are resolved.

``session`` loads the config, starts the sandbox for an emulated target, connects the gateways
and owns the progress reporter; ``orchestrator`` builds the deployment context around them.
"""

from __future__ import annotations

import signal
import sys
import threading
import time
import uuid
from collections.abc import Callable, Collection, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console

from mathvisuals import __version__
from mathvisuals.cli import options
from mathvisuals.cli.render import RichReporter
from mathvisuals.deploy import masking
from mathvisuals.deploy.config import EnvironmentConfig, config_path, load_config
from mathvisuals.deploy.context import DeployContext
from mathvisuals.deploy.errors import ConfigError, UsageError, WaitTimeoutError
from mathvisuals.deploy.gateway import Gateways
from mathvisuals.deploy.model import Flags
from mathvisuals.deploy.orchestrator import Orchestrator, load_templates
from mathvisuals.deploy.profile import PROFILES, TargetProfile
from mathvisuals.settings import deploy_environment

if TYPE_CHECKING:
    from mathvisuals.deploy.artifact import Artifact
    from mathvisuals.deploy.live import Observed
    from mathvisuals.deploy.locks import Lock
    from mathvisuals.deploy.orchestrator import PlanResult
    from mathvisuals.deploy.saved_plan import SavedPlan
    from mathvisuals.deploy.status import StatusReport
    from mathvisuals.deploy.verify import VerifyReport

CACHE_DIR = Path(".mathvisuals")  # reusable across runs: ministack venv, dependency cache


def state_dir() -> Path:
    """Where a run keeps its processes, locks and artefacts (``MATHVISUALS_STATE_DIR``)."""
    return deploy_environment().state_dir


@dataclass
class Session:
    config: EnvironmentConfig
    config_file: Path
    profile: TargetProfile
    gateways: Gateways
    reporter: RichReporter
    console: Console
    token_file: Path | None = None
    sandbox_started: bool = False  # this command started the sandbox (it keeps running)


def install_scrubber() -> None:
    """Wrap stdout/stderr once; in GitHub Actions also register each secret with add-mask."""
    if not isinstance(sys.stdout, masking.ScrubbingStream):
        raw_out = sys.stdout
        sys.stdout = masking.ScrubbingStream(raw_out)
        sys.stderr = masking.ScrubbingStream(sys.stderr)
        if deploy_environment().github_actions:

            def add_mask(value: str) -> None:
                raw_out.write(f"::add-mask::{value}\n")

            masking.on_register(add_mask)


# Each command's overall deadline (exit 9): beyond the stack waits' own limits, a bound on
# everything, stalls included. A command not listed gets DEFAULT_DEADLINE_S.
DEADLINES_S = {
    "up": 3 * 3600.0,
    "down": 3 * 3600.0,
    "rotate-token": 2 * 3600.0,
    "adopt": 3600.0,
    "bootstrap": 3600.0,
}
DEFAULT_DEADLINE_S = 20 * 60.0


@contextmanager
def deadline(command: str, seconds: float) -> Iterator[None]:
    """SIGALRM ends a command that outlives its deadline with WaitTimeoutError (exit 9)."""
    if seconds <= 0 or threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(signum: int, frame: object) -> None:
        # Re-armed first: an exception raised where Python swallows it (a gc callback, a
        # __del__) would otherwise lose the deadline; the next alarm raises again.
        signal.setitimer(signal.ITIMER_REAL, 0.5)
        raise WaitTimeoutError(
            f"{command} did not finish within its deadline of {seconds / 60:.0f} min"
        ).with_hint("rerun it: every step resumes where the last run stopped")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def expected_region(path: Path, config: EnvironmentConfig, run: options.RunOptions) -> None:
    """--region, or else AWS_REGION/AWS_DEFAULT_REGION, must agree with the file."""
    given, source = run.region, "--region"
    if given is None:
        given, source = deploy_environment().region, "AWS_REGION/AWS_DEFAULT_REGION"
    if given and given != config.env.region:
        fix = "pass the file's region" if source == "--region" else "unset the variable"
        raise ConfigError(
            str(path),
            "env.region",
            f"is {config.env.region} but {source} says {given}",
            f"{fix} or fix the file; shared, data and api share one region",
        )


def resolve_target(target: str | None, loaded: EnvironmentConfig, path: Path) -> TargetProfile:
    """``--target``, else the file's ``env.target``, else aws; the two must not disagree."""
    named = loaded.env.target
    if target is not None and named is not None and target != named:
        raise UsageError(
            f"{path}: env.target is {named}, so --target {target} cannot run it"
        ).with_hint(f"drop --target (or pass --target {named})")
    return PROFILES[target or named or "aws"]


def target_profile(env: str | None, config: Path | None, target: str | None) -> TargetProfile:
    """The profile a command will run on, from the options and the file alone (no sandbox)."""
    options.require_env(env, config)
    path = config_path(env, config)
    return resolve_target(target, load_config(path), path)


@contextmanager
def session(env: str | None, config: Path | None, target: str | None) -> Iterator[Session]:
    """Errors propagate to the CLI's one boundary; the spinner is stopped before they print."""
    install_scrubber()
    run = options.current()
    options.require_env(env, config)
    path = config_path(env, config)
    loaded = load_config(path)
    profile = resolve_target(target, loaded, path)
    if profile.checks_region:
        expected_region(path, loaded, run)
    limit = DEADLINES_S.get(run.command, DEFAULT_DEADLINE_S)
    with deadline(run.command, limit), _session(loaded, path, profile, run) as made:
        yield made


@contextmanager
def _session(
    loaded: EnvironmentConfig, path: Path, profile: TargetProfile, run: options.RunOptions
) -> Iterator[Session]:
    console = Console(file=sys.stderr, highlight=False)
    local = None
    started = False
    if profile.emulated:
        from mathvisuals.deploy.local import start_local

        started = not sandbox_running()
        with console.status("starting the sandbox (ministack + TLS redis-server)"):
            local = start_local(state_dir(), CACHE_DIR / "ministack" / "venv")
        loaded = local.configure(loaded)
    gateways = connect(loaded, profile, aws_profile=run.profile)
    if local is not None:
        from mathvisuals.deploy.local import FollowingCache

        gateways.cache = FollowingCache(gateways.cache, local.sandbox, local.token_file)
    reporter = RichReporter(console, verbose=run.verbose)
    try:
        yield Session(
            loaded,
            path,
            profile,
            gateways,
            reporter,
            console,
            token_file=local.token_file if local else None,
            sandbox_started=started,
        )
    finally:
        reporter.stop()


def _lock(s: Session) -> Lock:
    """The environment's one lock: an S3 object on AWS, a file in the state folder locally."""
    return s.profile.lock(s.config, s.gateways.artifacts, state_dir())


@contextmanager
def env_lock(s: Session, *, break_lock: bool) -> Iterator[None]:
    """The environment's lock (deploy.md §5.10) around a command that writes data outside a
    deployment (``data import``): it cannot interleave with ``up``, ``down`` or a rotation."""
    lock = _lock(s)
    lock.acquire(break_lock=break_lock)
    try:
        yield
    finally:
        lock.release()


def sandbox_running() -> bool:
    """Whether the sandbox's processes answer (read from its state file; starts nothing)."""
    from mathvisuals.sandbox.sandbox import Sandbox

    return Sandbox(state_dir()).status().up


def sandbox_recorded() -> bool:
    """Whether a sandbox was started and not yet taken down (its processes may have died)."""
    from mathvisuals.sandbox.sandbox import Sandbox

    found = Sandbox(state_dir()).status()
    return found.redis is not None or found.ministack is not None


def connect(
    config: EnvironmentConfig, profile: TargetProfile, *, aws_profile: str | None = None
) -> Gateways:
    from mathvisuals.deploy import aws

    if profile.emulated:
        return aws.connect(
            config.env.region,
            endpoint_url=config.local.endpoint_url,
            credentials=("test", "test"),
            poll_seconds=profile.client_poll_seconds,
        )
    gateways = aws.connect(
        config.env.region, profile=aws_profile, poll_seconds=profile.client_poll_seconds
    )
    if config.stacks.static_site and config.stacks.static_site_region:
        static = aws.connect(config.stacks.static_site_region, profile=aws_profile)
        gateways.static_site = static.cloudformation
    elif config.stacks.static_site:
        gateways.static_site = gateways.cloudformation
    return gateways


def build_artifact(profile: TargetProfile) -> Artifact:
    """The Lambda zip exactly as ``up`` builds it for this target (``package`` shows it)."""
    from mathvisuals.deploy.artifact import LAMBDA_PLATFORM
    from mathvisuals.deploy.artifact import build_artifact as build

    return build(
        state_dir() / "artifacts",
        python_version=profile.artifact_python,
        platform=LAMBDA_PLATFORM,
        cache_dir=CACHE_DIR / "cache",
        # The sandbox may run without bytecode; a real deployment is refused without it.
        bytecode="optional" if profile.emulated else "required",
    )


def orchestrator(
    s: Session, *, rotating: bool = False, flags: Flags | None = None, break_lock: bool = False
) -> Orchestrator:
    """The deployment context (profile, lock, token file) and the orchestrator around it."""
    profile = s.profile

    def artifact() -> Any:
        return build_artifact(profile)

    context = DeployContext(
        s.config,
        s.gateways,
        s.reporter,
        profile=profile,
        lock=_lock(s),
        break_lock=break_lock,
        # The sandbox's token seeds a new secret; a rotation needs a new token instead
        # (generated, or the one an operator put in MATHVISUALS_TOKEN_FILE).
        token_file=deploy_environment().token_file or (None if rotating else s.token_file),
    )
    policy = Path("infra/data/stack-policy.json")
    return Orchestrator(
        context,
        templates=load_templates(),
        build_artifact=artifact,
        flags=flags,
        stack_policy=policy.read_text(encoding="utf-8") if policy.exists() else None,
    )


def http_client(method: str) -> Callable[[str, Mapping[str, str]], tuple[int, Any, object]]:
    """V7's HTTP probe: (url, headers) -> (status, headers, JSON body or None)."""
    import httpx2

    def call(url: str, headers: Mapping[str, str]) -> tuple[int, Any, object]:
        response = httpx2.request(method, url, headers=dict(headers), timeout=10)
        try:
            body: object = response.json()
        except ValueError:
            body = None
        return response.status_code, response.headers, body

    return call


def observe(s: Session) -> Observed:
    """The live state, read lazily and once: hand the same one to verify and status."""
    from mathvisuals.deploy.live import Observed

    return Observed(s.config, s.gateways)


def verify_report(
    s: Session,
    *,
    code_sha256: str | None,
    only: Collection[str] | None = None,
    since_ms: int | None = None,
    observed: Observed | None = None,
) -> VerifyReport:
    from mathvisuals.deploy.verify import verify

    return verify(
        s.config,
        s.gateways,
        profile=s.profile,
        expected_code_sha256=code_sha256,
        run_id=uuid.uuid4().hex[:12],
        http_get=http_client("GET"),
        http_options=http_client("OPTIONS"),
        since_ms=since_ms,
        log_interval_s=s.profile.log_poll_seconds,
        only=only,
        observed=observed,
    )


def write_status(
    s: Session,
    report: VerifyReport | None,
    *,
    show_values: bool = False,
    observed: Observed | None = None,
) -> StatusReport:
    from mathvisuals.deploy.status import build_status
    from mathvisuals.model.clock import iso_now

    status = build_status(
        s.config,
        s.gateways,
        profile=s.profile,
        verify_report=report,
        tool_version=__version__,
        now=iso_now(),
        show_values=show_values,
        templates=load_templates(),
        observed=observed,
        last_verify=None if report is not None else last_verify(s),
    )
    status.write(Path(s.config.report.path))
    if report is not None:
        record_verify(s, report)
    return status


def _verify_record(s: Session) -> Path:
    return state_dir() / "verify" / f"{s.config.name}-{s.profile.name}.json"


def record_verify(s: Session, report: VerifyReport) -> None:
    """Keep the outcome, so that a later ``status`` can say what the latest verify found."""
    import json

    from mathvisuals.model.clock import iso_now

    path = _verify_record(s)
    failed = [c.id for c in report.failed]
    body = {"at": iso_now(), "ok": report.ok, "failed": failed}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(body) + "\n", encoding="utf-8")
    except OSError:
        pass  # a read-only state directory costs the record, not the command


def last_verify(s: Session) -> str | None:
    import json

    try:
        body = json.loads(_verify_record(s).read_text(encoding="utf-8"))
        outcome = "passed" if body["ok"] else "failed: " + ", ".join(body["failed"])
        return f"{outcome} ({body['at']})"
    except (OSError, ValueError, KeyError, TypeError):
        return None


def epoch_now_ms() -> int:
    return int(time.time() * 1000)


def emulated_api_url(config: EnvironmentConfig, api_endpoint: str) -> str:
    """The stage URL through ministack's gateway: /_aws/execute-api/<api id>/<stage>."""
    api_id = api_endpoint.split("//", 1)[-1].split(".", 1)[0]
    base = config.local.endpoint_url.rstrip("/")
    return f"{base}/_aws/execute-api/{api_id}/{config.api.stage_name}"


def saved_plan(s: Session, result: PlanResult) -> SavedPlan:
    from mathvisuals.deploy.saved_plan import from_result
    from mathvisuals.model.clock import iso_now

    return from_result(
        result,
        environment=s.config.name,
        region=s.config.env.region,
        account_id=s.config.env.account_id,
        tool_version=__version__,
        created=iso_now(),
    )


def save_plan(s: Session, result: PlanResult, out: Path) -> None:
    """Write the plan file (digests and change sets only: no values, no tokens)."""
    try:
        out.write_text(saved_plan(s, result).to_json(), encoding="utf-8")
    except OSError as exc:
        raise ConfigError(str(out), "--out", f"cannot write: {exc.strerror or exc}") from exc
