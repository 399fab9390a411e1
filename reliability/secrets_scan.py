"""Secrets: the whole sandbox workflow, two rotations included, with everything it prints or
writes captured and searched for every token it ever used (current, previous and the one before,
raw and URL-encoded). Refused rotations (a token breaking the ElastiCache rules, a missing token
file) must change nothing and echo nothing.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, quote_plus

import httpx2

from mathvisuals.deploy.aws import connect
from reliability.orchestrator_faults import Environment
from reliability.processes import Completed
from reliability.result import Row, timed

REGION = "eu-north-1"
SECRET = "math-visuals/local/redis/auth"
FUNCTION_LOG_GROUP = "/aws/lambda/math-visuals-api-local"
# Files that must hold the token, and why they are not outputs: the harness's secret store
# (0600, how the sandbox hands the token to the stand-in) and the stand-in's own redis.conf
# (its requirepass; 0600, deleted by down). Everything else under the state folder is scanned.
EXEMPT = {
    "token": "the sandbox's token file (0600): the local stand-in for the secret store",
    "sandbox/redis/redis.conf": "redis-server's requirepass (0600), removed by down",
}
BAD_TOKEN = "Rotation-token-with-@-0123456789"


@dataclass
class Artefact:
    name: str
    text: str


@dataclass
class SecretsReport:
    commands: list[str] = field(default_factory=list)
    artefacts: list[Artefact] = field(default_factory=list)
    tokens: list[str] = field(default_factory=list)
    exempt_found: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def scanned_bytes(self) -> int:
        return sum(len(a.text.encode("utf-8", "replace")) for a in self.artefacts)


SPELLINGS = ("raw", "URL-encoded", "URL-encoded keeping '/'", "form-encoded", "base64")


def forms(token: str) -> set[str]:
    """Every spelling of ``SPELLINGS``: the issue's raw and URL-encoded ones, and base64."""
    return {
        token,
        quote(token, safe=""),
        quote(token),
        quote_plus(token),
        base64.b64encode(token.encode()).decode(),
    }


def _files(root: Path, label: str) -> list[Artefact]:
    found: list[Artefact] = []
    for path in sorted(root.rglob("*")):
        if path.is_file() and path.suffix not in (".zip", ".pyc", ".whl"):
            name = f"{label}:{path.relative_to(root)}"
            found.append(Artefact(name, path.read_bytes().decode("utf-8", "replace")))
    return found


class Workflow:
    def __init__(self, work: Path) -> None:
        self.environment = Environment(work / "secrets")
        self.root = self.environment.root
        with self.environment.config.open("a", encoding="utf-8") as config:
            config.write('\n[github]\nrepository = "example/math-visuals"\n')
        self.report = SecretsReport()

    def token(self) -> str:
        return (self.root / "state" / "token").read_text(encoding="utf-8")

    def remember_token(self) -> None:
        token = self.token()
        if token not in self.report.tokens:
            self.report.tokens.append(token)

    def run(self, command: str, *extra: str, expect: int = 0, env: dict[str, str] | None = None
            ) -> Completed:  # fmt: skip
        environment = self.environment
        saved = environment.env
        if env:
            environment.env = {**saved, **env}
        try:
            done = environment.run(command, *extra)
        finally:
            environment.env = saved
        label = " ".join((command, *extra))
        self.report.commands.append(label)
        self.report.artefacts += [
            Artefact(f"stdout of {label}", done.stdout),
            Artefact(f"stderr of {label}", done.stderr),
        ]
        if done.returncode != expect:
            tail = (done.stderr.strip().splitlines() or ["?"])[-1]
            self.report.problems.append(
                f"{label}: exit {done.returncode}, expected {expect}: {tail}"
            )
        return done

    def endpoint(self) -> str:
        record = json.loads((self.root / "state" / "sandbox.json").read_text(encoding="utf-8"))
        return f"http://127.0.0.1:{record['ministack_port']}"

    def aws_view(self) -> None:
        """What the emulated account holds that a person could print: logs, versions."""
        gateways = connect(REGION, endpoint_url=self.endpoint(), credentials=("test", "test"))
        messages = gateways.logs.messages(FUNCTION_LOG_GROUP, 0)
        self.report.artefacts.append(
            Artefact("CloudWatch logs of the function", "\n".join(messages))
        )
        info = gateways.secrets.describe(SECRET)
        assert info is not None
        for version in (info.current_version, info.previous_version):
            if version:
                token = gateways.secrets.value(SECRET, version).reveal()
                if token not in self.report.tokens:
                    self.report.tokens.append(token)

    def traffic(self, api: str) -> None:
        """Round trips through the emulated HTTP API; every response is an output too."""
        with httpx2.Client(base_url=api, timeout=20) as http:
            for method, url, body in (
                ("GET", "/api/health", None),
                ("PUT", "/api/examples?path=/secrets/check",
                 {"examples": [{"t": 1}], "deletedProvided": []}),
                ("GET", "/api/examples?path=/secrets/check", None),
                ("GET", "/api/examples/trash", None),
                ("GET", "/api/settings", None),
                ("GET", "/api/nowhere", None),
            ):  # fmt: skip
                response = http.request(method, url, json=body)
                headers = "\n".join(f"{k}: {v}" for k, v in response.headers.items())
                self.report.artefacts.append(
                    Artefact(
                        f"HTTP {method} {url}",
                        f"{response.status_code}\n{headers}\n{response.text}",
                    )
                )

    def secret_version(self) -> str | None:
        gateways = connect(REGION, endpoint_url=self.endpoint(), credentials=("test", "test"))
        info = gateways.secrets.describe(SECRET)
        return info.current_version if info else None

    def refused_rotation(self, name: str, token_file: Path, expect: int) -> None:
        before, token = self.secret_version(), self.token()
        done = self.run(
            "rotate-token", expect=expect, env={"MATHVISUALS_TOKEN_FILE": str(token_file)}
        )
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        if len(lines) != 1 or "Traceback" in done.stderr:
            self.report.problems.append(f"rotate-token with {name}: {len(lines)} lines, not one")
        if self.secret_version() != before or self.token() != token:
            self.report.problems.append(f"rotate-token with {name}: changed the secret or token")
        if BAD_TOKEN in done.stdout + done.stderr:
            self.report.problems.append(f"rotate-token with {name}: echoed the refused token")


