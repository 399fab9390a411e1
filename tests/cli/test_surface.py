"""The CLI's surface as an operator meets it: flags, help text, hints, usage errors, --json."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path
from typing import Any

import pytest
from typer.main import get_command
from typer.testing import CliRunner

from mathvisuals import __version__
from mathvisuals.cli import app
from mathvisuals.cli.root import COMMANDS, OFFLINE

PACKAGE = Path(__file__).resolve().parents[2] / "mathvisuals"
OPTION = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")


def commands() -> dict[str, Any]:
    """Every command, a group's (``data``) as ``"data export"`` and so on."""
    group: Any = get_command(app)
    found: dict[str, Any] = {}
    for name, command in group.commands.items():
        subcommands = getattr(command, "commands", None)
        if subcommands:
            found |= {f"{name} {sub}": each for sub, each in subcommands.items()}
        else:
            found[name] = command
    return found


def options_of(command: Any) -> set[str]:
    return {name for param in command.params for name in (*param.opts, *param.secondary_opts)}


def test_every_aws_command_takes_profile_and_region_and_every_command_verbose_and_debug() -> None:
    for name, command in commands().items():
        names = options_of(command)
        assert {"-v", "--verbose", "--debug"} <= names, name
        if name not in OFFLINE:
            assert {"--profile", "--region"} <= names, name
    root = options_of(get_command(app))
    assert {"--profile", "--region", "--verbose", "--debug", "--version"} <= root


def test_version() -> None:
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0 and result.stdout.strip() == f"mathvisuals {__version__}"


def test_no_flag_has_a_negative_twin_or_a_bool_metavar() -> None:
    for name, command in commands().items():
        for param in command.params:
            assert not param.secondary_opts, (name, param.opts, param.secondary_opts)
        shown = CliRunner().invoke(app, [*name.split(), "--help"], env={"COLUMNS": "60"}).stdout
        assert "<bool>" not in shown, name
        assert "[default: no-" not in shown, name


@pytest.mark.parametrize("name", [*COMMANDS, ""])
def test_help_has_one_example_and_never_breaks_a_word(name: str) -> None:
    args = [name, "--help"] if name else ["--help"]
    shown = CliRunner().invoke(app, args, env={"COLUMNS": "60"}).stdout
    examples = re.findall(r"Example: (mathvisuals [^\n]*)", shown)
    assert len(examples) == 1, shown
    assert name in examples[0]
    for line in shown.splitlines():
        # A wrapped line never ends inside a word or an option name (allow-\nlists, --include-\ndata).
        assert not re.search(r"\w-$", line.rstrip()), line


def message_options() -> dict[str, set[str]]:
    """Every --option named in a message (a string with a space) anywhere in the package."""
    found: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            # A message has a space; a bare "--platform" is another tool's argv (pip's).
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and " " in node.value:
                for option in OPTION.findall(node.value):
                    found.setdefault(option, set()).add(path.name)
    return found


def test_every_option_a_message_names_exists() -> None:
    parsers = [get_command(app), *commands().values()]
    known = set.union({"--help"}, *map(options_of, parsers))  # click adds --help itself
    named = message_options()
    assert "--profile" in named and "--allow-replace" in named  # the scan sees the hints
    missing = {option: sorted(files) for option, files in named.items() if option not in known}
    assert missing == {}


def test_the_credentials_hint_names_an_option_of_the_commands_it_is_printed_by() -> None:
    from mathvisuals.deploy.aws.base import CREDENTIALS_HINT

    for option in OPTION.findall(CREDENTIALS_HINT):
        for name, command in commands().items():
            if name not in OFFLINE:
                assert option in options_of(command), (name, option)


def one_error_line(result: Any) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert lines[0].startswith("error: ")
    return str(lines[0])


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["up"], "no environment given"),
        (["check"], "no environment given"),
        (["up", "--env", "prod", "--colour"], "--colour"),
        (["plan", "--env", "prod", "--target", "moon"], "moon"),
        (["nosuch"], "nosuch"),
    ],
)
def test_usage_errors_are_one_line_exit_2(args: list[str], needle: str) -> None:
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2
    assert needle in one_error_line(result)
    assert result.stdout == ""


@pytest.fixture
def no_credentials(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    import os

    for key in list(os.environ):
        if key.startswith(("AWS_", "MATHVISUALS_", "GITHUB_")):
            monkeypatch.delenv(key)
    for name in ("credentials", "config"):
        (tmp_path / name).touch()
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("MATHVISUALS_STATE_DIR", str(tmp_path / "state"))
    return tmp_path


def json_commands() -> list[tuple[str, list[str], int]]:
    """An error path of every command that has --json: (name, args, exit code)."""
    cases = [
        (name, [name, "--env", "prod", "--json"], 5) for name in COMMANDS if name not in OFFLINE
    ]
    cases.append(("check", ["check", "--config", "missing.toml", "--json"], 3))
    cases.append(("up", ["up", "--json"], 2))  # a usage error still prints its object
    cases.append(("plan", ["plan", "--env", "prod", "--json", "--colour"], 2))
    return cases


@pytest.mark.parametrize(("name", "args", "code"), json_commands())
def test_every_json_error_is_one_object_on_stdout(
    no_credentials: Path, name: str, args: list[str], code: int
) -> None:
    result = CliRunner().invoke(app, args)
    assert result.exit_code == code, result.stderr
    document = json.loads(result.stdout)  # exactly one object: json.loads refuses trailing data
    assert document["schema_version"] == 1 and document["command"] == name
    assert document["ok"] is False and document["error"]["exit_code"] == code
    assert document["error"]["message"]
    one_error_line(result)


def test_every_command_but_serve_has_json() -> None:
    for name, command in commands().items():
        assert ("--json" in options_of(command)) is (name != "serve"), name


def test_region_flag_must_agree_with_the_file(no_credentials: Path) -> None:
    result = CliRunner().invoke(app, ["plan", "--env", "prod", "--region", "us-east-1"])
    assert result.exit_code == 3
    assert "--region says us-east-1" in one_error_line(result)


def test_root_options_apply_to_the_command(no_credentials: Path) -> None:
    (no_credentials / "config").write_text("[profile deployer]\nregion = eu-north-1\n")
    result = CliRunner().invoke(app, ["--profile", "ghost", "plan", "--env", "prod"])
    assert result.exit_code == 5
    assert "profile 'ghost' does not exist (known profiles: deployer)" in one_error_line(result)


def test_debug_shows_the_traceback_and_the_default_never_does(no_credentials: Path) -> None:
    quiet = CliRunner().invoke(app, ["plan", "--env", "prod"])
    assert quiet.exit_code == 5 and "Traceback" not in quiet.stderr
    loud = CliRunner().invoke(app, ["plan", "--env", "prod", "--debug"])
    assert loud.exit_code == 5 and "Traceback (most recent call last)" in loud.stderr
    assert loud.stderr.strip().splitlines()[-1].startswith("error: no usable AWS credentials")
