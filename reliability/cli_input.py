"""CLI bad input: broken config files, missing credentials, an unreachable endpoint and tokens that
break the ElastiCache rules, each run as a real ``python -m mathvisuals`` process.

Each must end with one ``error:`` line naming the problem (``check`` prints one line per
finding and a summary), the exit code of deploy.md §5.18, no traceback, nothing on stdout and
no file written or changed anywhere the CLI writes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from mathvisuals.sandbox.redis_server import LOOPBACK, free_port
from reliability.processes import REPO, Completed, child_env, run_cli
from reliability.result import Row, timed

LOCAL = REPO / "infra" / "environments" / "local.toml"
BAD_CHARS = "Token-with-an-at-sign@-0123456789"  # '@' is outside [A-Za-z0-9!&#$^<>-]
SHORT = "Short-token-15c"  # 15 characters, one under the minimum


@dataclass(frozen=True)
class CliCase:
    name: str
    args: tuple[str, ...]
    exit_code: int
    needle: str  # what the error line must name
    files: dict[str, bytes] = field(default_factory=dict)  # written under the work dir first
    env: dict[str, str] = field(default_factory=dict)  # "{work}" is replaced by the work dir
    lines: int = 1  # stderr lines: 1, or findings + summary for check
    slow: bool = False
    usage: bool = False  # a usage error: click's own message box, exit 2


def _local(edit: Callable[[str], str]) -> bytes:
    return edit(LOCAL.read_text(encoding="utf-8")).encode()


def _closed_port() -> int:
    return free_port()  # nothing listens there once the probe socket is closed


def cases() -> list[CliCase]:
    no_aws = {
        "AWS_SHARED_CREDENTIALS_FILE": "{work}/empty-credentials",
        "AWS_CONFIG_FILE": "{work}/empty-config",
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    return [
        CliCase("malformed TOML (check)", ("check", "--config", "{work}/bad.toml"), 3,
                "not valid TOML", {"bad.toml": b"[env\nname = 'x'\n"}),
        CliCase("malformed TOML (up)", ("up", "--config", "{work}/bad.toml"), 3,
                "not valid TOML", {"bad.toml": b"[env]\nname = \n"}, no_aws),
        CliCase("unknown key", ("check", "--config", "{work}/c.toml"), 3,
                "redis.nodetype: unknown key",
                {"c.toml": _local(lambda t: t.replace("[redis]\n", "[redis]\nnodetype = 'x'\n"))}),
        CliCase("unknown section", ("up", "--config", "{work}/c.toml"), 3, "redsi: unknown key",
                {"c.toml": _local(lambda t: t + "\n[redsi]\nx = 1\n")}, no_aws),
        CliCase("wrong type: text for a number", ("check", "--config", "{work}/c.toml"), 3,
                "redis.token_length",
                {"c.toml": _local(lambda t: t.replace("= 48", '= "forty"'))}),
        CliCase("wrong type: text for a list", ("check", "--config", "{work}/c.toml"), 3,
                "cors.allowed_origins",
                {"c.toml": _local(lambda t: t.replace(
                    'allowed_origins = ["http://localhost:5173", "http://127.0.0.1:5173"]',
                    'allowed_origins = "http://localhost:5173"'))}),
        CliCase("wrong type: number for text", ("check", "--config", "{work}/c.toml"), 3,
                "env.account_id",
                {"c.toml": _local(lambda t: t.replace('"000000000000"', "0"))}),
        CliCase("missing required key", ("check", "--config", "{work}/c.toml"), 3,
                "env.account_id: required key is missing",
                {"c.toml": _local(lambda t: t.replace('account_id = "000000000000"\n', ""))}),
        CliCase("empty file", ("check", "--config", "{work}/c.toml"), 3, "required key is missing",
                {"c.toml": b""}),
        CliCase("config file missing", ("up", "--config", "{work}/none.toml"), 3, "file not found",
                env=no_aws),
        CliCase("config file not UTF-8", ("check", "--config", "{work}/c.toml"), 3, "c.toml",
                {"c.toml": b"\xff\xfe[env]\n"}),
        CliCase("neither --env nor --config", ("up",), 2, "no environment given", env=no_aws),
        CliCase("both --env and --config", ("plan", "--env", "prod", "--config", "{work}/c.toml"),
                2, "--env and --config both given", {"c.toml": _local(lambda t: t)}, no_aws),
        CliCase("unknown --env", ("up", "--env", "staging"), 2, "has local, prod", env=no_aws),
        CliCase("an AWS environment on the sandbox", ("plan", "--env", "prod", "--target",
                "local"), 2, "env.target is aws", env=no_aws),
        CliCase("misspelt key", ("check", "--config", "{work}/c.toml"), 3,
                "did you mean stage_name?",
                {"c.toml": _local(lambda t: t.replace("stage_name", "stage_nmae"))}),
        CliCase("unreadable plan file", ("up", "--env", "local", "--target", "local", "--plan",
                "{work}/plan.json"), 2, "is not JSON", {"plan.json": b"{"}, no_aws),
        CliCase("unknown --target", ("up", "--env", "prod", "--target", "moon"), 2, "moon",
                env=no_aws, usage=True),
        CliCase("unknown option", ("up", "--env", "prod", "--colour"), 2, "--colour",
                env=no_aws, usage=True),
        CliCase("region contradicts the file", ("up", "--env", "prod"), 3, "env.region",
                env={**no_aws, "AWS_REGION": "us-east-1"}),
        CliCase("missing credentials", ("up", "--env", "prod"), 5, "no usable AWS credentials",
                env=no_aws),
        CliCase("missing credentials (plan)", ("plan", "--env", "prod"), 5,
                "no usable AWS credentials", env=no_aws),
        CliCase("unreachable endpoint", ("up", "--env", "prod", "--yes"), 5, "cannot connect to",
                env={**no_aws, "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE",
                     "AWS_SECRET_ACCESS_KEY": "x" * 20,
                     "AWS_ENDPOINT_URL": f"http://{LOOPBACK}:{{port}}"}, slow=True),
        CliCase("token with a character ElastiCache refuses", ("check", "--env", "prod"), 4,
                "characters outside", {"token": BAD_CHARS.encode()},
                {"MATHVISUALS_TOKEN_FILE": "{work}/token"}, lines=2),
        CliCase("token too short", ("check", "--env", "prod"), 4, "16", {"token": SHORT.encode()},
                {"MATHVISUALS_TOKEN_FILE": "{work}/token"}, lines=2),
        CliCase("token with a trailing newline", ("check", "--env", "prod"), 4, "token",
                {"token": b"A-valid-looking-token-0123456789\n"},
                {"MATHVISUALS_TOKEN_FILE": "{work}/token"}, lines=2),
        CliCase("token file missing", ("check", "--env", "prod"), 4, "cannot read the token file",
                env={"MATHVISUALS_TOKEN_FILE": "{work}/no-token"}, lines=2),
    ]  # fmt: skip


def _tree(roots: list[Path]) -> dict[str, tuple[int, int]]:
    found: dict[str, tuple[int, int]] = {}
    for root in roots:
        if root.exists():
            for path in root.rglob("*"):
                if path.is_file():
                    stat = path.stat()
                    found[str(path)] = (stat.st_size, stat.st_mtime_ns)
    return found


def _watched(work: Path) -> list[Path]:
    return [work, REPO / "infra" / "status", REPO / ".mathvisuals" / "status",
            REPO / ".mathvisuals" / "locks", REPO / ".mathvisuals" / "artifacts"]  # fmt: skip


def prepare(case: CliCase, work: Path) -> tuple[tuple[str, ...], dict[str, str]]:
    work.mkdir(parents=True, exist_ok=True)
    for name in ("empty-credentials", "empty-config"):
        (work / name).touch()
    for name, content in case.files.items():
        (work / name).write_bytes(content)
    port = str(_closed_port())
    args = tuple(arg.replace("{work}", str(work)) for arg in case.args)
    env = {k: v.replace("{work}", str(work)).replace("{port}", port) for k, v in case.env.items()}
    env.setdefault("MATHVISUALS_STATE_DIR", str(work / "state"))
    return args, child_env(env)


def judge(case: CliCase, done: Completed, written: list[str]) -> list[str]:
    problems: list[str] = []
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    if done.returncode != case.exit_code:
        problems.append(f"exit {done.returncode}, expected {case.exit_code}")
    if "Traceback" in done.stderr + done.stdout:
        problems.append("printed a traceback")
    if case.usage:
        pass  # click prints usage, a hint and the error in a box, as for every usage error
    elif len(lines) != case.lines:
        problems.append(f"{len(lines)} lines on stderr, expected {case.lines}")
    if not case.usage and not any(line.startswith(("error:", "check failed:")) for line in lines):
        problems.append("no 'error:' line")
    if any(line.startswith("error: :") for line in lines):
        problems.append("the line starts with an empty location ('error: : …')")
    if case.needle not in done.stderr:
        problems.append(f"the message does not name {case.needle!r}")
    if done.stdout.strip():
        problems.append("wrote to stdout")
    if any(token in done.stdout + done.stderr for token in (BAD_CHARS, SHORT)):
        problems.append("echoed the token")
    problems += [f"wrote {path}" for path in written]
    return [f"{case.name}: {problem}" for problem in problems]


def run_case(case: CliCase, work: Path) -> tuple[Completed, list[str]]:
    args, env = prepare(case, work)
    before = _tree(_watched(work))
    done = run_cli(args, env, timeout=120)
    after = _tree(_watched(work))
    written = sorted(path for path in after if before.get(path) != after[path])
    return done, judge(case, done, written)


def run_all(
    work: Path, *, include_slow: bool = True
) -> Iterator[tuple[CliCase, Completed, list[str]]]:
    """Every case, four processes at a time (each has its own work folder)."""
    chosen = [case for case in cases() if include_slow or not case.slow]
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = [
            pool.submit(run_case, case, work / f"case-{number}")
            for number, case in enumerate(chosen)
        ]
        for case, future in zip(chosen, futures, strict=True):
            done, problems = future.result()
            yield case, done, problems


def row(work: Path, *, quick: bool) -> Row:
    result = Row("CLI bad input", faults="broken configs, no or unusable credentials, bad tokens")
    lines = ["", "| case | command | exit | stderr (first line) |", "|---|---|---|---|"]
    with timed(result):
        count = 0
        for case, done, problems in run_all(work / "cli", include_slow=not quick):
            count += 1
            result.problems += problems
            first = next((line for line in done.stderr.splitlines() if line.strip()), "")
            first = first.replace(str(work), "…").replace("|", "\\|")[:140]
            command = " ".join(case.args).replace("{work}/", "")
            mark = "" if not problems else " ✗"
            lines.append(f"| {case.name}{mark} | `{command}` | {done.returncode} | `{first}` |")
    result.size = f"{count} cases, each a `python -m mathvisuals` process"
    result.details = [
        "checked: the exit code of deploy.md §5.18, one `error:` line naming the problem "
        "(`check`: one line per finding plus its summary), no traceback, nothing on stdout, no "
        "token echoed, no file written or changed in the work, state or status folders",
        "unreachable endpoint: `up --env prod` (AWS target) with dummy keys and "
        "`AWS_ENDPOINT_URL` (honoured by boto3) on a closed loopback port; `--target local` "
        "would start its own emulator instead",
        "missing credentials: empty `AWS_SHARED_CREDENTIALS_FILE`/`AWS_CONFIG_FILE`, no AWS_* "
        "keys, `AWS_EC2_METADATA_DISABLED=true`",
        *lines,
    ]
    return result
