"""The deploy commands: the composition root that wires config, gateways and the orchestrator.

Human progress goes to stderr (Rich); ``--json`` results go to stdout. Both streams pass
through the masking scrubber, so no registered secret can be printed.
"""

from __future__ import annotations

import json
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal, NoReturn

import typer
from rich.console import Console

from mathvisuals import __version__
from mathvisuals.deploy import masking
from mathvisuals.deploy.config import EnvironmentConfig, config_path, load_config
from mathvisuals.deploy.errors import ConfigError, DeployError
from mathvisuals.deploy.gateway import Gateways
from mathvisuals.deploy.model import Flags, StackEvent
from mathvisuals.deploy.orchestrator import Options, Orchestrator, StepResult, load_templates
from mathvisuals.settings import deploy_environment

CACHE_DIR = Path(".mathvisuals")  # reusable across runs: ministack venv, dependency cache


def state_dir() -> Path:
    """Where a run keeps its processes, locks and artefacts (``MATHVISUALS_STATE_DIR``)."""
    return deploy_environment().state_dir


Target = Literal["aws", "local"]

EnvOption = Annotated[
    str | None,
    typer.Option("--env", "-e", help="Environment: reads infra/environments/<env>.toml."),
]
ConfigOption = Annotated[
    Path | None, typer.Option("--config", "-c", help="An environment TOML file instead of --env.")
]


class TargetChoice(StrEnum):
    aws = "aws"
    local = "local"


