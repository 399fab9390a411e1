"""Local stand-ins for the cloud parts, started as processes on loopback only.

``Sandbox`` (``sandbox.py``) is the ``--target local`` profile of deploy.md §6.7: a TLS
``redis-server`` whose ``requirepass`` is the harness token (``redis_server.py``, ``certs.py``)
and the ministack AWS emulator in its own virtualenv, pointed at that server as its ElastiCache
endpoint (``ministack.py``). ``resp.py`` speaks just enough RESP over TLS to emulate the token
rotation with ACLs. ``local_redis.py`` serves ``mathvisuals serve --with-redis``.

Everything binds and connects to 127.0.0.1 only. Passwords reach redis-server through a 0600
config file or inside the TLS socket, never through argv or a child's environment. This package
imports neither ``mathvisuals.api``, ``.store``, ``.deploy`` nor the ``redis`` package: the CLI
wires the sandbox's endpoints into the deploy orchestrator.
"""

from __future__ import annotations

from mathvisuals.errors import MathVisualsError


class SandboxError(MathVisualsError):
    """A local stand-in could not be installed, started, reached or stopped (CLI exit 13)."""

    exit_code = 13
