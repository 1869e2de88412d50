"""SCRAM-SHA-256 (RFC 5802, RFC 7677) as MongoDB speaks it: credentials, server and client.

MongoDB keeps per user a random salt, an iteration count (15000 by default), ``StoredKey`` and
``ServerKey``; never the password. The password is SASLprep-ed (RFC 4013) first, as pymongo
does for SCRAM-SHA-256. The conversation (``saslStart``/``saslContinue`` payloads):

- client-first ``n,,n=<user>,r=<client nonce>``
- server-first ``r=<client nonce + server nonce>,s=<salt b64>,i=<iterations>``
- client-final ``c=biws,r=<nonce>,p=<proof b64>``
- server-final ``v=<server signature b64>`` (or ``e=...``)
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any

MECHANISM = "SCRAM-SHA-256"
ITERATIONS = 15000  # MongoDB's scramSHA256IterationCount default
SALT_BYTES = 28  # as MongoDB's


class ScramError(ValueError):
    """The client's message is malformed or its proof is wrong (Authentication failed)."""


def _prep(password: str) -> bytes:
    from pymongo.saslprep import saslprep

    return saslprep(password).encode("utf-8")


def _hmac(key: bytes, message: bytes) -> bytes:
    return hmac.digest(key, message, "sha256")


def _b64(data: bytes) -> str:
    return base64.standard_b64encode(data).decode("ascii")


def keys(password: str, salt: bytes, iterations: int) -> tuple[bytes, bytes]:
    """``(ClientKey, ServerKey)`` of ``password``."""
    salted = hashlib.pbkdf2_hmac("sha256", _prep(password), salt, iterations)
    return _hmac(salted, b"Client Key"), _hmac(salted, b"Server Key")


def credentials(password: str, iterations: int = ITERATIONS) -> dict[str, Any]:
    """What the server stores for ``password`` (MongoDB's ``credentials.SCRAM-SHA-256``)."""
    salt = secrets.token_bytes(SALT_BYTES)
    client_key, server_key = keys(password, salt, iterations)
    return {
        "iterationCount": iterations,
        "salt": _b64(salt),
        "storedKey": _b64(hashlib.sha256(client_key).digest()),
        "serverKey": _b64(server_key),
    }


def escape_name(name: str) -> str:
    return name.replace("=", "=3D").replace(",", "=2C")


def unescape_name(name: str) -> str:
    return name.replace("=2C", ",").replace("=3D", "=")


def attributes(message: str) -> dict[str, str]:
    """``a=1,b=2`` as ``{"a": "1", "b": "2"}`` (values may contain ``=``)."""
    pairs = (part.split("=", 1) for part in message.split(",") if part)
    return {key: value for key, value in (p for p in pairs if len(p) == 2)}


@dataclass
class ServerConversation:
    """One client's SCRAM exchange, on the server."""

    gs2_header: str
    client_first_bare: str
    user: str
    client_nonce: str
    server_first: str = ""

    @classmethod
    def start(cls, payload: bytes) -> ServerConversation:
        """From the client-first message."""
        text = payload.decode("utf-8")
        parts = text.split(",", 2)
        if len(parts) != 3 or parts[0] not in ("n", "y") or parts[1]:
            raise ScramError("channel binding and authzid are not supported")
        bare = parts[2]
        attrs = attributes(bare)
        if "n" not in attrs or "r" not in attrs:
            raise ScramError("client-first message without n= or r=")
        header = f"{parts[0]},{parts[1]},"
        return cls(header, bare, unescape_name(attrs["n"]), attrs["r"])

    def first(self, stored: dict[str, Any]) -> bytes:
        """The server-first message for the user's stored credentials."""
        nonce = self.client_nonce + _b64(secrets.token_bytes(24))
        self.server_first = f"r={nonce},s={stored['salt']},i={stored['iterationCount']}"
        return self.server_first.encode("utf-8")

    def final(self, payload: bytes, stored: dict[str, Any]) -> bytes:
        """Check the client's proof; the server-final message. Raises ScramError."""
        text = payload.decode("utf-8")
        without_proof, _, proof_part = text.rpartition(",p=")
        attrs = attributes(without_proof)
        nonce = attributes(self.server_first)["r"]
        if attrs.get("c") != _b64(self.gs2_header.encode()) or attrs.get("r") != nonce:
            raise ScramError("channel binding or nonce mismatch")
        message = f"{self.client_first_bare},{self.server_first},{without_proof}".encode()
        stored_key = base64.standard_b64decode(stored["storedKey"])
        try:
            proof = base64.standard_b64decode(proof_part)
        except ValueError:
            raise ScramError("proof is not base64") from None
        signature = _hmac(stored_key, message)
        if len(proof) != len(signature):
            raise ScramError("proof of the wrong length")
        client_key = bytes(a ^ b for a, b in zip(proof, signature, strict=True))
        if not hmac.compare_digest(hashlib.sha256(client_key).digest(), stored_key):
            raise ScramError("wrong proof")
        server_key = base64.standard_b64decode(stored["serverKey"])
        return f"v={_b64(_hmac(server_key, message))}".encode()


def client_exchange(send: Any, user: str, password: str) -> None:
    """Authenticate as a client: ``send(command) -> reply`` runs one command on the auth
    database (for connections pymongo does not make, e.g. the answer sandbox's gate).
    Raises ScramError if the server refuses or proves nothing."""
    nonce = _b64(secrets.token_bytes(24))
    bare = f"n={escape_name(user)},r={nonce}"
    from bson.binary import Binary

    reply = send(
        {
            "saslStart": 1,
            "mechanism": MECHANISM,
            "payload": Binary(f"n,,{bare}".encode()),
            "options": {"skipEmptyExchange": True},
        }
    )
    if reply.get("ok") != 1:
        raise ScramError(str(reply.get("errmsg", reply)))
    server_first = bytes(reply["payload"]).decode()
    attrs = attributes(server_first)
    if not attrs.get("r", "").startswith(nonce):
        raise ScramError("the server's nonce does not extend ours")
    client_key, server_key = keys(password, base64.standard_b64decode(attrs["s"]), int(attrs["i"]))
    without_proof = f"c=biws,r={attrs['r']}"
    message = f"{bare},{server_first},{without_proof}".encode()
    signature = _hmac(hashlib.sha256(client_key).digest(), message)
    proof = bytes(a ^ b for a, b in zip(client_key, signature, strict=True))
    reply = send(
        {
            "saslContinue": 1,
            "conversationId": reply["conversationId"],
            "payload": Binary(f"{without_proof},p={_b64(proof)}".encode()),
        }
    )
    if reply.get("ok") != 1:
        raise ScramError(str(reply.get("errmsg", reply)))
    expected = f"v={_b64(_hmac(server_key, message))}"
    if not hmac.compare_digest(bytes(reply["payload"]).decode(), expected):
        raise ScramError("the server's signature is wrong")
