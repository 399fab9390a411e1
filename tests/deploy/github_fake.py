"""A loopback fake of GitHub's Actions-secrets REST API (deploy.md §6.6).

It serves a public key per repository/environment from generated key pairs, checks the bearer
token, the API headers and ``key_id``, decrypts every PUT with the private key and records the
plaintext. It answers 201 the first time a secret is written and 204 after, and can be told to fail.
"""

from __future__ import annotations

import base64
import functools
import json
import re
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import cast
from urllib.parse import unquote

from nacl.encoding import Base64Encoder
from nacl.exceptions import CryptoError
from nacl.public import PrivateKey, SealedBox

ROUTE = re.compile(
    r"^/repos/(?P<repository>[^/]+/[^/]+)/(?:actions|environments/(?P<environment>[^/]+))"
    r"/secrets/(?P<target>public-key|[A-Za-z0-9_]+)$"
)


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    body: bytes


@dataclass
class Failure:
    status: int
    body: bytes
    method: str | None  # None: every method fails


class FakeGitHub:
    """Start with ``with FakeGitHub(token) as github:``; ``github.base_url`` is loopback."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.requests: list[Request] = []
        # (repository, environment, name) -> plaintext; environment "" is the repository level.
        self.secrets: dict[tuple[str, str, str], str] = {}
        self._keys: dict[tuple[str, str], tuple[str, PrivateKey]] = {}
        self._failure: Failure | None = None
        self._lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # Control ------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        assert self._server is not None, "not started"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> None:
        self._server = _Server(("127.0.0.1", 0), _Handler)  # port 0: the OS picks a free one
        self._server.fake = self
        # A short poll keeps shutdown() (and so each test's teardown) quick.
        serve = functools.partial(self._server.serve_forever, poll_interval=0.01)
        self._thread = threading.Thread(target=serve, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server, self._thread = None, None

    def __enter__(self) -> FakeGitHub:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def fail(
        self,
        status: int,
        message: str | None = "Resource not accessible by integration",
        *,
        method: str | None = None,
        raw_body: bytes | None = None,
    ) -> None:
        """Answer ``status`` from now on (only for ``method`` when given)."""
        body = raw_body if raw_body is not None else json.dumps({"message": message}).encode()
        self._failure = Failure(status, body, method)

    def recover(self) -> None:
        self._failure = None

    def key_pair(self, repository: str, environment: str = "") -> tuple[str, PrivateKey]:
        """``(key_id, private key)``, generated on first use, like GitHub's per-scope keys."""
        with self._lock:
            if (repository, environment) not in self._keys:
                key_id = str(3_000_000_000_000_000_000 + len(self._keys))
                self._keys[(repository, environment)] = (key_id, PrivateKey.generate())
            return self._keys[(repository, environment)]

    # Request handling (called from the server threads) -------------------------------------

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> _Reply:
        with self._lock:
            self.requests.append(Request(method, path, body))
            failure = self._failure
        if failure is not None and failure.method in (None, method):
            return failure.status, failure.body
        if headers.get("authorization") != f"Bearer {self.token}":
            return _message(401, "Bad credentials")
        if headers.get("accept") != "application/vnd.github+json":
            return _message(415, "Unsupported 'Accept' header")
        if headers.get("x-github-api-version") != "2022-11-28":
            return _message(400, "Missing or unsupported X-GitHub-Api-Version")
        route = ROUTE.match(path)
        if route is None:
            return _message(404, "Not Found")
        repository, target = route["repository"], route["target"]
        environment = unquote(route["environment"] or "")
        if method == "GET" and target == "public-key":
            key_id, private = self.key_pair(repository, environment)
            public = private.public_key.encode(Base64Encoder).decode("ascii")
            return 200, json.dumps({"key_id": key_id, "key": public}).encode()
        if method == "PUT" and target != "public-key":
            return self._put(repository, environment, target, body)
        return _message(404, "Not Found")

    def _put(self, repository: str, environment: str, name: str, body: bytes) -> _Reply:
        key_id, private = self.key_pair(repository, environment)
        try:
            document = json.loads(body)
            sealed = base64.b64decode(document["encrypted_value"], validate=True)
            sent_key_id = document["key_id"]
        except (ValueError, KeyError, TypeError):
            return _message(422, "Invalid request: encrypted_value and key_id are required")
        if sent_key_id != key_id:
            return _message(422, "Bad key_id")
        try:
            plaintext = SealedBox(private).decrypt(sealed).decode("utf-8")
        except (CryptoError, UnicodeDecodeError):
            return _message(422, "encrypted_value is not a sealed box for this key")
        with self._lock:
            existed = (repository, environment, name) in self.secrets
            self.secrets[(repository, environment, name)] = plaintext
        return (204 if existed else 201), b""


_Reply = tuple[int, bytes]


def _message(status: int, message: str) -> _Reply:
    return status, json.dumps({"message": message}).encode()


class _Server(ThreadingHTTPServer):
    fake: FakeGitHub
    daemon_threads = True


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {key.lower(): value for key, value in self.headers.items()}
        fake = cast(_Server, self.server).fake
        status, reply = fake.handle(self.command, self.path, headers, body)
        self.send_response(status)
        if reply:
            self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    do_GET = do_PUT = do_POST = do_DELETE = _serve

    def log_message(self, format: str, *args: object) -> None:  # silence stderr
        pass
