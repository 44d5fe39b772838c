"""Loopback ports for test servers (shared by the interop and browser tests)."""

from __future__ import annotations

import socket


def free_ports(count: int) -> tuple[int, ...]:
    """Ports free now on 127.0.0.1 (held together while chosen, so they differ)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return tuple(int(sock.getsockname()[1]) for sock in sockets)
    finally:
        for sock in sockets:
            sock.close()
