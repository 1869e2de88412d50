"""``dojo grade``'s side of the check server (:mod:`dbdojo.commands.grade_server`).

It hands the command line to the server of this checkout with nothing imported but the
standard library's ``socket`` and ``json``, so a grade costs the interpreter's start and the
check, not the ~0.3 s of imports and logins of a fresh process. :func:`ask` returns ``None``
whenever the server cannot answer this request (none runs, another Python environment, code
changed since it started, it died mid-check): the caller then grades in its own process, so
the answer is graded either way.
"""

from __future__ import annotations

import json
import os
import socket
import sys

PROTOCOL = 1
SOCKET_NAME = "check.sock"
OFF_ENV = "DOJO_CHECK_SERVER"  # 0/off/no/false: no check server (grade in-process)
MAX_SOCKET_PATH = 100  # a Unix socket's path is limited to 107 bytes on Linux
CONNECT_TIMEOUT = 2.0
REPLY_TIMEOUT = 600.0  # a check is bounded by its own statement limits, far below this


def enabled() -> bool:
    return os.environ.get(OFF_ENV, "").strip().lower() not in ("0", "off", "no", "false")


def socket_path(state_dir: str) -> str:
    return os.path.join(state_dir, SOCKET_NAME)


def identity() -> dict:
    """What must match between client and server for the server's code to be this process's."""
    return {
        "prefix": sys.prefix,
        "version": sys.version,
        "pythonpath": os.environ.get("PYTHONPATH", ""),
    }


def request(argv: list[str]) -> dict:
    return {
        "protocol": PROTOCOL,
        "argv": argv,
        "cwd": os.getcwd(),
        "env": dict(os.environ),
        **identity(),
    }


def call(path: str, message: dict, timeout: float = REPLY_TIMEOUT) -> dict | None:
    """Send one request to the server at ``path``; its decoded reply, or None if none came."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.settimeout(CONNECT_TIMEOUT)
            conn.connect(path)
            conn.settimeout(timeout)
            conn.sendall(json.dumps(message).encode() + b"\n")
            conn.shutdown(socket.SHUT_WR)
            chunks = []
            while chunk := conn.recv(1 << 16):
                chunks.append(chunk)
        reply = json.loads(b"".join(chunks))
    except (OSError, ValueError):  # not running, refused, died mid-check, cut short
        return None
    return reply if isinstance(reply, dict) else None


def ask(argv: list[str], state_dir: str) -> int | None:
    """Run ``dojo <argv>`` on the check server, print what it printed; its exit status, or
    None when the caller must run the command itself."""
    if not enabled():
        return None
    reply = call(socket_path(state_dir), request(argv))  # None when none listens there
    if reply is None or "exit" not in reply:  # refused: the reason is in the server's log
        return None
    sys.stdout.write(reply.get("stdout", ""))
    sys.stdout.flush()
    sys.stderr.write(reply.get("stderr", ""))
    sys.stderr.flush()
    return int(reply["exit"])
