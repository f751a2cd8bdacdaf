"""Slow and oversized requests are cut off by the server itself, before they cost the app
anything: a raw socket plays the hostile client against the real server (uvicorn, httptools),
and a well-behaved client is served as before."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest

from tests.resolvers.conftest import blank_store, serve


@pytest.fixture(scope="module")
def guarded_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server whose limits on a request's arrival are small enough for a test to reach."""
    yield from serve(
        blank_store(tmp_path_factory, "guarded"),
        token=None,
        header_timeout=1.0,
        body_timeout=1.0,
        max_url_bytes=2048,
        max_header_bytes=8192,
    )


def _connect(server: str) -> socket.socket:
    where = urlsplit(server)
    return socket.create_connection((where.hostname or "", where.port or 80), timeout=30)


def _answer(connection: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    received = b""
    while chunk := connection.recv(65536):
        received += chunk
    return received


def _trickle(connection: socket.socket, data: bytes) -> None:
    """Send `data` a byte every 0.2 s, as a slow-loris client does, until the server hangs up."""
    for byte in data:
        try:
            connection.sendall(bytes([byte]))
        except OSError:  # cut off: what the test waits for
            return
        time.sleep(0.2)


def test_headers_trickled_byte_by_byte_are_cut_off_with_408(guarded_server: str) -> None:
    with _connect(guarded_server) as connection:
        _trickle(connection, b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 50)
        answer = _answer(connection)

    assert answer.startswith(b"HTTP/1.1 408 ")
    assert b'"request_timeout"' in answer and b"headers did not arrive within 1 s" in answer


def test_a_connection_that_sends_nothing_is_closed(guarded_server: str) -> None:
    with _connect(guarded_server) as connection:
        answer = _answer(connection)

    assert answer.startswith(b"HTTP/1.1 408 ")


def test_a_body_trickled_byte_by_byte_is_cut_off_with_408(guarded_server: str) -> None:
    body = b'{"query": "speech recognition", "first": 3}'
    head = (
        b"POST /api/v1/search HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\n\r\n" % len(body)
    )
    with _connect(guarded_server) as connection:
        connection.sendall(head)
        _trickle(connection, body)
        answer = _answer(connection)

    assert answer.startswith(b"HTTP/1.1 408 ")
    assert b"body did not arrive within 1 s" in answer


def test_a_huge_url_is_refused_with_414(guarded_server: str) -> None:
    with _connect(guarded_server) as connection:
        connection.sendall(b"GET /sparql?query=" + b"A" * 10_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
        answer = _answer(connection)

    assert answer.startswith(b"HTTP/1.1 414 ")
    assert b"POST body" in answer  # the hint: where long input goes


def test_huge_headers_are_refused_with_431(guarded_server: str) -> None:
    headers = b"".join(b"X-Pad-%d: %s\r\n" % (n, b"p" * 1000) for n in range(20))
    with _connect(guarded_server) as connection:
        connection.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n" + headers + b"\r\n")
        answer = _answer(connection)

    assert answer.startswith(b"HTTP/1.1 431 ")
    assert b"headers_too_large" in answer


def test_a_well_behaved_client_is_served_and_kept_alive(guarded_server: str) -> None:
    with httpx.Client(base_url=guarded_server) as client:
        first = client.get("/health")
        time.sleep(0.5)  # idle, within the keep-alive timeout: the connection is reused
        second = client.post("/sparql", data={"query": "ASK {}"})

    assert first.status_code == 200
    assert second.status_code == 200
