"""``serve``'s transport: what one loop turn writes leaves as one send, in order, on real sockets."""

from __future__ import annotations

import asyncio
import io
import sys
from collections.abc import AsyncIterator

import pytest

from mathvisuals.cli.serve_protocol import _OneSendPerTurn
from mathvisuals.logs import EventLog, turn_buffered_stdout_sink

pytestmark = pytest.mark.anyio


class Collect(asyncio.Protocol):
    def __init__(self) -> None:
        self.received = b""
        self.closed = asyncio.Event()

    def data_received(self, data: bytes) -> None:
        self.received += data

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed.set()


@pytest.fixture
async def link() -> AsyncIterator[tuple[_OneSendPerTurn, list[bytes], Collect]]:
    """A real loopback connection; the client side's sends are recorded as they are made."""
    loop = asyncio.get_running_loop()
    peer = Collect()
    server = await loop.create_server(lambda: peer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    transport, _ = await loop.create_connection(asyncio.Protocol, "127.0.0.1", port)
    sends: list[bytes] = []
    real_write = transport.write

    def counted(data: bytes | bytearray | memoryview) -> None:
        sends.append(bytes(data))
        real_write(data)

    transport.write = counted  # type: ignore[method-assign]
    yield _OneSendPerTurn(transport, loop), sends, peer
    transport.close()
    server.close()


async def test_writes_of_one_turn_leave_as_one_send(
    link: tuple[_OneSendPerTurn, list[bytes], Collect],
) -> None:
    wrapped, sends, peer = link
    wrapped.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n")
    wrapped.write(b"{}")
    assert sends == []  # nothing leaves before the turn ends
    await asyncio.sleep(0)
    assert sends == [b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}"]
    wrapped.write(b"next")
    await asyncio.sleep(0.05)
    assert len(sends) == 2
    assert peer.received.endswith(b"{}next")


async def test_close_sends_what_is_pending_first_and_later_writes_are_dropped(
    link: tuple[_OneSendPerTurn, list[bytes], Collect],
) -> None:
    wrapped, sends, peer = link
    wrapped.write(b"HTTP/1.1 408 Request Timeout\r\n\r\n")
    wrapped.close()
    wrapped.write(b"late")
    await asyncio.wait_for(peer.closed.wait(), 5)
    assert peer.received == b"HTTP/1.1 408 Request Timeout\r\n\r\n"
    assert sends == [b"HTTP/1.1 408 Request Timeout\r\n\r\n"]
    assert wrapped.is_closing()  # everything else is the real transport's


class CountingStdout(io.StringIO):
    def __init__(self) -> None:
        super().__init__()
        self.flushes = 0
        self.flushed = ""

    def flush(self) -> None:
        self.flushes += 1
        self.flushed = self.getvalue()


async def test_log_lines_of_one_turn_are_flushed_once_at_its_end(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    out = CountingStdout()
    monkeypatch.setattr(sys, "stdout", out)
    log = EventLog(turn_buffered_stdout_sink)
    for n in range(3):
        log.emit("http.access", n=n)
    assert out.flushes == 0
    await asyncio.sleep(0)
    assert out.flushes == 1
    assert [line.count('"event":"http.access"') for line in out.flushed.splitlines()] == [1] * 3
    log.emit("http.access", n=3)
    await asyncio.sleep(0)
    assert out.flushes == 2


def test_outside_a_loop_each_log_line_is_flushed(monkeypatch: pytest.MonkeyPatch) -> None:
    out = CountingStdout()
    monkeypatch.setattr(sys, "stdout", out)
    EventLog(turn_buffered_stdout_sink).emit("store.ready")
    assert out.flushes == 1 and '"event":"store.ready"' in out.flushed
