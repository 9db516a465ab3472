"""The key of an outreach phone's queue: what was done offline is sealed so that the phone itself
cannot read it back.

The phone keeps, in IndexedDB, only a **public** key (P-256) the server handed it on an
authenticated request, with its id and its expiry. Each action done offline is sealed on the
phone (WebCrypto): a new ephemeral ECDH key pair, ECDH with the server's public key, HKDF-SHA256
to an AES-256-GCM key, the action encrypted with it, and the ephemeral private key dropped. What
the phone stores is the ephemeral public key, the nonce and the ciphertext: nobody holding the
phone, its browser profile or a copy of its storage can decrypt it, whoever they are; only the
server can, when the worker syncs, signed in.

The server's private key is not stored: it is derived from the application's secret key, the
user's id and the key id (``<issued-at>.<random>``), with HMAC-SHA512. A key id altered on the
phone (a later date, another user's) derives another key, and the action does not open. A key
id older than ``HIMAYA_OFFLINE_QUEUE_HOURS`` opens nothing: the phone wipes its queue then too.
No SQL and no Flask here.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

INFO = b"himaya-offline-queue-v1"
_KEY_ID = re.compile(r"^(?P<at>\d{9,11})\.(?P<nonce>[A-Za-z0-9_-]{12,32})$")
_ORDER = int("FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551", 16)  # of P-256
MAX_SEALED = 2_000_000  # characters of one sealed action (a listening's notes are far smaller)


class Unopenable(ValueError):
    """A sealed action that does not open: altered, too old, or not sealed for this user."""


@dataclass(frozen=True)
class QueueKey:
    key_id: str
    public_key: str  # uncompressed P-256 point, base64url (WebCrypto's "raw" format)
    expires_at: datetime


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: Any) -> bytes:
    if not isinstance(text, str) or len(text) > MAX_SEALED:
        raise Unopenable("not base64url text")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError):
        raise Unopenable("not base64url text") from None


def _private(secret: str, user_id: int, key_id: str) -> ec.EllipticCurvePrivateKey:
    seed = hmac.new(secret.encode("utf-8"), f"{INFO.decode()}|{user_id}|{key_id}".encode(), hashlib.sha512).digest()
    return ec.derive_private_key(int.from_bytes(seed, "big") % (_ORDER - 1) + 1, ec.SECP256R1())


def issued_at(key_id: str) -> datetime | None:
    matched = _KEY_ID.match(key_id) if isinstance(key_id, str) else None
    return datetime.fromtimestamp(int(matched["at"]), UTC) if matched else None


def queue_key(secret: str, user_id: int, now: datetime, lifetime: timedelta, key_id: str | None = None) -> QueueKey:
    """The public key of ``key_id`` when it is this user's and still young enough (the phone
    asking again for the key its queue was sealed with), else of a new key id."""
    issued = issued_at(key_id) if key_id else None
    if key_id is None or issued is None or not now - lifetime < issued <= now + timedelta(minutes=5):
        key_id, issued = f"{int(now.timestamp())}.{secrets.token_urlsafe(12)}", now
    public = _private(secret, user_id, key_id).public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    return QueueKey(key_id, _b64(public), issued + lifetime)


def open_sealed(secret: str, user_id: int, sealed: Any, now: datetime, lifetime: timedelta) -> Any:
    """The JSON value sealed by the phone (``{"key_id", "epk", "iv", "ct"}``); :class:`Unopenable`
    when it does not open, for whatever reason (never which: nothing to learn from it)."""
    if not isinstance(sealed, dict):
        raise Unopenable("not a sealed action")
    key_id = sealed.get("key_id")
    issued = issued_at(key_id) if isinstance(key_id, str) else None
    if not isinstance(key_id, str) or issued is None or issued <= now - lifetime:
        raise Unopenable("the key is unknown or too old")
    try:
        ephemeral = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), _unb64(sealed.get("epk")))
        shared = _private(secret, user_id, key_id).exchange(ec.ECDH(), ephemeral)
    except ValueError:
        raise Unopenable("not a point of the curve") from None
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"", info=INFO).derive(shared)
    nonce = _unb64(sealed.get("iv"))
    if len(nonce) != 12:
        raise Unopenable("a nonce of 12 bytes")
    try:
        plain = AESGCM(key).decrypt(nonce, _unb64(sealed.get("ct")), key_id.encode("ascii"))
        return json.loads(plain.decode("utf-8"))
    except (InvalidTag, UnicodeDecodeError, ValueError):
        raise Unopenable("altered, or sealed for someone else") from None
