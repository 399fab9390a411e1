"""``serve`` closes half-sent requests (issue #13): real sockets against a real process."""

from __future__ import annotations

import http.client
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest

from tests.api.test_server_process import ApiProcess

HALF_HEADERS = b"PUT /api/examples?path=/slow HTTP/1.1\r\nHost: localhost\r\nContent-Le"
HALF_BODY = (
    b"PUT /api/examples?path=/slow HTTP/1.1\r\nHost: localhost\r\n"
    b"Content-Type: application/json\r\nContent-Length: 200\r\n\r\n"
    b'{"examples":['
)
# Far above the 1 s deadlines; the server closes each socket long before.
WAIT_S = 15


@pytest.fixture
def api(tmp_path: Path) -> Iterator[ApiProcess]:
    server = ApiProcess({}, tmp_path / "api.log", "--header-timeout", "1", "--body-timeout", "1")
    yield server
    server.stop()


def _open(api: ApiProcess, data: bytes) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", api.port), timeout=WAIT_S)
    if data:
        sock.sendall(data)
    return sock


def _read_until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends before it closes; socket.timeout if it never does."""
    received = b""
    while chunk := sock.recv(4096):
        received += chunk
    sock.close()
    return received


def test_half_sent_requests_are_closed(api: ApiProcess) -> None:
    """Upstream-style uvicorn kept 100 such connections open for as long as the clients liked."""
    silent = [_open(api, b"") for _ in range(10)]
    headers = [_open(api, HALF_HEADERS) for _ in range(10)]
    bodies = [_open(api, HALF_BODY) for _ in range(10)]
    for sock in silent + headers:
        answer = _read_until_closed(sock)
        assert answer.startswith(b"HTTP/1.1 408 "), answer
        assert answer.endswith(b'{"error":"Request Timeout"}')
    for sock in bodies:
        assert not _read_until_closed(sock).startswith(b"HTTP/1.1 200")
    # The server is still there, and nothing half-sent was stored.
    assert httpx2.get(api.url + "/api/examples?path=/slow").status_code == 404


def test_complete_requests_on_a_kept_alive_connection_are_not_cut(api: ApiProcess) -> None:
    body: dict[str, list[object]] = {"examples": [], "deletedProvided": []}
    with httpx2.Client(base_url=api.url) as client:
        for n in range(3):
            assert client.put(f"/api/examples?path=/k{n}", json=body).status_code == 200
        assert client.get("/api/examples").status_code == 200


def test_an_idle_kept_alive_connection_outlives_a_clients_idle_expiry(api: ApiProcess) -> None:
    """httpx drops idle connections after 5 s; were the server to drop them at 5 s too, a
    request sent on one at that moment would be reset (the soak saw it)."""
    connection = http.client.HTTPConnection("127.0.0.1", api.port, timeout=WAIT_S)
    try:
        connection.request("GET", "/api/health")
        assert connection.getresponse().read() and connection.sock is not None
        first = connection.sock.getsockname()
        time.sleep(5.5)  # past httpx's keep-alive expiry and uvicorn's default
        connection.request("GET", "/api/health")  # on the same socket: no reconnect
        response = connection.getresponse()
        assert response.status == 200 and connection.sock.getsockname() == first
    finally:
        connection.close()
