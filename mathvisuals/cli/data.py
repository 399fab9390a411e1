"""``mathvisuals data``: export, import, verify and copy an environment's Redis data."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from mathvisuals import __version__
from mathvisuals.cli import render, wiring
from mathvisuals.cli.options import (
    BreakLockOption,
    ConfigOption,
    EnvOption,
    JsonOption,
    TargetOption,
)
from mathvisuals.cli.workdir import out_file, user_path
from mathvisuals.deploy.errors import RefusedError, VerificationError

if TYPE_CHECKING:
    from mathvisuals.deploy.data import DataTransfer, ExportResult, ImportResult
    from mathvisuals.model.restore import AreaDiff

OutOption = Annotated[
    Path | None,
    typer.Option(
        "--out",
        "-o",
        callback=out_file,
        metavar="FILE",
        help="Archive to write (default: ./<env>-<UTC time>.jsonl.gz).",
    ),
]
ArchiveArg = Annotated[
    Path, typer.Argument(callback=user_path, help="An archive written by `data export`.")
]
DryRunOption = Annotated[
    bool, typer.Option("--dry-run", help="Show what would change; write nothing.")
]
OverwriteOption = Annotated[
    bool, typer.Option("--overwrite", help="Replace live keys that differ, even when newer.")
]


def known_via(value: str | None) -> str | None:
    if value not in (None, "inline", "s3"):
        raise typer.BadParameter(f"{value!r} is not one of inline, s3")
    return value


ViaOption = Annotated[
    str | None,
    typer.Option(
        "--via",
        callback=known_via,
        metavar="[inline|s3]",
        help="How pages reach the function: inline in the invoke payload (aws default) or by "
        "presigned S3 URLs (local default; needs a route from the VPC to S3).",
    ),
]
SHOWN = 20  # keys listed per area and kind; the JSON output lists all


def transfer(
    s: wiring.Session, via: str | None, progress: Callable[[str], None] | None = None
) -> DataTransfer:
    from mathvisuals.deploy.data import DataTransfer

    pages = via or s.profile.data_pages

    return DataTransfer(
        s.gateways.functions,
        s.gateways.artifacts,
        function_name=s.config.api.function_name,
        bucket=s.config.api.artifact_bucket,
        env=s.config.name,
        region=s.config.env.region,
        via="s3" if pages == "s3" else "inline",
        progress=progress,
    )


@contextlib.contextmanager
def spinner(console: Console, doing: str) -> Iterator[Callable[[str], None]]:
    """A live status line for long work; the function it yields adds how far it has come."""
    with console.status(doing) as status:
        yield lambda line: status.update(f"{doing}: {line}")


def default_out(env: str) -> Path:
    from datetime import UTC, datetime

    return Path(f"{env}-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}.jsonl.gz")


def run_export(s: wiring.Session, out: Path | None, via: str | None) -> ExportResult:
    import time

    from mathvisuals.deploy.data import record_export
    from mathvisuals.model.clock import iso_now

    target = out or default_out(s.config.name)
    doing = f"exporting {s.config.name} through {s.config.api.function_name}"
    with spinner(s.console, doing) as progress:
        result = transfer(s, via, progress).export(target, app_version=__version__, now=iso_now())
    record_export(wiring.state_dir(), result, time.time())
    return result


def backup_before(s: wiring.Session, command: str) -> ExportResult:
    """The export a risky command takes before its first mutation."""
    from datetime import UTC, datetime

    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    folder = wiring.state_dir() / "backups"
    folder.mkdir(parents=True, exist_ok=True)
    result = run_export(s, folder / f"{s.config.name}-before-{command}-{stamp}.jsonl.gz", None)
    s.console.print(export_lines(result)[0], soft_wrap=True)
    return result


def export_lines(result: ExportResult) -> list[str]:
    m = result.manifest
    areas = ", ".join(f"{area} {count}" for area, count in m.areas.items())
    mb = result.bytes / 1e6
    lines = [
        f"exported {m.keys} keys ({areas}) of {m.environment} ({m.region}) to {result.path}",
        f"sha256 {result.sha256}; {result.pages} pages, {mb:.1f} MB in {result.seconds:.1f} s",
        f"a copy is kept in the artefact bucket: {result.kept} (expires after 7 days)",
    ]
    if m.changed_during_export:
        shown = ", ".join(m.changed_during_export[:SHOWN])
        lines.append(
            f"warning: {len(m.changed_during_export)} keys changed while the export ran "
            f"(each is consistent, the set is not a snapshot): {shown}"
        )
    return lines


def export(
    env: EnvOption = None,
    config: ConfigOption = None,
    target: TargetOption = None,
    out: OutOption = None,
    via: ViaOption = None,
    json_output: JsonOption = False,
) -> None:
    """Export every key of the key schema (api.md §6) to one gzip'd JSON-lines archive.

    Example: mathvisuals data export --env prod --out prod.jsonl.gz
    """
    with wiring.session(env, config, target) as s:
        result = run_export(s, out, via)
        if json_output:
            render.emit_json(
                {**result.manifest.to_json(), "file": str(result.path), "sha256": result.sha256}
            )
            return
        for line in export_lines(result):
            s.console.print(line, soft_wrap=True)


def import_lines(result: ImportResult, *, dry_run: bool) -> list[str]:
    verb = "would" if dry_run else "did"
    counts = ", ".join(
        f"{a} {result.count(a)}" for a in ("create", "update", "merge", "same", "refused")
    )
    lines = [f"import ({verb}): {counts}; {result.keys} keys in {result.pages} pages"]
    for action in ("create", "update", "merge") if dry_run else ():
        lines += [f"  {action} {key}" for key in result.actions.get(action, [])[:SHOWN]]
    lines += [f"  refused {key}: {why}" for key, why in list(result.reasons.items())[:SHOWN]]
    return lines


def run_import(
    s: wiring.Session,
    archive: Path,
    *,
    dry_run: bool,
    overwrite: bool,
    console: Console,
    via: str | None,
    break_lock: bool = False,
) -> ImportResult:
    # A dry run writes nothing, so it takes no lock and may run beside a deployment.
    held = contextlib.nullcontext() if dry_run else wiring.env_lock(s, break_lock=break_lock)
    with held, spinner(console, f"importing {archive} into {s.config.name}") as progress:
        result = transfer(s, via, progress).import_(archive, dry_run=dry_run, overwrite=overwrite)
    for line in import_lines(result, dry_run=dry_run):
        console.print(line, soft_wrap=True)
    if result.count("refused") and not dry_run:
        raise RefusedError(
            f"{result.count('refused')} keys in {s.config.name} differ and are not older than "
            "the archive; they were left as they are"
        ).with_hint("check them with `data verify`, then rerun with --overwrite to replace them")
    return result


def import_(
    archive: ArchiveArg,
    env: EnvOption = None,
    config: ConfigOption = None,
    target: TargetOption = None,
    dry_run: DryRunOption = False,
    overwrite: OverwriteOption = False,
    via: ViaOption = None,
    break_lock: BreakLockOption = False,
    json_output: JsonOption = False,
) -> None:
    """Import an archive: each entry with its index in one transaction; idempotent.

    Holds the environment's lock while it writes (a run of up, down or rotate-token holding it
    → exit 11); --dry-run takes none.
    Example: mathvisuals data import --env staging prod.jsonl.gz --dry-run
    """
    from mathvisuals.model.archive import read_archive

    read_archive(archive)  # refuse a damaged file before the sandbox or AWS is touched
    with wiring.session(env, config, target) as s:
        console = Console(file=s.console.file, quiet=json_output)
        result = run_import(
            s,
            archive,
            dry_run=dry_run,
            overwrite=overwrite,
            console=console,
            via=via,
            break_lock=break_lock,
        )
        if json_output:
            render.emit_json(
                {"dry_run": dry_run, "actions": result.actions, "reasons": result.reasons}
            )


def diff_lines(diffs: dict[str, AreaDiff]) -> list[str]:
    lines = []
    for area, d in diffs.items():
        lines.append(
            f"{area}: {d.same} same, {len(d.missing)} missing, {len(d.differs)} differ, "
            f"{len(d.extra)} extra"
        )
        for label, keys in (("missing", d.missing), ("differs", d.differs), ("extra", d.extra)):
            lines += [f"  {label} {key}" for key in keys[:SHOWN]]
            if len(keys) > SHOWN:
                lines.append(f"  … {len(keys) - SHOWN} more {label} (--json lists all)")
    return lines


def run_verify(
    s: wiring.Session, archive: Path, console: Console, via: str | None
) -> dict[str, AreaDiff]:
    with console.status(f"comparing {s.config.name} with {archive}"):
        diffs = transfer(s, via).verify(archive)
    for line in diff_lines(diffs):
        console.print(line, soft_wrap=True)
    return diffs


def verify(
    archive: ArchiveArg,
    env: EnvOption = None,
    config: ConfigOption = None,
    target: TargetOption = None,
    via: ViaOption = None,
    json_output: JsonOption = False,
) -> None:
    """Say what differs between an environment and an archive, per area and per key (exit 8).

    Example: mathvisuals data verify --env staging prod.jsonl.gz
    """
    from mathvisuals.model.archive import read_archive

    read_archive(archive)
    with wiring.session(env, config, target) as s:
        console = Console(file=s.console.file, quiet=json_output)
        diffs = run_verify(s, archive, console, via)
        if json_output:
            render.emit_json({area: d.__dict__ for area, d in diffs.items()})
        _raise_if_different(s.config.name, diffs)


def _raise_if_different(env: str, diffs: dict[str, AreaDiff]) -> None:
    bad = [area for area, d in diffs.items() if not d.ok]
    if bad:
        raise VerificationError(f"{env} differs from the archive in {', '.join(bad)}").with_hint(
            "import the archive (`data import`, --overwrite to replace newer keys)"
        )


def copy(
    from_env: Annotated[str, typer.Option("--from-env", help="Environment to export from.")],
    to_env: Annotated[str, typer.Option("--to-env", help="Environment to import into.")],
    target: TargetOption = None,
    out: OutOption = None,
    dry_run: DryRunOption = False,
    overwrite: OverwriteOption = False,
    via: ViaOption = None,
    break_lock: BreakLockOption = False,
    json_output: JsonOption = False,
) -> None:
    """Export one environment, import the archive into another, then verify it.

    The import holds the target environment's lock (exit 11 while another run holds it).

    Example: mathvisuals data copy --from-env prod --to-env staging --out prod.jsonl.gz
    """
    with wiring.session(from_env, None, target) as s:
        result = run_export(s, out, via)
        if not json_output:
            for line in export_lines(result):
                s.console.print(line, soft_wrap=True)
    with wiring.session(to_env, None, target) as s:
        console = Console(file=s.console.file, quiet=json_output)
        run_import(
            s,
            result.path,
            dry_run=dry_run,
            overwrite=overwrite,
            console=console,
            via=via,
            break_lock=break_lock,
        )
        if not dry_run:
            _raise_if_different(to_env, run_verify(s, result.path, console, via))
    if json_output:
        render.emit_json(
            {
                "from_env": from_env,
                "to_env": to_env,
                "file": str(result.path),
                "sha256": result.sha256,
                "dry_run": dry_run,
                "verified": not dry_run,
            }
        )


def api_origin(s: wiring.Session) -> str:
    from mathvisuals.deploy.errors import VerificationError

    endpoint = s.gateways.cloudformation.describe(s.config.stacks.api).outputs.get("ApiEndpoint")
    if not endpoint:
        raise VerificationError(f"{s.config.stacks.api} has no ApiEndpoint output").with_hint(
            f"run `mathvisuals up --env {s.config.name}` first"
        )
    if s.profile.emulated:
        endpoint = wiring.emulated_api_url(s.config, endpoint)
    return endpoint.rstrip("/")


def switch(
    from_env: Annotated[str, typer.Option("--from-env", help="The environment the site uses now.")],
    to_env: Annotated[str, typer.Option("--to-env", help="The environment it should use.")],
    target: TargetOption = None,
    site_url: Annotated[
        str | None,
        typer.Option("--site-url", help="A page or config file of the static site to check."),
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """Print the change of the static site's API origin (outside our stacks), then check it.

    Without --site-url it checks that the new API answers; with it, that the site names the
    new origin and no longer the old one (exit 8 until it does).
    Example: mathvisuals data switch --from-env prod --to-env prod-eu-west-1 --site-url https://…
    """
    with wiring.session(from_env, None, target) as s:
        old = api_origin(s)
    with wiring.session(to_env, None, target) as s:
        new = api_origin(s)
        console = Console(file=s.console.file, quiet=json_output)
        console.print(
            f"static site: change the API origin\n  from {old}\n  to   {new}", soft_wrap=True
        )
        site = site_text(site_url) if site_url else None
        problems = check_switch(old, new, site, wiring.http_client("GET"))
        if json_output:
            render.emit_json({"from_origin": old, "to_origin": new, "problems": problems})
        for problem in problems:
            console.print(f"  ✗ {problem}", soft_wrap=True)
        if problems:
            raise VerificationError(f"the switch to {to_env} is not complete").with_hint(
                "make the change above in the static site, then run this again"
            )
        console.print("  ✓ checked", soft_wrap=True)


def site_text(site_url: str) -> str:
    """The static site's page or config file, or an error line in place of it."""
    import httpx2

    try:
        return httpx2.get(site_url, timeout=10, follow_redirects=True).text
    except httpx2.HTTPError as exc:
        return f"(GET {site_url} failed: {type(exc).__name__})"


