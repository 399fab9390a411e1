"""The archive format: byte-exact values, and every damaged file refused with one line."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from mathvisuals.model.archive import ArchiveError, Entry, EntrySpool, Manifest, read_archive


def write(tmp_path: Path, entries: list[Entry]) -> Path:
    spool = EntrySpool(tmp_path / "spool")
    spool.add_lines(e.line() for e in entries)
    out = tmp_path / "a.jsonl.gz"
    spool.finish(Manifest("0.1.0", "test", "eu-west-1", "2026-01-01T00:00:00.000Z"), out)
    return out


ENTRIES = [
    Entry("examples:/a", "string", b'{"x":"\xc3\xb8"}'),
    Entry("examples:__paths__", "set", [b"/b", b"/a"]),
    Entry("svg:bin", "string", b"\x00\xff\x80"),
    Entry("settings:projects", "string", b"{}"),
]


def test_round_trip_is_byte_exact_and_readable_by_standard_tools(tmp_path: Path) -> None:
    out = write(tmp_path, ENTRIES)
    manifest, entries = read_archive(out)
    assert entries == ENTRIES
    assert manifest.keys == 4 and manifest.areas["examples"] == 2 and manifest.areas["svg"] == 1
    lines = gzip.decompress(out.read_bytes()).splitlines()
    head = json.loads(lines[0])
    assert head["format"] == "mathvisuals-data/1" and head["region"] == "eu-west-1"
    assert json.loads(lines[3])["value"] == {"b64": "AP+A"}
    assert json.loads(lines[2])["value"] == ["/a", "/b"]  # sets sorted


def damaged(tmp_path: Path, mutate: str) -> Path:
    out = write(tmp_path, ENTRIES)
    raw = out.read_bytes()
    lines = gzip.decompress(raw).splitlines(keepends=True)
    if mutate == "truncated-gzip":
        out.write_bytes(raw[:-20])
    elif mutate == "flipped-byte":
        out.write_bytes(raw[:30] + bytes([raw[30] ^ 0xFF]) + raw[31:])
    elif mutate == "line-dropped":
        out.write_bytes(gzip.compress(b"".join(lines[:-1])))
    elif mutate == "value-edited":
        out.write_bytes(gzip.compress(b"".join(lines).replace(b'"{}"', b'"{ }"')))
    elif mutate == "rehashed-entry":
        entry = Entry("settings:projects", "string", b"[]")
        out.write_bytes(gzip.compress(b"".join(lines[:-1]) + entry.line()))
    elif mutate == "not-gzip":
        out.write_bytes(b"hello")
    elif mutate == "empty":
        out.write_bytes(gzip.compress(b""))
    return out


@pytest.mark.parametrize(
    "mutate",
    [
        "truncated-gzip",
        "flipped-byte",
        "line-dropped",
        "value-edited",
        "rehashed-entry",
        "not-gzip",
        "empty",
    ],
)
def test_damaged_archive_is_refused_with_one_line(tmp_path: Path, mutate: str) -> None:
    with pytest.raises(ArchiveError) as caught:
        read_archive(damaged(tmp_path, mutate))
    assert "\n" not in str(caught.value) and str(caught.value)


def test_key_outside_the_schema_is_refused_in_a_page(tmp_path: Path) -> None:
    with (
        EntrySpool(tmp_path / "spool") as spool,
        pytest.raises(ValueError, match="outside the key schema"),
    ):
        spool.add_lines([Entry("session:x", "string", b"").line()])
