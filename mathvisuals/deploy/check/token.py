"""The token in ``MATHVISUALS_TOKEN_FILE`` against the ElastiCache rules (deploy.md §5.6, B14)."""

from __future__ import annotations

from pathlib import Path

from mathvisuals.deploy.check.findings import Finding
from mathvisuals.deploy.token import token_problems

HINT = (
    "16-128 characters from [A-Za-z0-9!&#$^<>-], no newline (write it with printf '%s'); "
    "base64 output has + / = and is refused (B14)"
)


def token_findings(token_file: Path | None) -> list[Finding]:
    """MV150: the findings name the file and the problem, never the token (deploy.md §5.12)."""
    if token_file is None:
        return []
    try:
        token = token_file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        return [Finding("MV150", str(token_file), 1, f"cannot read the token file: {reason}", HINT)]
    return [
        Finding(
            "MV150", str(token_file), 1, f"the token is not valid for ElastiCache: {problem}", HINT
        )
        for problem in token_problems(token)
    ]