TargetOption = Annotated[
    TargetChoice,
    typer.Option(
        "--target",
        help="aws (default) or local: every client pointed at the local emulator.",
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable result on stdout.")]
ShowValuesOption = Annotated[
    bool, typer.Option("--show-values", help="Show endpoint/port/origin values (never tokens).")
]


AllowReplace = Annotated[
    bool, typer.Option(help="Allow replacing the replication group, VPC or subnets.")
]
RecreateFailed = Annotated[
    bool, typer.Option(help="Recreate a failed shared/api stack (ROLLBACK_FAILED, DELETE_FAILED).")
]
ForceRecreateData = Annotated[bool, typer.Option(help="Delete and recreate a failed data stack.")]
NoVerify = Annotated[bool, typer.Option("--no-verify", help="Skip verify after deploying.")]
BreakLock = Annotated[bool, typer.Option(help="Take the environment lock held by a dead run.")]
DryRun = Annotated[bool, typer.Option("--dry-run", help="List what would be written only.")]
IncludeData = Annotated[
    bool, typer.Option(help="Also delete the data stack (a final snapshot is kept).")
]
DeleteSecret = Annotated[bool, typer.Option(help="Delete the auth secret (30-day recovery).")]
ForceDeleteSecret = Annotated[bool, typer.Option(help="Delete the auth secret without recovery.")]
SkipResources = Annotated[
    str, typer.Option(help="a,b: resources to skip when continuing a failed rollback.")
]
ConfirmEnv = Annotated[
    str | None, typer.Option(help="Repeat the environment name to confirm --include-data.")
]


class RichReporter:
    """Progress on stderr: one line per step and per stack event, with a live spinner."""

    def __init__(self, console: Console) -> None:
        self._console = console
        self._status: Any = None

    def step(self, name: str, detail: str = "") -> None:
        text = f"[bold]{name}[/bold] {detail}".rstrip()
        if self._status is None:
            self._status = self._console.status(text)
            self._status.start()
        else:
            self._status.update(text)

    def done(self, name: str, result: str) -> None:
        self._console.print(f"  [green]✓[/green] {name}: {result}")

    def event(self, stack: str, event: StackEvent) -> None:
        color = "red" if "FAILED" in event.status else "dim"
        reason = f" {event.reason}" if event.reason else ""
        self._console.print(
            f"    [{color}]{stack} {event.logical_id} {event.status}{reason}[/{color}]"
        )

    def warn(self, message: str) -> None:
        self._console.print(f"  [yellow]![/yellow] {message}")

    def stop(self) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None


@dataclass
class Session:
    config: EnvironmentConfig
    target: Target
    gateways: Gateways
    reporter: RichReporter
    console: Console
    token_file: Path | None = None


def fail(exc: DeployError) -> NoReturn:
    message = f"error: {exc}"
    if exc.hint:
        message += f" (hint: {exc.hint})"
    typer.echo(masking.scrub(message), err=True)
    raise typer.Exit(exc.exit_code)


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


@contextmanager
def session(env: str | None, config: Path | None, choice: TargetChoice) -> Iterator[Session]:
    install_scrubber()
    target = choice.value
    try:
        path = config_path(env, config)
        loaded = load_config(path)
        environment = deploy_environment()
        region = environment.region
        if target == "aws" and region and region != loaded.env.region:
            raise ConfigError(
                str(path),
                "env.region",
                f"is {loaded.env.region} but AWS_REGION/AWS_DEFAULT_REGION says {region}",
                "unset the variable or fix the file; shared, data and api share one region",
            )
        local = None
        if target == "local":
            from mathvisuals.deploy.local import FollowingCache, start_local

            reporter_console = Console(file=sys.stderr, highlight=False)
            with reporter_console.status("starting the sandbox (ministack + TLS redis-server)"):
                local = start_local(state_dir(), CACHE_DIR / "ministack" / "venv")
            loaded = local.configure(loaded)
        gateways = connect(loaded, target)  # type: ignore[arg-type]
        if local is not None:
            gateways.cache = FollowingCache(gateways.cache, local.sandbox, local.token_file)
        console = Console(file=sys.stderr, highlight=False)
        reporter = RichReporter(console)
        try:
            yield Session(
                loaded,
                target,  # type: ignore[arg-type]
                gateways,
                reporter,
                console,
                token_file=local.token_file if local else None,
            )
        finally:
            reporter.stop()
    except DeployError as exc:
        fail(exc)


def connect(config: EnvironmentConfig, target: Target) -> Gateways:
    from mathvisuals.deploy import aws

    if target == "local":
        gateways = aws.connect(
            config.env.region,
            endpoint_url=config.local.endpoint_url,
            credentials=("test", "test"),
            poll_seconds=0.2,
        )
        return gateways
    gateways = aws.connect(config.env.region)
    if config.stacks.static_site and config.stacks.static_site_region:
        static = aws.connect(config.stacks.static_site_region)
        gateways.static_site = static.cloudformation
    elif config.stacks.static_site:
        gateways.static_site = gateways.cloudformation
    return gateways


def make_orchestrator(s: Session, *, rotating: bool = False, **options: Any) -> Orchestrator:
    from mathvisuals.deploy.artifact import build_artifact
    from mathvisuals.deploy.locks import FileLock, S3Lock

    local = s.target == "local"
    lock = (
        FileLock(state_dir() / "locks" / f"{s.config.name}.lock")
        if local
        else S3Lock(s.gateways.artifacts, s.config.api.artifact_bucket, s.config.name)
    )

    def artifact() -> Any:
        return build_artifact(
            state_dir() / "artifacts",
            python_version=None if local else "3.12",
            platform="manylinux2014_x86_64",
            cache_dir=CACHE_DIR / "cache",
        )

    policy = Path("infra/data/stack-policy.json")
    return Orchestrator(
        s.config,
        s.gateways,
        s.reporter,
        templates=load_templates(),
        build_artifact=artifact,
        lock=lock,
        options=Options(
            target=s.target,
            # The sandbox's token seeds a new secret; a rotation needs a new token instead
            # (generated, or the one an operator put in MATHVISUALS_TOKEN_FILE).
            token_file=deploy_environment().token_file or (None if rotating else s.token_file),
            poll_seconds=0.5 if local else 5.0,
            redis_ca_file=s.config.local.redis_ca_file if local else "",
            **options,
        ),
        stack_policy=policy.read_text(encoding="utf-8") if policy.exists() else None,
    )


def emit_json(payload: object) -> None:
    typer.echo(json.dumps(payload, indent=2, default=str))


def register(app: typer.Typer) -> None:
    """Add the deploy commands to the top-level CLI."""

    @app.command()
    def plan(
        env: EnvOption = None,
        config: ConfigOption = None,
        target: TargetOption = TargetChoice.aws,
        json_output: JsonOption = False,
    ) -> None:
        """Read-only preflight: identity, permissions, ownership, and what each stack would do.

        Nothing is changed. Exit 0 when the plan can run, 5/6 when blocked.
        """
        with session(env, config, target) as s:
            try:
                result = make_orchestrator(s).plan()
            except DeployError as exc:
                s.reporter.stop()
                fail(exc)
            s.reporter.stop()
            stacks: list[dict[str, Any]] = [
                {
                    "stack": p.stack,
                    "action": "none" if p.unchanged else p.action.value,
                    "why": "up to date" if p.unchanged else p.why,
                    "changes": [vars(c) for c in p.changes],
                    "needs_allow_replace": [c.logical_id for c in p.refused],
                }
                for p in result.stacks
            ]
            if json_output:
                emit_json({"stacks": stacks, "notes": result.notes})
            else:
                for item in stacks:
                    s.console.print(f"{item['stack']}: {item['action']} ({item['why']})")
                    for change in item["changes"]:
                        s.console.print(
                            f"    {change['action']} {change['logical_id']} "
                            f"({change['resource_type']}) replacement={change['replacement']}"
                        )
                    if item["needs_allow_replace"]:
                        s.console.print(
                            "    refused without --allow-replace: "
                            + ", ".join(item["needs_allow_replace"])
                        )
                for note in result.notes:
                    s.console.print(note)

    @app.command()
    def up(
        env: EnvOption = None,
        config: ConfigOption = None,
        target: TargetOption = TargetChoice.aws,
        json_output: JsonOption = False,
        allow_replace: AllowReplace = False,
        recreate_failed: RecreateFailed = False,
        force_recreate_data: ForceRecreateData = False,
        skip_resources: SkipResources = "",
        no_verify: NoVerify = False,
        break_lock: BreakLock = False,
    ) -> None:
        """Deploy everything, in order, idempotently: artefact, secret, shared, allow-lists,
        data, api; then verify and write the status report.

        A second run with nothing changed makes no mutating AWS call and says so.
        """
        flags = Flags(
            allow_replace=allow_replace,
            recreate_failed=recreate_failed,
            force_recreate_data=force_recreate_data,
            skip_resources=tuple(x for x in skip_resources.split(",") if x),
        )
        started = time.monotonic()
        with session(env, config, target) as s:
            try:
                checked = offline_check(s, config_path(env, config))
                orchestrator = make_orchestrator(s, flags=flags, break_lock=break_lock)
                result = orchestrator.up()
                result.steps.insert(0, StepResult("check", checked))
                s.reporter.stop()
                verified = None if no_verify else run_verify(s, orchestrator)
            except DeployError as exc:
                s.reporter.stop()
                fail(exc)
            endpoint = result.outputs.get("api.ApiEndpoint")
            if endpoint and s.target == "local":
                endpoint = emulated_api_url(s.config, endpoint)
            summary = {
                "changed": result.changed,
                "mutating_calls": len(result.mutations),
                "steps": [vars(step) for step in result.steps],
                "api_endpoint": endpoint,
                "config_version": result.config_version,
                "secret": result.secret_fingerprint,
                "verified": verified,
                "seconds": round(time.monotonic() - started, 1),
            }
            if json_output:
                emit_json(summary)
            else:
                print_up_summary(s, result, verified, endpoint)
            if verified is False:
                raise typer.Exit(8)

    @app.command()
    def verify(
        env: EnvOption = None,
        config: ConfigOption = None,
        target: TargetOption = TargetChoice.aws,
        json_output: JsonOption = False,
    ) -> None:
        """Prove the deployment works: stacks, Redis flags, security groups, the Lambda's
        resolved configuration, an in-VPC round trip through the function, its logs, and (AWS)
        the public endpoint and alarms. Exit 8 when any check fails."""
        with session(env, config, target) as s:
            report = verify_report(s, code_sha256=None)
            s.reporter.stop()
            if json_output:
                typer.echo(report.to_json())
            else:
                s.console.print(report.summary())
            if not report.ok:
                raise typer.Exit(8)

    @app.command()
    def status(
        env: EnvOption = None,
        config: ConfigOption = None,
        target: TargetOption = TargetChoice.aws,
        json_output: JsonOption = False,
        show_values: ShowValuesOption = False,
        with_verify: Annotated[bool, typer.Option("--verify", help="Run verify first.")] = False,
    ) -> None:
        """The live status report of the seed's five steps, written to <report.path>.md/.json
        (replaces the hand-written status document). Read-only."""
        with session(env, config, target) as s:
            report = verify_report(s, code_sha256=None) if with_verify else None
            written = write_status(s, report, show_values=show_values)
            s.reporter.stop()
            if json_output:
                typer.echo(written.to_json())
            else:
                typer.echo(written.to_markdown())

    @app.command("rotate-token")
    def rotate_token(
        env: EnvOption = None,
        config: ConfigOption = None,
        target: TargetOption = TargetChoice.aws,
        json_output: JsonOption = False,
    ) -> None:
        """Rotate the Redis AUTH token with zero downtime: ROTATE (old and new valid), store the
        new secret version, update the api, verify V4-V6, then SET. On a failed verify the old
        token is restored everywhere (exit 8). MATHVISUALS_TOKEN_FILE supplies a chosen token."""
        from mathvisuals.deploy.rotation import TokenRotation

        with session(env, config, target) as s:
            orchestrator = make_orchestrator(s, rotating=True)
            started_ms = int(time.time() * 1000)

            def check() -> bool:
                report = verify_report(
                    s, code_sha256=None, only=("V4", "V5", "V6"), since_ms=started_ms
                )
                s.console.print(report.summary())
                return bool(report.ok)

            try:
                new_fingerprint = TokenRotation(
                    orchestrator, check, poll_seconds=0.5 if s.target == "local" else 15.0
                ).run()
            except DeployError as exc:
                s.reporter.stop()
                fail(exc)
            s.reporter.stop()
            write_status(s, None)
            if json_output:
                emit_json({"rotated": True, "secret": new_fingerprint})
            else:
                s.console.print(f"token rotated: {new_fingerprint}")

    @app.command("github-secrets")
    def github_secrets(
        env: EnvOption = None,
        config: ConfigOption = None,
        target: TargetOption = TargetChoice.aws,
        dry_run: DryRun = False,
        json_output: JsonOption = False,
    ) -> None:
        """Copy REDIS_* values from AWS (SSM, the auth secret) into GitHub Actions secrets,
        encrypted with the repository's public key. AWS → GitHub only. Needs GITHUB_TOKEN."""
        from mathvisuals.deploy import github
        from mathvisuals.deploy.gateway import SecretValue

        with session(env, config, target) as s:
            environment = deploy_environment()
            try:
                values = github.resolve_sources(s.config, s.gateways.parameters, s.gateways.secrets)
                token = environment.github_token
                if not dry_run and not token:
                    raise ConfigError(
                        "GITHUB_TOKEN", "", "is not set", "export a token with secrets write access"
                    )
                client = github.GitHubClient(
                    environment.github_api_url, SecretValue(token or "unused-token")
                )
                with client:
                    results = github.sync(s.config, values, client, dry_run=dry_run)
            except DeployError as exc:
                fail(exc)
            if json_output:
                emit_json([vars(r) for r in results])
            else:
                for r in results:
                    s.console.print(f"{r.name}: {r.action} ({r.fingerprint})")

    @app.command()
    def down(
        env: EnvOption = None,
        config: ConfigOption = None,
        target: TargetOption = TargetChoice.aws,
        include_data: IncludeData = False,
        confirm_env: ConfirmEnv = None,
        delete_secret: DeleteSecret = False,
        force_delete_secret: ForceDeleteSecret = False,
        json_output: JsonOption = False,
    ) -> None:
        """Tear down: api, then data (only with --include-data --confirm-env <env>), then shared
        when nothing imports it. The local target deletes everything without flags."""
        from mathvisuals.deploy.teardown import DownOptions
        from mathvisuals.deploy.teardown import down as run_down

        with session(env, config, target) as s:
            try:
                done = run_down(
                    make_orchestrator(s),
                    DownOptions(include_data, confirm_env, delete_secret, force_delete_secret),
                )
            except DeployError as exc:
                s.reporter.stop()
                fail(exc)
            s.reporter.stop()
            if s.target == "local":
                from mathvisuals.sandbox.sandbox import Sandbox

                Sandbox(state_dir()).down()
                done.append(("sandbox processes", "stopped"))
            if json_output:
                emit_json([{"resource": what, "outcome": how} for what, how in done])
            else:
                for what, how in done:
                    s.console.print(f"{what}: {how}")


def offline_check(s: Session, path: Path) -> str:
    """Step 1 of ``up``: the offline checks, skipped when config, templates and token file
    are byte-identical to the last passing run (cfn-lint is the slow part)."""
    import hashlib

    from mathvisuals.deploy.check import run_checks, template_paths
    from mathvisuals.deploy.errors import CheckFailedError

    token_file = deploy_environment().token_file
    inputs = [path, *template_paths(Path("infra")).values()]
    digest = hashlib.sha256()
    for item in inputs:
        digest.update(item.read_bytes() if item.exists() else b"-")
    digest.update(str(token_file).encode())
    if token_file is not None and token_file.exists():
        digest.update(token_file.read_bytes())
    stamp = CACHE_DIR / "checks" / f"{s.config.name}.sha256"
    if stamp.exists() and stamp.read_text(encoding="utf-8") == digest.hexdigest():
        return "unchanged since the last passing check"
    # Only a transient progress line: a failure later in `up` stays the one line printed.
    s.reporter.step("check", "config, cfn-lint, our rules")
    report = run_checks(path, token_file=token_file)
    errors = [item for item in report.findings if item.severity == "error"]
    if errors:
        first = errors[0]
        raise CheckFailedError(
            f"{len(errors)} offline check finding(s), first {first.file}:{first.line} "
            f"{first.rule} {first.message}"
        ).with_hint("run mathvisuals check for all findings")
    stamp.parent.mkdir(parents=True, exist_ok=True)
    stamp.write_text(digest.hexdigest(), encoding="utf-8")
    return "passed"


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


def verify_report(s: Session, *, code_sha256: str | None, only: tuple[str, ...] | None = None,
                  since_ms: int | None = None) -> Any:  # fmt: skip
    from mathvisuals.deploy.verify import verify

    return verify(
        s.config,
        s.gateways,
        target=s.target,
        expected_code_sha256=code_sha256,
        run_id=new_run_id(),
        http_get=http_client("GET"),
        http_options=http_client("OPTIONS"),
        since_ms=since_ms,
        log_interval_s=1.0 if s.target == "local" else 5.0,
        only=only,
    )


def write_status(s: Session, report: Any, *, show_values: bool = False) -> Any:
    from mathvisuals.deploy.status import build_status
    from mathvisuals.model.clock import iso_now

    status = build_status(
        s.config,
        s.gateways,
        target=s.target,
        verify_report=report,
        tool_version=__version__,
        now=iso_now(),
        show_values=show_values,
        templates=load_templates(),
    )
    status.write(Path(s.config.report.path))
    return status


def run_verify(s: Session, orchestrator: Orchestrator) -> bool:
    """After ``up``: V1–V8 (V1–V6 locally), print the summary, write the status report."""
    s.reporter.step("verify", "V1-V6" if s.target == "local" else "V1-V8")
    report = verify_report(s, code_sha256=orchestrator.code_sha256)
    s.reporter.stop()
    s.console.print(report.summary())
    write_status(s, report)
    return bool(report.ok)


SEED_STEPS = {
    "check": "0 offline checks",
    "preflight": "0 preflight (identity, ownership)",
    "artefact": "0 Lambda artefact",
    "secret": "2 auth-token secret",
    "shared": "1 shared stack (exports)",
    "allow-lists": "4 allow-list parameters",
    "data": "3 data stack (VPC + Redis)",
    "api": "5 api stack (Lambda env)",
}


def print_up_summary(s: Session, result: Any, verified: bool | None, endpoint: str | None) -> None:
    """The status table of the seed's steps, the verdict and the URL a person can curl."""
    from rich.table import Table

    table = Table(title=f"{s.config.name} ({s.target})", title_justify="left")
    for column in ("seed step", "result", "detail"):
        table.add_column(column)
    for step in result.steps:
        table.add_row(SEED_STEPS.get(step.name, step.name), step.result, step.detail)
    verdict = {True: "passed", False: "FAILED", None: "not run"}[verified]
    table.add_row("5 verify (V1-V6)" if s.target == "local" else "5 verify (V1-V8)", verdict, "")
    s.console.print(table)
    s.console.print(
        "no changes: everything was already up to date"
        if not result.changed
        else f"deployed with {len(result.mutations)} mutating calls"
    )
    if verified:
        s.console.print("mode: kv (verified)")
    s.console.print(f"report: {s.config.report.path}.md")
    if endpoint:
        s.console.print(f"api: {endpoint}/api/health")


def emulated_api_url(config: EnvironmentConfig, api_endpoint: str) -> str:
    """The stage URL through ministack's gateway: /_aws/execute-api/<api id>/<stage>."""
    api_id = api_endpoint.split("//", 1)[-1].split(".", 1)[0]
    base = config.local.endpoint_url.rstrip("/")
    return f"{base}/_aws/execute-api/{api_id}/{config.api.stage_name}"


def new_run_id() -> str:
    return uuid.uuid4().hex[:12]
