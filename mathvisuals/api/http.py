"""Request and response conventions shared by every handler (api.md §4, §5)."""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from starlette.datastructures import QueryParams
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from mathvisuals import jsonfmt
from mathvisuals.logs import EventLog
from mathvisuals.settings import Settings
from mathvisuals.store.base import Mode, Store, StoreUnavailableError
from mathvisuals.store.rendered import Rendered, with_fields

MIB = 1024 * 1024
BODY_LIMIT = 5 * MIB
SETTINGS_BODY_LIMIT = 2 * MIB

LIMITATIONS = {
    "examples": "Denne instansen bruker midlertidig minnelagring. "
    "Eksempler tilbakestilles når serveren starter på nytt.",
    "svg": "Denne instansen bruker midlertidig minnelagring. "
    "SVG-er tilbakestilles når serveren starter på nytt.",
    "figures": "Denne instansen bruker midlertidig minnelagring. "
    "Figurer tilbakestilles når serveren starter på nytt.",
}


class BodyError(Exception):
    """A request body that cannot be used; carries the status and JSON error text."""

    def __init__(self, status: int, error: str) -> None:
        super().__init__(error)
        self.status = status
        self.error = error


def meta_block(mode: Mode, family: str) -> dict[str, object]:
    """The mode metadata spread into JSON responses (§4.1), in upstream key order."""
    if mode == "kv":
        return {
            "storage": "kv",
            "mode": "kv",
            "storageMode": "kv",
            "persistent": True,
            "ephemeral": False,
        }
    return {
        "storage": "memory",
        "mode": "memory",
        "storageMode": "memory",
        "persistent": False,
        "ephemeral": True,
        "limitation": LIMITATIONS[family],
    }


MODE_FIELDS = ("storage", "mode", "storageMode", "persistent", "ephemeral")
ALL_MODE_FIELDS = (*MODE_FIELDS, "limitation")


def entry_fields(mode: Mode, family: str, *, limitation: bool = False) -> dict[str, object]:
    """The five mode fields carried by entries (examples entries also carry ``limitation``)."""
    meta = meta_block(mode, family)
    if not limitation:
        meta.pop("limitation", None)
    return meta


def strip_mode_fields(record: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in record.items() if key not in ALL_MODE_FIELDS}


@dataclass(frozen=True)
class Family:
    """A handler family: its CORS list, mode headers and advertised methods."""

    name: str
    methods: str
    mode_header: str | None
    result_header: str | None
    origins: tuple[str, ...] = ("*",)


@dataclass
class Context:
    """What every handler needs, built once per application."""

    settings: Settings
    store: Store
    log: EventLog
    families: dict[str, Family] = field(default_factory=dict)

    @property
    def mode(self) -> Mode:
        return self.store.mode


