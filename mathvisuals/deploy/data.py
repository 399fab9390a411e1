"""``mathvisuals data``: export, import and verify, run page by page in the deployed function.

The CLI invokes the function directly with the maintenance event (api/maintenance.py); each
page goes through the artefact bucket under ``backups/<env>/<run>/`` by presigned URL, so
neither the 6 MB invoke payload nor the function timeout bounds the data.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from mathvisuals.deploy.errors import DeploymentFailedError
from mathvisuals.deploy.gateway import Artifacts, Functions
from mathvisuals.model.archive import Entry, EntrySpool, Manifest, archive_sha256, read_archive
from mathvisuals.model.restore import AreaDiff, changed_keys, compare

EVENT_KEY = "mathvisuals_maintenance"  # api/maintenance.py; the deploy side does not import api
PAGE_KEYS = 500
PAGE_BYTES = 8 << 20  # raw bytes per import page: well inside the function's memory
INLINE_BYTES = 3 << 20  # raw bytes per inline import page: base64 of its gzip stays < 6 MB
Via = Literal["inline", "s3"]
URL_SECONDS = 900
BACKUP_DAYS = 7


@dataclass
class ExportResult:
    manifest: Manifest
    path: Path
    sha256: str
    pages: int
    bytes: int
    seconds: float
    kept: str = ""  # the archive's copy in the bucket


@dataclass
class ImportResult:
    actions: dict[str, list[str]] = field(default_factory=dict)
    reasons: dict[str, str] = field(default_factory=dict)
    pages: int = 0
    keys: int = 0
    bytes: int = 0
    seconds: float = 0.0

    def count(self, action: str) -> int:
        return len(self.actions.get(action, []))


class DataTransfer:
    """One environment's data plane, reached through its function and its artefact bucket."""

    def __init__(
        self,
        functions: Functions,
        artifacts: Artifacts,
        *,
        function_name: str,
        bucket: str,
        env: str,
        region: str,
        page_keys: int = PAGE_KEYS,
        via: Via = "s3",
        clock: Callable[[], float] = time.monotonic,
        progress: Callable[[str], None] | None = None,
    ) -> None:
        self._functions, self._artifacts = functions, artifacts
        self._progress = progress or (lambda _line: None)  # one line per page, for a spinner
        self.function_name, self.bucket, self.env, self.region = function_name, bucket, env, region
        self.page_keys = page_keys
        self.via = via
        self._clock = clock
        self.run_id = uuid.uuid4().hex[:12]
        self._prefix = f"backups/{env}/"

    def _invoke(self, request: Mapping[str, object]) -> dict[str, Any]:
        hint = "the api stack must run this mathvisuals version: run `up` first"
        try:
            answer = self._functions.invoke(self.function_name, {EVENT_KEY: dict(request)})
        except DeploymentFailedError as exc:
            exc.with_hint(hint)
            raise
        if answer.get("ok") is not True:
            raise DeploymentFailedError(
                f"{self.function_name}: the maintenance step {request.get('op')} failed: "
                f"{answer.get('error', answer.get('statusCode', 'no answer'))}"
            ).with_hint(hint)
        return answer

    def _key(self, name: str) -> str:
        return f"{self._prefix}{self.run_id}/{name}"

    def _pages(
        self, op: str, extra: Callable[[int], dict[str, object]]
    ) -> Iterator[dict[str, Any]]:
        cursor, number, count = 0, 0, self.page_keys
        while True:
            answer = self._invoke({"op": op, "cursor": cursor, "count": count, **extra(number)})
            if answer.get("too_large"):
                if count == 1:
                    raise DeploymentFailedError(
                        f"one key needs an inline page of {answer['too_large']} bytes"
                    ).with_hint("use --via s3")
                count = max(1, count // 4)
                continue
            yield answer
            cursor, number, count = int(answer["cursor"]), number + 1, self.page_keys
            if cursor == 0:
                return

    def digests(self) -> dict[str, str]:
        """The sha256 of every live key of the schema (a second SCAN; inline, small)."""
        found: dict[str, str] = {}
        for answer in self._pages("digest", lambda _: {}):
            found.update(answer["digests"])
        return found

    def export(self, out: Path, *, app_version: str, now: str) -> ExportResult:
        started = self._clock()
        self._artifacts.expire_backups(self.bucket, self._prefix, BACKUP_DAYS)
        seen: dict[str, str] = {}
        changed: set[str] = set()
        pages = outside = 0

        def put(number: int) -> dict[str, object]:
            if self.via == "inline":
                return {}
            url, headers = self._artifacts.presign(
                self.bucket, self._key(f"export-{number:05d}.jsonl.gz"), "put", URL_SECONDS
            )
            return {"put_url": url, "put_headers": headers}

        with EntrySpool(out.with_name(out.name + ".spool")) as spool:
            for answer in self._pages("export", put):
                body = self._page_body(answer, self._key(f"export-{pages:05d}.jsonl.gz"))
                fresh = []
                for line in gzip.decompress(body).splitlines(keepends=True):
                    entry = Entry.from_line(line)
                    digest = entry.sha256()
                    if entry.key in seen:  # SCAN may return a key twice
                        if seen[entry.key] != digest:
                            changed.add(entry.key)
                        continue
                    seen[entry.key] = digest
                    fresh.append(line)
                spool.add_lines(fresh)
                pages += 1
                outside += int(answer.get("outside_schema", 0))
                self._progress(
                    f"page {pages}: {len(seen):,} keys, {spool.bytes / 1e6:.1f} MB so far"
                )
            self._progress(f"{len(seen):,} keys read; checking which changed meanwhile")
            changed.update(changed_keys(seen, self.digests()))
            manifest = Manifest(app_version, self.env, self.region, now)
            manifest.changed_during_export = sorted(changed)
            manifest.outside_schema = outside  # as SCAN saw them (a key may be seen twice)
            manifest = spool.finish(manifest, out)
            size = spool.bytes
        kept = self.keep(out)
        seconds = self._clock() - started
        return ExportResult(manifest, out, archive_sha256(out), pages, size, seconds, kept)

    def _page_body(self, answer: Mapping[str, Any], key: str) -> bytes:
        if "body" in answer:
            body = base64.b64decode(str(answer["body"]))
        else:
            stored = self._artifacts.read(self.bucket, key)
            if stored is None:
                raise DeploymentFailedError(f"s3://{self.bucket}/{key}: the page is missing")
            body = stored
        if hashlib.sha256(body).hexdigest() != answer.get("sha256"):
            raise DeploymentFailedError(
                f"s3://{self.bucket}/{key}: the page does not match its sha256"
            )
        return body

    def import_(self, archive: Path, *, dry_run: bool, overwrite: bool) -> ImportResult:
        started = self._clock()
        _, entries = read_archive(archive)
        self._artifacts.expire_backups(self.bucket, self._prefix, BACKUP_DAYS)
        result = ImportResult()
        limit = INLINE_BYTES if self.via == "inline" else PAGE_BYTES
        for number, page in enumerate(_import_pages(entries, limit)):
            body = gzip.compress(b"".join(e.line() for e in page), mtime=0)
            answer = self._invoke(
                {
                    "op": "import",
                    **self._page_source(body, self._key(f"import-{number:05d}.jsonl.gz")),
                    "sha256": hashlib.sha256(body).hexdigest(),
                    "dry_run": dry_run,
                    "overwrite": overwrite,
                }
            )
            for action, keys in answer["actions"].items():
                result.actions.setdefault(action, []).extend(keys)
            result.reasons.update(answer.get("reasons") or {})
            result.pages += 1
            result.keys += len(page)
            result.bytes += sum(e.size() for e in page)
            self._progress(f"page {result.pages}: {result.keys:,} of {len(entries):,} keys")
        result.seconds = self._clock() - started
        return result

    def _page_source(self, body: bytes, key: str) -> dict[str, object]:
        if self.via == "inline":
            return {"body": base64.b64encode(body).decode("ascii")}
        self._artifacts.put_backup(self.bucket, key, body)
        url, _ = self._artifacts.presign(self.bucket, key, "get", URL_SECONDS)
        return {"get_url": url}

    def keep(self, archive: Path) -> str:
        """A copy of the archive in the bucket (SSE-S3, same lifecycle); its key."""
        key = self._key(archive.name)
        self._artifacts.put_backup(self.bucket, key, archive.read_bytes())
        return key

    def verify(self, archive: Path) -> dict[str, AreaDiff]:
        _, entries = read_archive(archive)
        return compare(entries, self.digests())


FRESH_SECONDS = 3600  # how old an export may be for `down --include-data` to accept it


def record_export(state: Path, result: ExportResult, now: float) -> None:
    """Remember the last export of an environment (what `down --include-data` asks for)."""
    marker = state / "data" / f"{result.manifest.environment}.last-export.json"
    marker.parent.mkdir(parents=True, exist_ok=True)
    record = {"file": str(result.path.resolve()), "sha256": result.sha256, "at": now,
              "keys": result.manifest.keys, "kept": result.kept}  # fmt: skip
    marker.write_text(json.dumps(record), encoding="utf-8")


def fresh_export(state: Path, env: str, now: float) -> str | None:
    """The archive of a recent, still present export of ``env``, else ``None``."""
    marker = state / "data" / f"{env}.last-export.json"
    try:
        record = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    path = Path(str(record.get("file", "")))
    if now - float(record.get("at", 0)) > FRESH_SECONDS or not path.is_file():
        return None
    return str(path) if archive_sha256(path) == record.get("sha256") else None


def _import_pages(entries: list[Entry], limit: int) -> Iterator[list[Entry]]:
    """Entries before index sets (each entry adds its own member), pages bounded by bytes."""
    ordered = sorted(entries, key=lambda e: e.type == "set")
    page: list[Entry] = []
    size = 0
    for entry in ordered:
        if page and (size + entry.size() > limit or len(page) >= PAGE_KEYS):
            yield page
            page, size = [], 0
        page.append(entry)
        size += entry.size()
    if page:
        yield page
