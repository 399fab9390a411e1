"""A persistent local stand-in for ElastiCache: TLS, AUTH and AOF under ``.mathvisuals/``."""

from __future__ import annotations

import secrets
from pathlib import Path

from mathvisuals.sandbox.certs import TlsFiles, make_tls_files
from mathvisuals.sandbox.redis_server import RedisServer


def _password(state: Path) -> str:
    """Generated once and kept (0600) so data written earlier stays readable; never printed."""
    path = state / "password"
    if not path.exists():
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(32), encoding="utf-8")
    return path.read_text(encoding="utf-8").strip()


def _tls(state: Path) -> TlsFiles:
    files = TlsFiles(state / "ca.pem", state / "server.pem", state / "server-key.pem")
    if all(path.exists() for path in (files.ca_file, files.cert_file, files.key_file)):
        return files
    return make_tls_files(state)


def start_local_redis(state_dir: Path) -> tuple[RedisServer, dict[str, str]]:
    """Start the server and return it with the ``REDIS_*`` environment that reaches it."""
    state = state_dir.resolve() / "redis"
    state.mkdir(parents=True, exist_ok=True)
    tls = _tls(state / "tls")
    server = RedisServer(workdir=state, password=_password(state), tls=tls)
    server.start()
    env = {
        "REDIS_HOST": "localhost",
        "REDIS_PORT": str(server.port),
        "REDIS_PASSWORD": server.password,
        "REDIS_TLS": "true",
        "REDIS_TLS_CA_FILE": str(tls.ca_file),
    }
    return server, env
