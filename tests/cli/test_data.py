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
