"""Direct-invocation maintenance (``mathvisuals data``): one SCAN page or one import page per
invocation, pages exchanged through presigned S3 URLs (or inline when small).

The event is ``{"mathvisuals_maintenance": {...}}`` at the top level, which API Gateway never
produces (its events carry ``requestContext``; a client's JSON is only ever the ``body``).
Only ``lambda:InvokeFunction`` reaches it; the HTTP path refuses it (``lambda_handler``).
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import time
import urllib.request
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from mathvisuals.errors import MathVisualsError
from mathvisuals.model.archive import Entry
from mathvisuals.settings import RedisConfig

if TYPE_CHECKING:  # the handler imports this module on every cold start; redis only on use
    from mathvisuals.store.keyspace import KeyspaceStore

EVENT_KEY = "mathvisuals_maintenance"
HTTP_KEYS = ("requestContext", "rawPath", "httpMethod", "headers", "routeKey", "body")
MAX_COUNT = 5000
# An inline page travels base64 in the invoke response (6 MB in all): the CLI retries a larger
# page with a smaller SCAN count.
INLINE_LIMIT = 4_000_000
BATCH = 100  # entries per WATCH/MULTI/EXEC on import
URL_TIMEOUT_S = 60


def is_direct(event: Mapping[str, Any]) -> bool:
    """A maintenance event, and nothing an API Gateway event would carry."""
    return EVENT_KEY in event and not any(key in event for key in HTTP_KEYS)


class MaintenanceError(MathVisualsError):
    """A malformed maintenance request."""


def _count(request: Mapping[str, Any]) -> int:
    count = request.get("count", 500)
    if not isinstance(count, int) or not 1 <= count <= MAX_COUNT:
        raise MaintenanceError(f"count must be an integer in 1..{MAX_COUNT}")
    return count


def _put(request: Mapping[str, Any], body: bytes) -> dict[str, Any]:
    url = request.get("put_url")
    if not isinstance(url, str):
        return {"body": base64.b64encode(body).decode("ascii")}
    headers = {str(k): str(v) for k, v in (request.get("put_headers") or {}).items()}
    put = urllib.request.Request(url, data=body, method="PUT", headers=headers)
    with urllib.request.urlopen(put, timeout=URL_TIMEOUT_S):
        return {}


def _get(request: Mapping[str, Any]) -> bytes:
    url = request.get("get_url")
    if isinstance(url, str):
        with urllib.request.urlopen(url, timeout=URL_TIMEOUT_S) as answer:
            return bytes(answer.read())
    body = request.get("body")
    if not isinstance(body, str):
        raise MaintenanceError("an import page needs get_url or body")
    return base64.b64decode(body, validate=True)


def export_page(store: KeyspaceStore, request: Mapping[str, Any]) -> dict[str, Any]:
    cursor = request.get("cursor", 0)
    if not isinstance(cursor, int) or cursor < 0:
        raise MaintenanceError("cursor must be a non-negative integer")
    page = store.page(cursor, _count(request))
    lines = b"".join(entry.line() for entry in page.entries)
    body = gzip.compress(lines, mtime=0)
    if not isinstance(request.get("put_url"), str) and len(body) > INLINE_LIMIT:
        return {"cursor": cursor, "too_large": len(body)}
    return {
        "cursor": page.cursor,
        "keys": len(page.entries),
        "outside_schema": len(page.outside_schema),
        "sha256": hashlib.sha256(body).hexdigest(),
        **_put(request, body),
    }


def digest_page(store: KeyspaceStore, request: Mapping[str, Any]) -> dict[str, Any]:
    cursor = request.get("cursor", 0)
    if not isinstance(cursor, int) or cursor < 0:
        raise MaintenanceError("cursor must be a non-negative integer")
    page = store.page(cursor, _count(request))
    return {"cursor": page.cursor, "digests": {e.key: e.sha256() for e in page.entries}}


def import_page(store: KeyspaceStore, request: Mapping[str, Any]) -> dict[str, Any]:
    body = _get(request)
    expected = request.get("sha256")
    if hashlib.sha256(body).hexdigest() != expected:
        raise MaintenanceError("the import page does not match its sha256")
    overwrite, dry_run = bool(request.get("overwrite")), bool(request.get("dry_run"))
    results: dict[str, list[str]] = {}
    reasons: dict[str, str] = {}
    entries = [Entry.from_line(line) for line in gzip.decompress(body).splitlines(keepends=True)]
    for start in range(0, len(entries), BATCH):
        batch = entries[start : start + BATCH]
        outcomes = store.restore_many(batch, overwrite=overwrite, dry_run=dry_run)
        for entry, outcome in zip(batch, outcomes, strict=True):
            results.setdefault(outcome.action, []).append(entry.key)
            if outcome.action == "refused":
                reasons[entry.key] = outcome.reason
    return {"actions": results, "reasons": reasons}


OPERATIONS = {"export": export_page, "digest": digest_page, "import": import_page}


def run(request: object, redis: RedisConfig) -> dict[str, Any]:
    """One maintenance step; failures are answered as data (no trace, no configuration)."""
    started = time.monotonic()
    try:
        if not isinstance(request, dict) or request.get("op") not in OPERATIONS:
            raise MaintenanceError(f"op must be one of {', '.join(sorted(OPERATIONS))}")
        if redis.mode != "kv":
            raise MaintenanceError("this function has no Redis configuration (memory mode)")
        from mathvisuals.store.keyspace import KeyspaceStore, connect

        client = connect(redis)
        try:
            answer = OPERATIONS[request["op"]](KeyspaceStore(client), request)
        finally:
            client.close()
    except (MathVisualsError, ValueError, OSError) as exc:
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
    return {"ok": True, "seconds": round(time.monotonic() - started, 3), **answer}
