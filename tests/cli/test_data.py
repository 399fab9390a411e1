"""`mathvisuals data`: registered behind the boundary; a damaged archive is one line, exit 8."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mathvisuals.cli import app
from mathvisuals.cli.data import COMMANDS, diff_lines
from mathvisuals.model.archive import Entry
from mathvisuals.model.restore import compare


def test_data_commands_are_behind_the_boundary() -> None:
    group = next(g for g in app.registered_groups if g.name == "data")
    assert group.typer_instance is not None
    registered = {str(c.name): c.callback for c in group.typer_instance.registered_commands}
    assert set(registered) == set(COMMANDS)
    for name, callback in registered.items():
        assert getattr(callback, "__wrapped__", None) is COMMANDS[name], name


@pytest.mark.parametrize("command", ["import", "verify"])
@pytest.mark.parametrize("content", [b"", b"not gzip", gzip.compress(b'{"format":"x"}\n')])
def test_a_damaged_archive_is_one_line_before_anything_is_touched(
    tmp_path: Path, command: str, content: bytes
) -> None:
    archive = tmp_path / "a.jsonl.gz"
    archive.write_bytes(content)
    result = CliRunner().invoke(app, ["data", command, "--env", "nowhere", str(archive)])
    assert result.exit_code == 8, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert lines[0].startswith("error: ") and "Traceback" not in result.output
    assert len(lines) <= 2  # the message, and at most its hint


def test_verify_lists_each_differing_key_under_its_area() -> None:
    archived = [Entry("svg:a", "string", b"1"), Entry("svg:b", "string", b"2")]
    live = {"svg:a": archived[0].sha256(), "svg:b": "0" * 64, "figure:c": "1" * 64}
    lines = diff_lines(compare(archived, live))
    assert "svg: 1 same, 0 missing, 1 differ, 0 extra" in lines
    assert "  differs svg:b" in lines and "  extra figure:c" in lines


def test_down_include_data_refuses_without_a_fresh_export(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MATHVISUALS_STATE_DIR", str(tmp_path))
    result = CliRunner().invoke(
        app, ["down", "--env", "local", "--include-data", "--confirm-env", "local"]
    )
    assert result.exit_code == 10, result.output
    assert "data export --env local" in result.output and "--no-backup" in result.output


def test_a_recent_intact_export_is_fresh(tmp_path: Path) -> None:
    from mathvisuals.deploy.data import ExportResult, fresh_export, record_export
    from mathvisuals.model.archive import Manifest, archive_sha256

    archive = tmp_path / "a.jsonl.gz"
    archive.write_bytes(gzip.compress(b"x"))
    result = ExportResult(
        Manifest("0", "prod", "r", "t"), archive, archive_sha256(archive), 1, 1, 0.1
    )
    record_export(tmp_path, result, now=1000.0)
    assert fresh_export(tmp_path, "prod", now=1000.0 + 60) == str(archive.resolve())
    assert fresh_export(tmp_path, "prod", now=1000.0 + 7200) is None  # too old
    assert fresh_export(tmp_path, "staging", now=1000.0) is None
    archive.write_bytes(b"changed")
    assert fresh_export(tmp_path, "prod", now=1000.0 + 60) is None  # not the file exported


def test_the_switch_check_says_what_is_left() -> None:
    from mathvisuals.cli.data import check_switch

    def healthy(url: str, headers: dict[str, str]) -> tuple[int, dict[str, str], object]:
        return 200, {}, {"mode": "kv"}

    def memory(url: str, headers: dict[str, str]) -> tuple[int, dict[str, str], object]:
        return 200, {}, {"mode": "memory"}

    old, new = "https://old.example/prod", "https://new.example/prod"
    assert check_switch(old, new, None, healthy) == []
    assert check_switch(old, new, f'{{"api":"{new}"}}', healthy) == []
    assert check_switch(old, new, f'{{"api":"{old}"}}', healthy) == [
        f"the static site does not name {new}",
        f"the static site still names {old}",
    ]
    assert check_switch(old, new, None, memory) == [f"GET {new}/api/health: 200, not kv"]
