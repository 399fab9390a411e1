"""Secret hygiene for every output stream (deploy.md §5.12).

Each secret value the tool holds is registered here (``SecretValue`` does it on creation);
the CLI wraps stdout and stderr so any registered value, raw or URL-encoded, prints as ``***``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TextIO
from urllib.parse import quote, quote_plus

MASK = "***"
_lock = threading.Lock()
_values: set[str] = set()
_on_register: list[Callable[[str], None]] = []


def register(value: str) -> None:
    """Mask ``value`` from now on (values under 6 characters would mask ordinary text)."""
    if len(value) < 6:
        return
    forms = {value, quote(value, safe=""), quote_plus(value), quote(value)}
    with _lock:
        new = forms - _values
        _values.update(forms)
    if value in new:
        for hook in list(_on_register):
            hook(value)


def on_register(hook: Callable[[str], None]) -> None:
    _on_register.append(hook)


def scrub(text: str) -> str:
    if not _values:
        return text
    with _lock:
        values = sorted(_values, key=len, reverse=True)
    for value in values:
        if value in text:
            text = text.replace(value, MASK)
    return text


class ScrubbingStream:
    """A text stream that masks registered secrets before writing to the real one."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    @property
    def raw(self) -> TextIO:
        return self._stream

    def write(self, text: str) -> int:
        self._stream.write(scrub(text))
        return len(text)

    def flush(self) -> None:
        self._stream.flush()

    def isatty(self) -> bool:
        return self._stream.isatty()

    def fileno(self) -> int:
        return self._stream.fileno()

    @property
    def encoding(self) -> str:
        return self._stream.encoding

    def __getattr__(self, name: str) -> object:
        return getattr(self._stream, name)
