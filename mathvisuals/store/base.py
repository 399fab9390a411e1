"""The store protocol: a few Redis-shaped operations, atomic batches and watched updates."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol, TypeVar

from mathvisuals.errors import MathVisualsError

Mode = Literal["kv", "memory"]
ErrorClass = Literal[
    "WRONGPASS", "NOAUTH", "TIMEOUT", "CONNECTION", "TLS", "READONLY", "WATCH_CONFLICT", "OTHER"
]

CONNECT_FAILED = "Unable to establish Redis connection"
OPERATION_FAILED = "Redis operation failed"
CONFLICT = "Redis transaction conflict"

T = TypeVar("T")


class StoreError(MathVisualsError):
    """Base of the store's errors."""


class CorruptValueError(StoreError):
    """A stored value that is not the expected JSON, even after one extra decode (§6.2)."""

    def __init__(self, key: str) -> None:
        super().__init__(f"corrupt value at {key}")
        self.key = key


class StoreUnavailableError(StoreError):
    """Redis could not serve the request; the API answers 503 (FIX-A).

    ``message`` is one of the three fixed public texts; ``detail`` (the exception class and
    server error code) is for logs only.
    """

    def __init__(self, error_class: ErrorClass, operation: str, message: str, detail: str) -> None:
        super().__init__(f"{message} ({error_class} during {operation}: {detail})")
        self.error_class: ErrorClass = error_class
        self.operation = operation
        self.message = message
        self.detail = detail


@dataclass(frozen=True, slots=True)
class Set:
    """SET ``key`` ``value``."""

    key: str
    value: str


@dataclass(frozen=True, slots=True)
class Delete:
    """DEL ``key``."""

    key: str


@dataclass(frozen=True, slots=True)
class SAdd:
    """SADD ``key`` ``member``."""

    key: str
    member: str


@dataclass(frozen=True, slots=True)
class SRem:
    """SREM ``key`` ``member``."""

    key: str
    member: str


Op = Set | Delete | SAdd | SRem


class Tx(Protocol):
    """Reads inside a watched update: every key read is watched until the commit."""

    async def get(self, keys: Sequence[str]) -> list[str | None]: ...

    async def smembers(self, key: str) -> set[str]: ...


Update = Callable[[Tx], Awaitable[tuple[Sequence[Op], T]]]


class Store(Protocol):
    mode: Mode

    async def get(self, keys: Sequence[str]) -> list[str | None]:
        """One GET or MGET; values in key order, ``None`` when missing."""
        ...

    async def smembers(self, key: str) -> set[str]: ...

    async def list_index(self, index: str, prefix: str) -> list[tuple[str, str | None]]:
        """Every member of ``index`` with the value of ``prefix + member``, read together in
        one round trip for any size; ``None`` when that key is missing."""
        ...

    async def list_indexes(
        self, indexes: Sequence[tuple[str, str]]
    ) -> list[list[tuple[str, str | None]]]:
        """Several ``(index, prefix)`` listings in the same one round trip."""
        ...

    async def write(self, ops: Sequence[Op]) -> None:
        """Apply ``ops`` in one MULTI/EXEC."""
        ...

    async def update(self, fn: Update[T], *, operation: str, lock: str = "") -> T:
        """Optimistic read-modify-write: ``fn`` reads through the Tx and returns the ops to commit
        with a result. Restarted on a conflicting write, at most 5 attempts (FIX-E).

        Updates sharing a ``lock`` name are also serialised within this process, so WATCH only
        has to arbitrate between processes."""
        ...

    async def ping(self) -> float:
        """Round trip in milliseconds (including a connect when needed)."""
        ...

    async def aclose(self) -> None: ...
