"""A Unix-socket relay the sandboxed answer reaches its database through.

The answer's process has no TCP (see :mod:`.confine`) and no credentials: the grader opens
each upstream connection itself, already scoped (a Valkey user for one logical database; a
MongoDB connection whose every request the MongoDB gate reads first), and relays bytes.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

# client bytes -> (bytes to send upstream, bytes to answer the client with); raise to hang up
Filter = Callable[[bytes], tuple[bytes, bytes]]
Framer = Callable[[socket.socket], Iterator[bytes]]  # the client's requests, one at a time
CHUNK = 65536


def _copy(src: socket.socket, dst: socket.socket, lock: threading.Lock) -> None:
    with contextlib.suppress(OSError):
        while data := src.recv(CHUNK):
            with lock:
                dst.sendall(data)
    for sock in (src, dst):
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


def _filtered(
    client: socket.socket, upstream: socket.socket, read: Framer, check: Filter | None, lock
) -> None:
    with contextlib.suppress(OSError, ValueError):
        for request in read(client):
            forward, answer = check(request) if check else (request, b"")
            if forward:
                upstream.sendall(forward)
            if answer:
                with lock:
                    client.sendall(answer)
    for sock in (client, upstream):
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


@dataclass
class Relay:
    path: Path
    connections: int = 0


@contextlib.contextmanager
def serve(
    path: Path,
    connect: Callable[[], socket.socket],
    uid: int | None,
    framer: Framer | None = None,
    check: Filter | None = None,
) -> Iterator[Relay]:
    """Listen on ``path`` while the block runs; each client gets its own ``connect()``. With a
    ``framer``, the client's requests pass one by one through ``check`` (as they are without
    one); without, bytes are copied."""
    relay = Relay(path)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    if uid is not None:
        os.chown(path, uid, uid)
    listener.listen(16)
    sockets: list[socket.socket] = [listener]

    def accept() -> None:
        with contextlib.suppress(OSError):
            while True:
                client, _ = listener.accept()
                try:
                    upstream = connect()
                except OSError:
                    client.close()
                    continue
                sockets.extend((client, upstream))
                relay.connections += 1
                lock = threading.Lock()
                up: tuple = (client, upstream, lock)
                if framer:
                    down = threading.Thread(target=_filtered, args=(*up[:2], framer, check, lock))
                else:
                    down = threading.Thread(target=_copy, args=up)
                back = threading.Thread(target=_copy, args=(upstream, client, lock))
                for thread in (down, back):
                    thread.daemon = True
                    thread.start()

    acceptor = threading.Thread(target=accept, daemon=True)
    acceptor.start()
    try:
        yield relay
    finally:
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        acceptor.join(timeout=2)
