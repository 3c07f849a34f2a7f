"""The tcp:// transport over real loopback sockets (a network printer on port 9100)."""
from __future__ import annotations

import socket
import threading

import pytest

from devices.errors import TransportError
from devices.transport import open_transport


def test_tcp_transport_talks_to_a_socket_printer():
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    received: list[bytes] = []

    def serve() -> None:
        conn, _ = server.accept()
        with conn:
            received.append(conn.recv(64))
            conn.sendall(b"\x12")
            conn.recv(64)  # wait until the client closes

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    t = open_transport(f"tcp://127.0.0.1:{port}")
    try:
        t.write(b"\x10\x04\x04")
        assert t.read(1, 5.0) == b"\x12"
        assert t.read(1, 0.05) == b""
        assert received == [b"\x10\x04\x04"]
    finally:
        t.close()
        thread.join(5)
        server.close()


def test_tcp_refused_connection_is_a_transport_error():
    s = socket.create_server(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    with pytest.raises(TransportError, match=f"tcp://127.0.0.1:{port}: cannot connect"):
        open_transport(f"tcp://127.0.0.1:{port}")
