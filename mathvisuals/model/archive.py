"""The data archive: gzip'd JSON lines, a manifest line then one line per key (pure format).

Each value is byte-exact: a JSON string when it is UTF-8, else ``{"b64": …}``. Each entry carries
the sha256 of its canonical form; the manifest carries the count per area and the sha256 of all
entry lines, so a truncated or altered file is refused. The archive never holds credentials.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from mathvisuals.errors import MathVisualsError
from mathvisuals.model.keyspace import AREAS, KEY_SCHEMA_VERSION, classify, empty_counts

FORMAT = "mathvisuals-data/1"
TYPES = ("string", "set", "hash", "list", "zset")

# A value as Redis holds it: bytes (string), members (set, list), pairs (hash, zset).
Value = bytes | list[bytes] | list[tuple[bytes, bytes]]


class ArchiveError(MathVisualsError):
    """The archive is unreadable, truncated, altered, or of another format (exit 8)."""

    exit_code = 8
    hint = "use an untouched copy of the archive, or write a new one with `data export`"


def encode_bytes(raw: bytes) -> object:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return {"b64": base64.b64encode(raw).decode("ascii")}


def decode_bytes(encoded: object) -> bytes:
    if isinstance(encoded, str):
        return encoded.encode("utf-8")
    if isinstance(encoded, dict) and isinstance(encoded.get("b64"), str):
        return base64.b64decode(encoded["b64"], validate=True)
    raise ValueError("a value is neither a string nor {b64}")


@dataclass(frozen=True)
class Entry:
    """One key with its type and value; sets and hashes are kept sorted (order-free types)."""

    key: str
    type: str
    value: Value

    def __post_init__(self) -> None:
        if self.type not in TYPES:
            raise ValueError(f"unknown type {self.type!r}")
        if self.type in ("set", "hash"):
            object.__setattr__(self, "value", sorted(self.value))

    def encoded_value(self) -> object:
        if self.type == "string":
            assert isinstance(self.value, bytes)
            return encode_bytes(self.value)
        assert isinstance(self.value, list)
        if self.type in ("set", "list"):
            return [encode_bytes(m) for m in self.value if isinstance(m, bytes)]
        return [
            [encode_bytes(m[0]), encode_bytes(m[1])] for m in self.value if isinstance(m, tuple)
        ]

    def sha256(self) -> str:
        canonical = {"key": self.key, "type": self.type, "value": self.encoded_value()}
        return hashlib.sha256(_dumps(canonical)).hexdigest()

    def size(self) -> int:
        if isinstance(self.value, bytes):
            return len(self.value)
        return sum(len(m) if isinstance(m, bytes) else len(m[0]) + len(m[1]) for m in self.value)

    def line(self) -> bytes:
        body = {"key": self.key, "type": self.type, "value": self.encoded_value()}
        return _dumps({**body, "sha256": self.sha256()}) + b"\n"

    @classmethod
    def from_line(cls, line: bytes) -> Entry:
        data = json.loads(line)
        kind, encoded = data["type"], data["value"]
        value: Value
        if kind == "string":
            value = decode_bytes(encoded)
        elif kind in ("set", "list"):
            value = [decode_bytes(m) for m in encoded]
        else:
            value = [(decode_bytes(a), decode_bytes(b)) for a, b in encoded]
        entry = cls(str(data["key"]), str(kind), value)
        if entry.sha256() != data.get("sha256"):
            raise ValueError(f"key {entry.key!r} does not match its sha256")
        return entry


def _dumps(data: object) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


@dataclass
class Manifest:
    app_version: str
    environment: str
    region: str
    created_at: str
    keys: int = 0
    areas: dict[str, int] = field(default_factory=empty_counts)
    entries_sha256: str = ""
    changed_during_export: list[str] = field(default_factory=list)
    outside_schema: int = 0
    key_schema_version: int = KEY_SCHEMA_VERSION
    format: str = FORMAT

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Manifest:
        if data.get("format") != FORMAT:
            raise ArchiveError(f"not a {FORMAT} archive (format {data.get('format')!r})")
        if data.get("key_schema_version") != KEY_SCHEMA_VERSION:
            raise ArchiveError(
                f"key schema version {data.get('key_schema_version')} is not "
                f"{KEY_SCHEMA_VERSION}; use the mathvisuals version that wrote it"
            )
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in known})


class EntrySpool:
    """Entry lines collected on disk while an export runs, counted and hashed as they come."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: IO[bytes] = path.open("wb")
        self._hash = hashlib.sha256()
        self.keys = 0
        self.bytes = 0
        self.areas = empty_counts()

    def __enter__(self) -> EntrySpool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.discard()

    def discard(self) -> None:
        """Drop the spool (a failed export); after ``finish`` there is nothing left to drop."""
        self._file.close()
        self.path.unlink(missing_ok=True)

    def add_lines(self, lines: Iterable[bytes]) -> None:
        for line in lines:
            entry = Entry.from_line(line)  # refuses a page line that does not match its hash
            kind = classify(entry.key)
            if kind is None:
                raise ValueError(f"key {entry.key!r} is outside the key schema")
            self._file.write(line)
            self._hash.update(line)
            self.keys += 1
            self.bytes += entry.size()
            self.areas[kind.area] += 1

    def finish(self, manifest: Manifest, out: Path) -> Manifest:
        """Write ``out`` atomically: manifest first, then the spooled entry lines."""
        self._file.close()
        manifest.keys, manifest.areas = self.keys, self.areas
        manifest.entries_sha256 = self._hash.hexdigest()
        partial = out.with_name(out.name + ".partial")
        with partial.open("wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz:
            gz.write(_dumps(manifest.to_json()) + b"\n")
            with self.path.open("rb") as spooled:
                while chunk := spooled.read(1 << 20):
                    gz.write(chunk)
        partial.replace(out)
        self.path.unlink()
        return manifest


def read_archive(path: Path) -> tuple[Manifest, list[Entry]]:
    """Every entry, checked against its own sha256 and the manifest's counts and digest."""
    try:
        with gzip.open(path, "rb") as gz:
            return _check(_lines(gz), path)
    except FileNotFoundError as exc:
        raise ArchiveError(f"{path}: no such file") from exc
    except (OSError, EOFError, zlib.error) as exc:
        # gzip's CRC and length trailer catch truncation and most bit flips.
        raise ArchiveError(f"{path}: not a complete gzip file ({exc})") from exc


def _lines(stream: gzip.GzipFile) -> Iterator[bytes]:
    yield from stream


def _check(lines: Iterator[bytes], path: Path) -> tuple[Manifest, list[Entry]]:
    try:
        first = next(lines)
        manifest = Manifest.from_json(json.loads(first))
    except StopIteration:
        raise ArchiveError(f"{path}: empty archive") from None
    except (ValueError, TypeError, KeyError) as exc:
        raise ArchiveError(f"{path}: the manifest line is not valid ({exc})") from exc
    digest = hashlib.sha256()
    entries: list[Entry] = []
    areas = empty_counts()
    for number, line in enumerate(lines, start=2):
        digest.update(line)
        try:
            entry = Entry.from_line(line)
        except (ValueError, TypeError, KeyError) as exc:
            raise ArchiveError(f"{path}: line {number} is not a valid entry ({exc})") from exc
        kind = classify(entry.key)
        if kind is None:
            raise ArchiveError(f"{path}: line {number}: key outside the key schema")
        areas[kind.area] += 1
        entries.append(entry)
    if len(entries) != manifest.keys or areas != {a: manifest.areas.get(a, 0) for a in AREAS}:
        raise ArchiveError(
            f"{path}: holds {len(entries)} keys, the manifest says {manifest.keys} (truncated?)"
        )
    if digest.hexdigest() != manifest.entries_sha256:
        raise ArchiveError(f"{path}: the entries do not match the manifest's sha256 (altered?)")
    return manifest, entries


def archive_sha256(path: Path) -> str:
    """The sha256 of the archive file itself, as printed after an export."""
    digest = hashlib.sha256()
    with path.open("rb") as raw:
        while chunk := raw.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()
