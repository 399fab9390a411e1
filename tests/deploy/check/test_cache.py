"""``up``'s offline check: run once, then skipped while its inputs stay byte-identical."""

from __future__ import annotations

from pathlib import Path

import pytest

from mathvisuals.deploy.check.cache import UNCHANGED, cached_check
from mathvisuals.deploy.errors import CheckFailedError
from tests.deploy.check.support import PROD, stage


def run(templates: Path, cache: Path, token_file: Path | None = None) -> tuple[str, int]:
    runs: list[None] = []
    outcome = cached_check(
        PROD,
        "prod",
        token_file=token_file,
        cache_dir=cache,
        templates_dir=templates,
        on_run=lambda: runs.append(None),
    )
    return outcome, len(runs)


def test_a_pass_is_remembered_until_an_input_changes(tmp_path: Path) -> None:
    templates, cache = stage(tmp_path), tmp_path / "cache"
    assert run(templates, cache) == ("passed", 1)
    assert (cache / "checks" / "prod.sha256").exists()
    assert run(templates, cache) == (UNCHANGED, 0)
    template = templates / "api" / "template.yaml"
    template.write_text(template.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
    assert run(templates, cache) == ("passed", 1)


def test_a_token_file_is_part_of_the_inputs(tmp_path: Path) -> None:
    templates, cache = stage(tmp_path), tmp_path / "cache"
    token = tmp_path / "token"
    token.write_text("a" * 32, encoding="utf-8")
    assert run(templates, cache, token) == ("passed", 1)
    assert run(templates, cache, token) == (UNCHANGED, 0)
    token.write_text("b" * 32, encoding="utf-8")
    assert run(templates, cache, token) == ("passed", 1)


def test_a_failure_names_the_first_finding_and_is_not_remembered(tmp_path: Path) -> None:
    templates, cache = stage(tmp_path, "auth_token_without_tls"), tmp_path / "cache"
    with pytest.raises(CheckFailedError) as caught:
        run(templates, cache)
    assert caught.value.exit_code == 4
    assert "offline check finding(s), first" in str(caught.value)
    assert caught.value.hint == "run mathvisuals check for all findings"
    assert not (cache / "checks" / "prod.sha256").exists()
