"""A minimal RESP2 client over TLS (stdlib only) for the sandbox's ACL and health commands."""

from __future__ import annotations

import socket
import ssl
from pathlib import Path
from types import TracebackType
from typing import TypeAlias

from mathvisuals.sandbox import SandboxError

LOOPBACK = "127.0.0.1"
# The sandbox certificate is issued for localhost (and 127.0.0.1); verify the name, as the
# application's redis client does with REDIS_HOST=localhost.
SERVER_NAME = "localhost"

Reply: TypeAlias = "str | bytes | int | list[Reply] | None"


class RespError(SandboxError):
    """An error reply from the server; ``kind`` is its first word (``WRONGPASS``, ``NOAUTH``)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.kind = message.split(" ", 1)[0]


class RespClient:
    """One TLS connection to a sandbox redis-server on loopback. Holds no password."""

    def __init__(self, port: int, ca_file: Path, *, timeout: float = 5.0) -> None:
        context = ssl.create_default_context(cafile=str(ca_file))
        try:
            raw = socket.create_connection((LOOPBACK, port), timeout=timeout)
        except OSError as exc:
            raise SandboxError(f"redis-server does not answer on {LOOPBACK}:{port}") from exc
        try:
            self._sock = context.wrap_socket(raw, server_hostname=SERVER_NAME)
        except (OSError, ssl.SSLError) as exc:
            raw.close()
            raise SandboxError(f"TLS handshake with {LOOPBACK}:{port} failed: {exc}") from exc
        self._reader = self._sock.makefile("rb")

    def __enter__(self) -> RespClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._reader.close()
        self._sock.close()

    def auth(self, password: str) -> None:
        """``AUTH password``; a wrong one raises ``RespError`` with kind ``WRONGPASS``."""
        self.command("AUTH", password)

    def command(self, *args: str | bytes | int) -> Reply:
        """Send one command and return its reply; an error reply raises ``RespError``."""
        encoded = [_encode(arg) for arg in args]
        frame = b"*%d\r\n" % len(encoded) + b"".join(
            b"$%d\r\n%s\r\n" % (len(part), part) for part in encoded
        )
        try:
            self._sock.sendall(frame)
            reply = self._read()
        except OSError as exc:
            raise SandboxError(f"redis connection failed during {_verb(args)}") from exc
        if isinstance(reply, _ErrorReply):
            raise RespError(_mask(reply.message, encoded))
        return reply

    def _read(self) -> Reply | _ErrorReply:
        line = self._reader.readline()
        if not line.endswith(b"\r\n"):
            raise SandboxError("redis closed the connection")
        kind, body = line[:1], line[1:-2]
        if kind == b"+":
            return body.decode("utf-8", "replace")
        if kind == b"-":
            return _ErrorReply(body.decode("utf-8", "replace"))
        if kind == b":":
            return int(body)
        if kind == b"$":
            size = int(body)
            if size < 0:
                return None
            data = self._reader.read(size + 2)
            return data[:-2]
        if kind == b"*":
            count = int(body)
            if count < 0:
                return None
            items: list[Reply] = []
            for _ in range(count):
                item = self._read()
                if isinstance(item, _ErrorReply):
                    raise RespError(item.message)
                items.append(item)
            return items
        raise SandboxError(f"unexpected RESP reply type {kind!r}")


class _ErrorReply:
    def __init__(self, message: str) -> None:
        self.message = message


def connect(port: int, ca_file: Path, password: str | None = None) -> RespClient:
    """Open a connection and authenticate with ``password`` when given."""
    client = RespClient(port, ca_file)
    if password is not None:
        try:
            client.auth(password)
        except SandboxError:
            client.close()
            raise
    return client


def _encode(arg: str | bytes | int) -> bytes:
    if isinstance(arg, bytes):
        return arg
    return str(arg).encode("utf-8")


def _verb(args: tuple[str | bytes | int, ...]) -> str:
    return _encode(args[0]).decode("utf-8", "replace").upper() if args else "?"


def _mask(message: str, args: list[bytes]) -> str:
    """Redis echoes ACL modifiers (``'<password'``) in its errors: never let one through."""
    for arg in args[1:]:
        text = arg.decode("utf-8", "replace")
        for candidate in (text, text.lstrip("<>")):
            if len(candidate) >= 8:
                message = message.replace(candidate, "***")
    return message
