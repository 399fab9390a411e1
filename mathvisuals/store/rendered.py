"""Stored values already sanitised and encoded once: reads that repeat skip parse, walk, encode.

Sanitising a stored record is a pure function of its key and its stored text (when it does not
depend on the clock), so the result is memoised per process under exactly that pair, together
with the JSON the API writes for it. A value written by upstream (non-canonical) gets the same
treatment: the memo holds what the slow path produced from it, byte for byte.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import orjson

# Enough for thousands of example sets; a Lambda has at least 128 MB.
MAX_BYTES = 32 * 1024 * 1024


class Rendered(dict[str, Any]):
    """A sanitised record (a plain dict to every caller) with the JSON the API writes for it.

    ``json`` is ``None`` when orjson could not encode the record (the fallback encoder's
    bytes may not be spliced into an orjson document). ``source`` is the (key, stored text)
    the record is a pure function of, when it is one: what views built on it are memoised by.
    """

    __slots__ = ("json", "source")

    def __init__(
        self, record: dict[str, Any], json: bytes | None, source: tuple[str, str] | None = None
    ) -> None:
        super().__init__(record)
        self.json = json
        self.source = source


def encode(record: dict[str, Any]) -> bytes | None:
    try:
        return orjson.dumps(record)
    except (TypeError, orjson.JSONEncodeError):
        return None


class Memo:
    """An LRU of (key, stored text) → :class:`Rendered`, bounded by the bytes it holds."""

    def __init__(self, max_bytes: int = MAX_BYTES) -> None:
        self._items: OrderedDict[tuple[str, str], tuple[dict[str, Any], bytes | None]] = (
            OrderedDict()
        )
        self._bytes = 0
        self._max = max_bytes
        self.hits = 0
        self.misses = 0

    def lookup(self, key: str, raw: str) -> Rendered | None:
        """The record remembered for ``raw`` under ``key`` (a fresh top-level copy)."""
        found = self._items.get((key, raw))
        if found is None:
            self.misses += 1
            return None
        self.hits += 1
        self._items.move_to_end((key, raw))
        return Rendered(found[0], found[1], (key, raw))

    def encoded(self, key: str, raw: str) -> bytes | None:
        """Only the JSON remembered for ``raw`` under ``key`` (no copy of the record)."""
        found = self._items.get((key, raw))
        if found is None or found[1] is None:
            self.misses += 1
            return None
        self.hits += 1
        self._items.move_to_end((key, raw))
        return found[1]

    def store(self, key: str, raw: str, record: dict[str, Any], *, remember: bool) -> Rendered:
        """``record`` with its JSON; remembered when it depends on nothing but the two."""
        json = encode(record)
        if not remember:
            return Rendered(record, json)
        self._remember((key, raw), record, json)
        return Rendered(record, json, (key, raw))

    def _remember(self, item: tuple[str, str], record: dict[str, Any], json: bytes | None) -> None:
        size = 2 * len(item[1]) + len(json or b"") + 200
        if size > self._max:
            return
        self._items[item] = (record, json)
        self._bytes += size
        while self._bytes > self._max:
            (_, old_raw), (_, old_json) = self._items.popitem(last=False)
            self._bytes -= 2 * len(old_raw) + len(old_json or b"") + 200

    def clear(self) -> None:
        self._items.clear()
        self._bytes = self.hits = self.misses = 0


def with_fields(rendered: Rendered, fields: dict[str, object], fields_json: bytes) -> bytes | None:
    """``dumps({**rendered, **fields})`` by splicing, when the keys do not overlap.

    ``fields_json`` is ``jsonfmt.dumps(fields)``; ``None`` means take the slow path.
    """
    if rendered.json is None or not fields_json.startswith(b"{"):
        return None
    if not fields:
        return rendered.json
    if len(rendered) and not rendered.keys().isdisjoint(fields):
        return None
    if not len(rendered):
        return fields_json
    return rendered.json[:-1] + b"," + fields_json[1:]


__all__ = ["MAX_BYTES", "Memo", "Rendered", "with_fields"]