def run_workflow(work: Path) -> SecretsReport:
    flow = Workflow(work)
    report = flow.report
    try:
        up = flow.run("up", "--json")
        flow.remember_token()
        api = json.loads(up.stdout or "{}").get("api_endpoint")
        if api:
            flow.traffic(api)
        flow.run("up")
        flow.run("plan")
        flow.run("plan", "--json")
        flow.run("verify", "--json")
        flow.run("status", "--show-values")
        bad = flow.root / "bad-token"
        bad.write_text(BAD_TOKEN, encoding="utf-8")
        flow.refused_rotation("a token breaking the rules", bad, expect=4)
        flow.refused_rotation("a missing token file", flow.root / "no-such-token", expect=4)
        for extra in (("--json",), ()):
            flow.run("rotate-token", *extra)
            flow.remember_token()
        flow.run("up", "--json")
        flow.run("status", "--verify", "--json")
        flow.run("github-secrets", "--dry-run")
        if api:
            flow.traffic(api)
        flow.aws_view()
        report.artefacts += _files(flow.root / "state", "state (running)")
    finally:
        flow.run("down", "--json")
    report.artefacts += _files(flow.root / "state", "state (after down)")
    report.artefacts += _files(flow.root / "status", "status report")
    if len(report.tokens) < 3:
        report.problems.append(f"only {len(report.tokens)} tokens seen; two rotations expected 3")
    scan(report)
    return report


def scan(report: SecretsReport) -> None:
    for token in report.tokens:
        for form in forms(token):
            for artefact in report.artefacts:
                if form not in artefact.text:
                    continue
                label, _, relative = artefact.name.partition(":")
                if label.startswith("state") and relative in EXEMPT:
                    report.exempt_found.append(artefact.name)
                else:
                    count = artefact.text.count(form)
                    report.problems.append(f"a token appears {count}× in {artefact.name}")


def row(work: Path) -> Row:
    result = Row("Secrets: nothing leaks (sandbox workflow with rotation)")
    with timed(result):
        report = run_workflow(work)
    megabytes = report.scanned_bytes / 1_000_000
    result.size = (
        f"{len(report.commands)} CLI runs (up, plan, verify, status, 2 rotations, 2 refused "
        f"rotations, github-secrets, down), {len(report.artefacts):,} outputs and files "
        f"({megabytes:.1f} MB) searched for {len(report.tokens)} tokens × "
        f"{len(SPELLINGS)} spellings"
    )
    result.faults = "2 rotations refused on purpose (bad token, missing token file)"
    result.problems = report.problems
    exempt = sorted({name.partition(":")[2] for name in report.exempt_found})
    leaks = [problem for problem in report.problems if "appears" in problem]
    result.details = [
        f"token occurrences outside the files below: {len(leaks)}",
        "searched: stdout and stderr of every command, the state folder while running and after "
        "down (logs of ministack and redis-server, Lambda workdirs, lock, artefacts), the status "
        "report (.md and .json), the function's CloudWatch logs, HTTP responses (headers and "
        "bodies) through the emulated API",
        "spellings: " + ", ".join(SPELLINGS),
        "files that hold a token by design and were not counted: "
        + "; ".join(f"`{name}` ({EXEMPT[name]})" for name in exempt),
    ]
    return result
