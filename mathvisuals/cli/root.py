"""The ``mathvisuals`` Typer app: every command registered behind one error boundary.

The boundary adds the shared options (``--profile``/``--region`` on AWS commands, ``-v`` and
``--debug`` on all) and owns the ``--json`` envelope; :class:`Group` turns click's usage errors
into one line (and one JSON object with ``--json``), exit 2.
"""

from __future__ import annotations

import functools
import inspect
import logging
import sys
import traceback
from collections.abc import Callable, Sequence
from typing import Annotated, Any, TypeVar

import typer
from typer._click.exceptions import NoArgsIsHelpError
from typer._click.formatting import HelpFormatter
from typer.core import TyperCommand, TyperGroup

from mathvisuals import __version__
from mathvisuals.cli import (
    adopt,
    bootstrap,
    check,
    data,
    down,
    github_secrets,
    logs,
    options,
    outputs,
    package,
    plan,
    render,
    rotate_token,
    serve,
    status,
    up,
    verify,
    workdir,
)
from mathvisuals.errors import MathVisualsError

F = TypeVar("F", bound=Callable[..., Any])


_NO_BREAK = "\u2011"  # a non-breaking hyphen: the wrapper never splits --include-data


class Formatter(HelpFormatter):
    """click's help text, rewrapped without breaking words at their hyphens."""

    def _unbroken(self, write: Callable[[], None]) -> None:
        start = len(self.buffer)
        write()
        self.buffer[start:] = [part.replace(_NO_BREAK, "-") for part in self.buffer[start:]]

    def write_text(self, text: str) -> None:
        self._unbroken(lambda: super(Formatter, self).write_text(text.replace("-", _NO_BREAK)))

    def write_dl(
        self, rows: Sequence[tuple[str, str]], col_max: int = 30, col_spacing: int = 2
    ) -> None:
        kept = [(first, second.replace("-", _NO_BREAK)) for first, second in rows]
        self._unbroken(lambda: super(Formatter, self).write_dl(kept, col_max, col_spacing))


class Context(typer.Context):
    formatter_class = Formatter


class Command(TyperCommand):
    context_class = Context


class Group(TyperGroup):
    """Usage errors (unknown option, bad value, missing --env) as one line, exit 2."""

    context_class = Context

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        argv = list(sys.argv[1:] if args is None else args)
        try:
            code = super().main(argv, prog_name, complete_var, False, windows_expand_args, **extra)
        except NoArgsIsHelpError as exc:
            exc.show()
            code = 0
        except typer.TyperException as exc:  # click's UsageError, BadParameter, NoSuchOption
            code = exc.exit_code
            usage(exc, argv)
        except typer.Abort:
            render.error_line("aborted")
            code = 1
        code = code if isinstance(code, int) else 0
        if standalone_mode:
            sys.exit(code)
        return code


def usage(exc: typer.TyperException, argv: list[str]) -> None:
    ctx = getattr(exc, "ctx", None)
    where = ctx.command_path if ctx is not None else "mathvisuals"
    hint = f"see {where} --help"
    render.error_line(exc.format_message(), hint)
    if "--json" in argv:
        command = next((arg for arg in argv if arg in COMMANDS), "")
        render.print_json(
            render.envelope(
                command, None, render.failure(exc.exit_code, exc.format_message(), hint)
            )
        )


app = typer.Typer(
    cls=Group,
    help=(
        "Math Visuals storage API and the tooling that provisions its Redis data plane.\n\n"
        "The deployment workflow, per environment file infra/environments/<env>.toml: "
        "check (offline) → plan (read-only) → up (artefact, auth secret, shared stack, "
        "allow-lists, data stack, api stack, then verify and the status report) → status / "
        "verify any time → rotate-token → github-secrets → down. "
        "--target local runs the same workflow against the local sandbox "
        "(ministack + a TLS redis-server); serve runs the API alone.\n\n"
        "Example: mathvisuals plan --env prod"
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # click's plain help: wrapped paragraphs, no type columns
)

# Commands that never talk to AWS get no --profile/--region.
OFFLINE = frozenset({"serve", "check", "package"})


def _with_extras(run: Callable[..., Any], command: Callable[..., Any], aws: bool) -> None:
    """Declare the shared options on the wrapper, after the command's own."""
    signature = inspect.signature(command, eval_str=True)
    extras = {**(options.AWS_EXTRAS if aws else {}), **options.EVERY_EXTRAS}
    added = [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=kind)
        for name, (kind, default) in extras.items()
        if name not in signature.parameters
    ]
    run.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=[*signature.parameters.values(), *added]
    )


