"""ElastiCache AUTH token rules and generator (deploy.md §5.6)."""

from __future__ import annotations

import hashlib
import re
import secrets
import string

ALLOWED = re.compile(r"[A-Za-z0-9!&#$^<>-]")
DEFAULT_ALPHABET = string.ascii_letters + string.digits + "-"
MIN_LENGTH, MAX_LENGTH = 16, 128


def token_problems(token: str) -> list[str]:
    """Why ElastiCache would reject ``token``; empty when it is valid. Never echoes the token."""
    problems: list[str] = []
    if not MIN_LENGTH <= len(token) <= MAX_LENGTH:
        problems.append(f"length {len(token)} is outside {MIN_LENGTH}..{MAX_LENGTH}")
    if any(ch.isspace() for ch in token):
        problems.append("contains whitespace or a newline")
    bad = sorted({ch for ch in token if not ch.isspace() and not ALLOWED.fullmatch(ch)})
    if bad:
        shown = " ".join(repr(ch) for ch in bad[:5])
        problems.append(f"characters outside [A-Za-z0-9!&#$^<>-]: {shown}")
    return problems


def generate_token(length: int = 64) -> str:
    """A URL- and shell-safe token with at least one upper, one lower letter and one digit."""
    if not MIN_LENGTH <= length <= MAX_LENGTH:
        raise ValueError(f"token length must be within {MIN_LENGTH}..{MAX_LENGTH}")
    while True:
        token = "".join(secrets.choice(DEFAULT_ALPHABET) for _ in range(length))
        if (
            any(ch.isupper() for ch in token)
            and any(ch.islower() for ch in token)
            and any(ch.isdigit() for ch in token)
        ):
            return token


def fingerprint(value: str) -> str:
    """``sha256:<12 hex>``: how a secret value is shown, compared and reported (§5.12)."""
    return "sha256:" + hashlib.sha256(value.encode("utf-8")).hexdigest()[:12]
