"""The gRPC address shared by the workers: parsing ``host:port`` and reserving the port with SO_REUSEPORT."""

from __future__ import annotations

import socket


def split_address(address: str) -> tuple[str, int]:
    """``host:port`` or ``[v6]:port`` -> (host, port)."""
    host, _, port = address.rpartition(":")
    return host.strip("[]"), int(port)


def join_address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def reserve_port(address: str) -> tuple[socket.socket, int]:
    """Bind (not listen) the gRPC address with SO_REUSEPORT and return the socket and its port.

    Raises ``OSError`` when another program holds the port. The workers bind the same address with SO_REUSEPORT;
    this socket never listens, so the kernel never hands it a connection.
    """
    host, port = split_address(address)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host or "0.0.0.0", port))  # noqa: S104 - an empty host means every interface, as gRPC reads it
    except OSError:
        sock.close()
        raise
    return sock, int(sock.getsockname()[1])
