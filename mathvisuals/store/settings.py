"""The settings document under ``settings:projects`` (api.md §6.1, §13); no normalisation here."""

from __future__ import annotations

from typing import Any

from mathvisuals.store.base import CorruptValueError, Set, Store
from mathvisuals.store.values import decode, encode

KEY = "settings:projects"


class SettingsRepository:
    def __init__(self, store: Store) -> None:
        self._store = store

    async def load(self) -> dict[str, Any] | None:
        """The stored document as found, ``None`` when the key is missing."""
        (raw,) = await self._store.get([KEY])
        value = decode(raw, dict)
        if value is None or isinstance(value, dict):
            return value
        raise CorruptValueError(KEY)

    async def save(self, document: dict[str, Any]) -> None:
        await self._store.write([Set(KEY, encode(document))])
