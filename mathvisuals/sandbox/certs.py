"""A throw-away certificate authority and a loopback server certificate for TLS Redis."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import trustme


@dataclass(frozen=True)
class TlsFiles:
    ca_file: Path
    cert_file: Path
    key_file: Path


def make_tls_files(directory: Path) -> TlsFiles:
    """Write ``ca.pem``, ``server.pem`` and ``server-key.pem`` (0600) valid for localhost."""
    directory.mkdir(parents=True, exist_ok=True)
    ca = trustme.CA(organization_name="mathvisuals sandbox")
    server = ca.issue_cert("localhost", "127.0.0.1")
    files = TlsFiles(directory / "ca.pem", directory / "server.pem", directory / "server-key.pem")
    ca.cert_pem.write_to_path(str(files.ca_file))
    server.cert_chain_pems[0].write_to_path(str(files.cert_file))
    files.key_file.touch(mode=0o600)
    server.private_key_pem.write_to_path(str(files.key_file))
    return files