def json_response(
    body: object, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    return Response(jsonfmt.dumps(body), status, dict(headers or {}), "application/json")


def cors_headers(family: Family, origin: str | None) -> dict[str, str]:
    """FIX-J: ``*`` when listed, else echo a listed Origin; never the first entry by default."""
    headers: dict[str, str] = {}
    if "*" in family.origins:
        headers["Access-Control-Allow-Origin"] = "*"
    else:
        if origin is not None and origin in family.origins:
            headers["Access-Control-Allow-Origin"] = origin
        headers["Vary"] = "Origin"
    headers["Access-Control-Allow-Headers"] = "Content-Type"
    headers["Access-Control-Allow-Methods"] = family.methods
    return headers


def first_values(query_string: bytes) -> dict[str, str]:
    """Each parameter's first value (Starlette's parser), read-only: short query strings are
    parsed once per process, since the same few come again and again (a page's figures, the
    archive's thumbnails) and parsing them was a fifth of a raw asset request's own work."""
    if len(query_string) <= MEMO_QUERY_BYTES:
        return _memo_first_values(query_string)
    return _first_values(query_string)


def _first_values(query_string: bytes) -> dict[str, str]:
    found: dict[str, str] = {}
    for key, value in QueryParams(query_string).multi_items():
        found.setdefault(key, value)
    return found


MEMO_QUERY_BYTES = 512  # with 4,096 entries: at most ~2 MB of memo
_memo_first_values = functools.lru_cache(maxsize=4096)(_first_values)


class Exchange:
    """One request as a handler sees it, plus the headers its response will carry."""

    def __init__(self, request: Request, ctx: Context, family: Family, route: str) -> None:
        self.request = request
        self.ctx = ctx
        self.family = family
        self.route = route
        self.method = request.method.upper()
        self.headers: dict[str, str] = cors_headers(family, request.headers.get("origin"))
        if family.mode_header:
            self.headers[family.mode_header] = ctx.mode
        self._query: dict[str, str] | None = None
        self.path_suffix: str | None = None

    @property
    def mode(self) -> Mode:
        return self.ctx.mode

    @property
    def meta(self) -> dict[str, object]:
        return meta_block(self.ctx.mode, self.family.name)

    def query(self, name: str) -> str | None:
        """The first value of a query parameter, as upstream's parser gives it."""
        if self._query is None:
            self._query = first_values(self.request.scope.get("query_string", b""))
        return self._query.get(name)

    def stored(self) -> None:
        """Mark that the store was accessed, so the result header is sent (§4.2)."""
        if self.family.result_header:
            self.headers[self.family.result_header] = self.ctx.mode

    async def json_body(self, limit: int = BODY_LIMIT) -> Any:
        """The parsed body; ``{}`` when empty. Raises :class:`BodyError` (400/413)."""
        raw = await read_body(self.request, limit)
        if not raw.strip():
            return {}
        try:
            return jsonfmt.loads(raw)
        except jsonfmt.InvalidJSONError as exc:
            raise BodyError(400, "Invalid JSON body") from exc

    def respond(self, body: object, status: int = 200) -> Response:
        return json_response(body, status, self.headers)

    def respond_encoded(self, body: bytes, status: int = 200) -> Response:
        """A JSON body already encoded (the fast path for stored records)."""
        return Response(body, status, dict(self.headers), "application/json")

    def with_meta(self, records: Sequence[object]) -> list[bytes] | None:
        return self.with_fields(records, self.meta)

    def with_fields(
        self, records: Sequence[object], fields: dict[str, object]
    ) -> list[bytes] | None:
        """Each record as ``dumps({**record, **fields})`` spliced from its stored rendering, or
        None when any of them has none (then the caller encodes the dicts)."""
        fields_json = jsonfmt.dumps(fields)
        out: list[bytes] = []
        for record in records:
            spliced = with_fields(record, fields, fields_json) if type(record) is Rendered else None
            if spliced is None:
                return None
            out.append(spliced)
        return out

    def options(self) -> Response:
        return Response(None, 204, self.headers)

    def not_allowed(self, allow: str | None = None) -> Response:
        """405 with ``Allow``: ``allow``, else the family's advertised methods."""
        headers = dict(self.headers)
        headers["Allow"] = allow or self.family.methods
        return json_response({"error": "Method Not Allowed"}, 405, headers)

    def unavailable(self, exc: StoreUnavailableError) -> None:
        """Log one ``redis.error`` line for a failed store operation (§15)."""
        self.ctx.log.emit(
            "redis.error",
            "error",
            error_class=exc.error_class,
            operation=exc.operation,
            route=self.route,
            message=exc.detail,
        )


async def read_body(request: Request, limit: int) -> bytes:
    """Read at most ``limit`` bytes; a larger body is refused with 413 before it is all read."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BodyError(413, "Request body too large")
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise BodyError(413, "Request body too large")
            chunks.append(chunk)
    except ClientDisconnect as exc:
        # A client gone mid-body (or cut by serve's body deadline): an unusable body, not a
        # server error; nobody reads the answer.
        raise BodyError(400, "Invalid JSON body") from exc
    return b"".join(chunks)


def as_object(value: Any) -> dict[str, Any]:
    """A JSON array or scalar body counts as having no fields (§5.3)."""
    return value if isinstance(value, dict) else {}