def check_switch(
    old: str, new: str, site: str | None, http_get: Callable[[str, dict[str, str]], Any]
) -> list[str]:
    """What is left to do: the new API must answer in kv mode, the site name it (not ``old``)."""
    import httpx2

    problems: list[str] = []
    try:
        status, _, body = http_get(f"{new}/api/health", {"Accept": "application/json"})
        if status != 200 or not isinstance(body, dict) or body.get("mode") != "kv":
            problems.append(f"GET {new}/api/health: {status}, not kv")
    except (OSError, httpx2.HTTPError) as exc:
        problems.append(f"GET {new}/api/health failed ({type(exc).__name__})")
    if site is None:
        return problems
    if new not in site:
        problems.append(f"the static site does not name {new}")
    if old != new and old in site:
        problems.append(f"the static site still names {old}")
    return problems


COMMANDS: dict[str, Callable[..., Any]] = {
    "export": export,
    "import": import_,
    "verify": verify,
    "copy": copy,
    "switch": switch,
}


def build(boundary: Callable[..., Any], command_class: type[Any]) -> typer.Typer:
    """The ``data`` sub-app, each command behind the CLI's one error boundary."""
    data_app = typer.Typer(
        help="Export, import, verify and copy an environment's Redis data.", no_args_is_help=True
    )
    for name, command in COMMANDS.items():
        data_app.command(name, cls=command_class)(boundary(command, f"data {name}"))
    return data_app
