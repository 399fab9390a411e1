"""Networks that stall or lie, and AWS setups that cannot work: the real CLI, loopback servers.

Each case runs the CLI (in process with Typer's runner; the stall as a real
``python -m mathvisuals`` process) and must end with exit 5 and one ``error:`` line naming the
cause: no traceback, nothing on stdout (or one JSON object with ``--json``).
"""

from __future__ import annotations

import json
import os
import socket
import threading
from collections.abc import Callable, Iterator, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mathvisuals.cli import app
from reliability.processes import Completed, child_env, run_cli

Run = Callable[[list[str], Mapping[str, str]], Completed]

HTML = b"<!DOCTYPE html><html><body><h1>Access denied by proxy</h1></body></html>"


def no_aws(work: Path, **extra: str) -> dict[str, str]:
    """Credentials that sign requests, no config file of this machine, loopback only."""
    return child_env(aws_env(work, **extra))


def aws_env(work: Path, **extra: str) -> dict[str, str]:
    for name in ("empty-credentials", "empty-config"):
        (work / name).touch()
    base = {
        "AWS_SHARED_CREDENTIALS_FILE": str(work / "empty-credentials"),
        "AWS_CONFIG_FILE": str(work / "empty-config"),
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE",
        "AWS_SECRET_ACCESS_KEY": "x" * 40,
        "MATHVISUALS_STATE_DIR": str(work / "state"),
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",  # discard: never reached by these cases
    }
    return {**base, **extra}


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch) -> Run:
    """The CLI in this process, with exactly ``env``'s AWS and state variables."""

    def invoke(args: list[str], env: Mapping[str, str]) -> Completed:
        for key in list(os.environ):
            if key.startswith(("AWS_", "MATHVISUALS_")):
                monkeypatch.delenv(key)
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        result = CliRunner().invoke(app, args)
        assert result.exception is None or isinstance(result.exception, SystemExit)
        return Completed(tuple(args), result.exit_code, result.stdout, result.stderr, 0.0)

    return invoke


def one_line(done: Completed, needle: str, code: int = 5) -> str:
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode == code, done.stderr[-2000:]
    assert "Traceback" not in done.stderr + done.stdout
    assert len(lines) == 1, lines
    assert lines[0].startswith("error: ") and needle in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def stalled() -> Iterator[str]:
    """Accepts every connection and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                held.append(server.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    server.close()
    for connection in held:
        connection.close()


def html_server(status: int) -> Iterator[str]:
    class Page(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self.send_response(status)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(HTML)))
            self.end_headers()
            self.wfile.write(HTML)

        do_GET = do_POST

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def proxy_page() -> Iterator[str]:
    """A proxy's login page: HTTP 200, HTML."""
    yield from html_server(200)


@pytest.fixture
def proxy_denial() -> Iterator[str]:
    """A proxy's refusal: HTTP 403, HTML (not AWS's AccessDenied)."""
    yield from html_server(403)


@pytest.mark.slow
def test_an_endpoint_that_never_answers_is_exit_5_in_one_line(tmp_path: Path, stalled: str) -> None:
    done = run_cli(
        ["plan", "--env", "prod"], no_aws(tmp_path, AWS_ENDPOINT_URL=stalled), timeout=60
    )
    one_line(done, "GetCallerIdentity: no answer from")


@pytest.mark.parametrize("server", ["proxy_page", "proxy_denial"])
def test_an_html_answer_is_not_taken_for_aws(
    tmp_path: Path, server: str, request: pytest.FixtureRequest, cli: Run
) -> None:
    url = request.getfixturevalue(server)
    done = cli(["plan", "--env", "prod"], aws_env(tmp_path, AWS_ENDPOINT_URL=url))
    line = one_line(done, "with an HTML page, not an AWS response")
    assert "not allowed" not in line  # a proxy's 403 is not an IAM denial