def boundary(command: F, name: str = "", *, aws: bool = True) -> F:
    """The one error boundary: any ``MathVisualsError`` (deploy, sandbox, settings, store)
    becomes one scrubbed ``error: …`` line on stderr and its class's exit code (with ``--json``
    also the envelope's ``error``). Anything else is a bug and keeps its traceback (exit 1)."""
    extra_names = [*options.AWS_EXTRAS, *options.EVERY_EXTRAS]
    own = set(inspect.signature(command).parameters)

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        given = {key: kwargs.pop(key) for key in extra_names if key in kwargs and key not in own}
        as_json = bool(kwargs.get("json_output"))
        with options.running(name or command.__name__, as_json, given) as opts:
            _logging(opts)
            if as_json:
                render.begin_json(opts.command)
            code, printed = 0, as_json
            try:
                command(*args, **kwargs)
            except MathVisualsError as exc:
                if opts.debug:
                    traceback.print_exc(file=sys.stderr)
                render.error(exc)
                render.fail_json(exc.exit_code, str(exc), exc.hint)
                code = exc.exit_code
            except typer.Exit as exc:
                code = exc.exit_code
                if code:
                    render.fail_json(code)
            except KeyboardInterrupt:
                render.error_line("interrupted")
                render.fail_json(130)
                code = 130
            except typer.TyperException:
                printed = False  # a usage error: Group prints it (and its JSON)
                raise
            except Exception as exc:
                render.fail_json(
                    1, f"internal error: {type(exc).__name__} (a bug; rerun with --debug)"
                )
                raise
            finally:
                if printed:
                    render.end_json()
        if code:
            raise typer.Exit(code)

    _with_extras(run, command, aws)
    return run  # type: ignore[return-value]


def _logging(opts: options.RunOptions) -> None:
    """-v: our INFO lines (retries, waits); --debug: DEBUG. botocore stays quiet: its debug
    log prints request bodies, secrets included."""
    if not (opts.verbose or opts.debug):
        return
    logger = logging.getLogger("mathvisuals")
    logger.setLevel(logging.DEBUG if opts.debug else logging.INFO)
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        logger.addHandler(handler)


COMMANDS: dict[str, Callable[..., None]] = {
    "serve": serve.serve,
    "check": check.check,
    "bootstrap": bootstrap.bootstrap,
    "plan": plan.plan,
    "adopt": adopt.adopt,
    "up": up.up,
    "verify": verify.verify,
    "status": status.status,
    "outputs": outputs.outputs,
    "logs": logs.logs,
    "rotate-token": rotate_token.rotate_token,
    "github-secrets": github_secrets.github_secrets,
    "down": down.down,
    "package": package.package,
}
for _name, _command in COMMANDS.items():
    app.command(_name, cls=Command)(boundary(_command, _name, aws=_name not in OFFLINE))
app.add_typer(data.build(boundary, Command), name="data")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"mathvisuals {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    profile: options.ProfileOption = None,
    region: options.RegionOption = None,
    verbose: options.VerboseOption = False,
    debug: options.DebugOption = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version", is_eager=True, callback=_version, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Math Visuals storage API and deployment tooling.

    The options here apply to the command that follows; each command accepts them too.
    """
    workdir.enter()  # from any directory of the checkout, like git
    options.set_root(profile=profile, region=region, verbose=verbose, debug=debug)


def main() -> None:
    app()
