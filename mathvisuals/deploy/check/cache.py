"""``up``'s offline check, skipped when its inputs are byte-identical to the last passing run.

The inputs are the environment file, the three templates and the token file (its path and its
bytes); cfn-lint is the slow part. A passing run leaves ``<cache>/checks/<env>.sha256``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

from mathvisuals.deploy.check import run_checks, template_paths
from mathvisuals.deploy.errors import CheckFailedError

UNCHANGED = "unchanged since the last passing check"


def inputs_digest(config_file: Path, token_file: Path | None, templates_dir: Path) -> str:
    digest = hashlib.sha256()
    for item in [config_file, *template_paths(templates_dir).values()]:
        digest.update(item.read_bytes() if item.exists() else b"-")
    digest.update(str(token_file).encode())
    if token_file is not None and token_file.exists():
        digest.update(token_file.read_bytes())
    return digest.hexdigest()


def cached_check(
    config_file: Path,
    env: str,
    *,
    token_file: Path | None,
    cache_dir: Path,
    templates_dir: Path = Path("infra"),
    on_run: Callable[[], None] = lambda: None,
) -> str:
    """``"passed"`` or :data:`UNCHANGED`; raises ``CheckFailedError`` naming the first finding.

    ``on_run`` is called before the checks actually run (a progress line, say).
    """
    digest = inputs_digest(config_file, token_file, templates_dir)
    stamp = cache_dir / "checks" / f"{env}.sha256"
    if stamp.exists() and stamp.read_text(encoding="utf-8") == digest:
        return UNCHANGED
    on_run()
    report = run_checks(config_file, templates_dir=templates_dir, token_file=token_file)
    errors = [item for item in report.findings if item.severity == "error"]
    if errors:
        first = errors[0]
        raise CheckFailedError(
            f"{len(errors)} offline check finding(s), first {first.file}:{first.line} "
            f"{first.rule} {first.message}"
        ).with_hint("run mathvisuals check for all findings")
    stamp.parent.mkdir(parents=True, exist_ok=True)
    stamp.write_text(digest, encoding="utf-8")
    return "passed"