def test_status_is_not_exit_0_when_it_cannot_read_the_live_state(
    tmp_path: Path, proxy_page: str, cli: Run
) -> None:
    done = cli(["status", "--env", "prod"], aws_env(tmp_path, AWS_ENDPOINT_URL=proxy_page))
    one_line(done, "HTML page")
    assert done.stdout == ""


@pytest.mark.parametrize("url", ["not a url", "http://[::1", "ftp:/nohost"])
def test_a_malformed_endpoint_url(tmp_path: Path, url: str, cli: Run) -> None:
    done = cli(["plan", "--env", "prod"], aws_env(tmp_path, AWS_ENDPOINT_URL=url))
    one_line(done, "is not a valid URL")


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (b"[default\naws_access_key_id = x\n", "cannot parse"),
        (b"\xff\xfe[default]\n", "cannot parse"),
    ],
)
def test_an_unreadable_credentials_file(
    tmp_path: Path, content: bytes, needle: str, cli: Run
) -> None:
    broken = tmp_path / "credentials"
    broken.write_bytes(content)
    env = aws_env(tmp_path, AWS_SHARED_CREDENTIALS_FILE=str(broken))
    del env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]
    done = cli(["plan", "--env", "prod"], env)
    one_line(done, needle)


def test_a_credentials_file_without_read_permission(tmp_path: Path, cli: Run) -> None:
    locked = tmp_path / "credentials"
    locked.write_text("[default]\naws_access_key_id = x\naws_secret_access_key = y\n")
    locked.chmod(0)
    try:
        with locked.open("rb"):
            pytest.skip("running as root: a file without permissions is still readable")
    except PermissionError:
        pass
    env = aws_env(tmp_path, AWS_SHARED_CREDENTIALS_FILE=str(locked))
    del env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]
    one_line(cli(["plan", "--env", "prod"], env), "cannot read")


def test_a_missing_ca_bundle(tmp_path: Path, stalled: str, cli: Run) -> None:
    https = stalled.replace("http://", "https://")  # never reached: the bundle is checked first
    env = aws_env(tmp_path, AWS_ENDPOINT_URL=https, AWS_CA_BUNDLE=str(tmp_path / "no-ca.pem"))
    one_line(cli(["plan", "--env", "prod"], env), "no-ca.pem does not exist")


@pytest.mark.parametrize("how", ["--profile", "AWS_PROFILE"])
def test_a_profile_that_does_not_exist(tmp_path: Path, how: str, cli: Run) -> None:
    (tmp_path / "config").write_text("[profile deployer]\nregion = eu-north-1\n")
    env = aws_env(tmp_path, AWS_CONFIG_FILE=str(tmp_path / "config"))
    args = ["plan", "--env", "prod"]
    if how == "--profile":
        args += ["--profile", "nope"]
    else:
        env["AWS_PROFILE"] = "nope"
    line = one_line(cli(args, env), "profile 'nope' does not exist")
    assert "deployer" in line  # the message lists the profiles that do exist


def test_json_error_is_one_object_on_stdout(tmp_path: Path, proxy_page: str, cli: Run) -> None:
    done = cli(
        ["status", "--env", "prod", "--json"], aws_env(tmp_path, AWS_ENDPOINT_URL=proxy_page)
    )
    assert done.returncode == 5
    document = json.loads(done.stdout)
    assert document["ok"] is False and document["error"]["exit_code"] == 5
    assert "HTML page" in document["error"]["message"]


# The alarm may land inside a gc callback of this test process (hypothesis installs one), where
# Python swallows the raise and reports it as unraisable; the re-armed alarm then ends the run,
# which is what this test checks.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_the_command_deadline_ends_a_run_with_exit_9(
    tmp_path: Path, stalled: str, cli: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mathvisuals.cli import wiring

    monkeypatch.setattr(wiring, "DEFAULT_DEADLINE_S", 1.0)  # below one read timeout
    done = cli(["plan", "--env", "prod"], aws_env(tmp_path, AWS_ENDPOINT_URL=stalled))
    one_line(done, "plan did not finish within its deadline", code=9)
