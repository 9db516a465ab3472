"""Children's data encrypted at rest (law 09-08): authenticated encryption with data keys that the
database keeps only wrapped by a master key it never holds.

- The **master key** (key-encryption key) is 32 random bytes kept outside the database:
  ``HIMAYA_DATA_KEY`` (base64url), else the key file ``HIMAYA_DATA_KEY_FILE`` (default
  ``<instance>/data_key``), created 0600 at the first run of a new database and never written
  anywhere else (a database backup holds ciphertext only).
- **Data keys** (``data_keys``): AES-256 keys, each stored wrapped (AES-GCM) by the master key,
  with the master key's fingerprint, so a wrong master key is a clear :class:`KeyError` at
  start-up, never a silent fallback to plain text. One data key is active for new writes; older
  ones still open what they sealed until :func:`reencrypt` has moved every value to the active one.
- A **sealed value** is ``b"H1" + key id (4 bytes) + nonce (12 bytes) + ciphertext and tag``;
  the column's name is its associated data, so a value moved to another column does not open.
- Columns declare :class:`Sealed` (text, JSON or bytes): SQLAlchemy seals on write and opens on
  read with the keyring of the engine the statement runs on (:func:`attach`), so every path —
  the command path's Core statements, the readers' ORM sessions, migrations — goes through it.
  An engine without a keyring refuses to write or read a sealed column.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Connection, Dialect, LargeBinary, TypeDecorator, text

NO_MASTER_KEY = ("no master key: set HIMAYA_DATA_KEY, or keep the key file (HIMAYA_DATA_KEY_FILE, default "
                 "instance/data_key) that was created with this database")
MAGIC = b"H1"
_HEADER = struct.Struct(">2sI12s")  # magic, key id, nonce
KEY_BYTES = 32
FINGERPRINT_INFO = b"himaya master key fingerprint"
WRAP_INFO = b"himaya data key"


class KeyProblem(Exception):
    """The master key is missing, malformed, or does not open this database's data keys."""


class SealedValueError(ValueError):
    """A sealed value is truncated, tampered with, or sealed by a key this database does not hold."""


@dataclass(frozen=True)
class MasterKey:
    """The key-encryption key, and where it came from (for the error messages; never in a repr)."""

    key: bytes = field(repr=False)
    source: str = "HIMAYA_DATA_KEY"

    @property
    def fingerprint(self) -> str:
        return hmac.new(self.key, FINGERPRINT_INFO, hashlib.sha256).hexdigest()[:16]

    def wrap(self, data_key: bytes, key_id: int) -> bytes:
        nonce = secrets.token_bytes(12)
        return nonce + AESGCM(self.key).encrypt(nonce, data_key, WRAP_INFO + struct.pack(">I", key_id))

    def unwrap(self, wrapped: bytes, key_id: int) -> bytes:
        try:
            return AESGCM(self.key).decrypt(wrapped[:12], wrapped[12:], WRAP_INFO + struct.pack(">I", key_id))
        except InvalidTag:
            raise KeyProblem(f"the master key ({self.source}) does not open data key {key_id}: "
                             "is HIMAYA_DATA_KEY (or the key file) the one this database was created with?") from None


def parse_master_key(value: str, source: str) -> MasterKey:
    """A master key written as base64url (43 or 44 characters)."""
    try:
        raw = base64.urlsafe_b64decode(value.strip() + "=" * (-len(value.strip()) % 4))
    except (ValueError, TypeError):
        raw = b""
    if len(raw) != KEY_BYTES:
        raise KeyProblem(f"{source} must hold 32 bytes written as base64url (e.g. the output of "
                         "`himaya keys new`)")
    return MasterKey(raw, source)


def new_master_key_text() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(KEY_BYTES)).decode().rstrip("=")


def master_key_from(env: dict[str, str] | None = None, *, instance: Path | None = None,
                    create: bool = False) -> MasterKey | None:
    """The master key from ``HIMAYA_DATA_KEY`` or the key file (``HIMAYA_DATA_KEY_FILE``, default
    ``<instance>/data_key``); with ``create``, a new key file (0600) when there is none. None when
    there is none and ``create`` is false."""
    env = dict(os.environ if env is None else env)
    if env.get("HIMAYA_DATA_KEY"):
        return parse_master_key(env["HIMAYA_DATA_KEY"], "HIMAYA_DATA_KEY")
    path = Path(env.get("HIMAYA_DATA_KEY_FILE") or (instance or Path(env.get("HIMAYA_INSTANCE_PATH") or "instance"))
                / "data_key")
    if path.exists():
        return parse_master_key(path.read_text(encoding="ascii"), f"the key file {path}")
    if not create:
        return None
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
        handle.write(new_master_key_text() + "\n")
    return parse_master_key(path.read_text(encoding="ascii"), f"the key file {path}")


@dataclass
class Keyring:
    """The data keys of one database, opened with the master key on first use (``loader`` reads
    them); :meth:`seal` uses the active one. A value sealed by a key added since (by another
    process) makes it read the keys again once."""

    master: MasterKey | None
    loader: Callable[[], Opened] = field(repr=False)
    keys: dict[int, AESGCM] = field(default_factory=dict, repr=False)
    active: int | None = None
    index: bytes = field(default=b"", repr=False)  # the key of the keyed hashes (search keys)
    loaded: bool = False
    purposes: dict[tuple[bytes, str], bytes] = field(default_factory=dict, repr=False)  # keys derived from it

    def ensure(self) -> None:
        if not self.loaded:
            self.reload()

    def reload(self) -> None:
        self._take(self.loader())

    def opened_on(self, conn: Connection) -> None:
        """Read the data keys on this connection (a migration's, which sees the keys it just made)."""
        if self.master is None:
            raise KeyProblem(NO_MASTER_KEY)
        self._take(load(conn, self.master))

    def _take(self, opened: Opened) -> None:
        self.keys, self.active, self.index = opened.keys, opened.active, opened.index
        self.loaded = True

    def hashed(self, value: str) -> str:
        """A keyed hash of a value (HMAC-SHA256 with the index key, 22 base64url characters): equal
        values give equal hashes, so an index can find them, and without the key none can be
        guessed from a list of names."""
        self.ensure()
        if not self.index:
            raise KeyProblem("this database has no data key yet: run the migrations (`himaya migrate`)")
        digest = hmac.new(self.index, value.encode(), hashlib.sha256).digest()[:16]
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def hashed_key(self, key: str) -> str:
        """A name's search key hashed with its kind kept (``n:…``, ``p:…``): the kinds weigh a match
        (:func:`engine.names.field_match`)."""
        kind, colon, value = key.partition(":")
        return f"{kind}:{self.hashed(key)}" if colon else self.hashed(key)

    def digest(self, purpose: str, data: bytes) -> str:
        """A keyed hash of ``data`` for one purpose (HMAC-SHA256 in hex, with a key derived from the
        index key and the purpose: ``answers``, ``audit chain``): nobody without the master key can
        compute one, or guess short values (a "yes", a date) from it."""
        self.ensure()
        if not self.index:
            raise KeyProblem("this database has no data key yet: run the migrations (`himaya migrate`)")
        key = self.purposes.get((self.index, purpose))
        if key is None:
            key = self.purposes[(self.index, purpose)] = hmac.new(
                self.index, b"himaya " + purpose.encode(), hashlib.sha256).digest()
        return hmac.new(key, data, hashlib.sha256).hexdigest()

    def seal(self, plain: bytes, column: str) -> bytes:
        self.ensure()
        if self.active is None:
            raise KeyProblem("this database has no data key yet: run the migrations (`himaya migrate`)")
        nonce = secrets.token_bytes(12)
        header = _HEADER.pack(MAGIC, self.active, nonce)
        return header + self.keys[self.active].encrypt(nonce, plain, header + column.encode())

    def open(self, sealed: bytes, column: str) -> bytes:
        if len(sealed) < _HEADER.size + 16 or sealed[:2] != MAGIC:
            raise SealedValueError(f"{column}: not a sealed value (truncated or written in clear)")
        _magic, key_id, nonce = _HEADER.unpack_from(sealed)
        self.ensure()
        if key_id not in self.keys:
            self.reload()
        key = self.keys.get(key_id)
        if key is None:
            raise SealedValueError(f"{column}: sealed by data key {key_id}, which this database does not hold")
        try:
            return key.decrypt(nonce, sealed[_HEADER.size:], sealed[:_HEADER.size] + column.encode())
        except InvalidTag:
            raise SealedValueError(f"{column}: the value was altered or truncated") from None

    @staticmethod
    def key_id_of(sealed: bytes) -> int:
        return int(_HEADER.unpack_from(sealed)[1])


# --- the data keys of a database ------------------------------------------------------------------

DATA_KEYS = "data_keys"


INDEX_INFO = b"himaya index key"


@dataclass(frozen=True)
class Opened:
    """A database's data keys, opened: by id, the active one's id, and the index key (derived from
    the first data key, which is never replaced, so the search keys outlive a rotation)."""

    keys: dict[int, AESGCM]
    active: int | None
    index: bytes = field(repr=False)


def load(conn: Connection, master: MasterKey) -> Opened:
    """Open every data key of the database with the master key (:class:`KeyProblem` when it is the
    wrong one)."""
    rows = conn.execute(text(f"SELECT id, wrapped, fingerprint, active FROM {DATA_KEYS} ORDER BY id")).all()
    keys: dict[int, AESGCM] = {}
    active, index = None, b""
    for row in rows:
        if row.fingerprint != master.fingerprint:
            raise KeyProblem(f"the master key ({master.source}) is not the one that wraps this database's data "
                             f"key {row.id} (fingerprint {master.fingerprint}, expected {row.fingerprint}): start "
                             "with the right HIMAYA_DATA_KEY or key file")
        raw = master.unwrap(bytes(row.wrapped), row.id)
        keys[row.id] = AESGCM(raw)
        if not index:
            index = hmac.new(raw, INDEX_INFO, hashlib.sha256).digest()
        if row.active:
            active = row.id
    return Opened(keys, active, index)


def create_data_key(conn: Connection, master: MasterKey, *, now: datetime | None = None) -> int:
    """A new active data key (the previous ones stay, to open what they sealed)."""
    key_id = int(conn.execute(text(f"SELECT COALESCE(MAX(id), 0) + 1 FROM {DATA_KEYS}")).scalar_one())
    conn.execute(text(f"UPDATE {DATA_KEYS} SET active = :no WHERE active = :yes"), {"no": False, "yes": True})
    conn.execute(text(f"INSERT INTO {DATA_KEYS} (id, wrapped, fingerprint, active, created_at) "
                      "VALUES (:id, :wrapped, :fingerprint, :active, :at)"),
                 {"id": key_id, "wrapped": master.wrap(secrets.token_bytes(KEY_BYTES), key_id),
                  "fingerprint": master.fingerprint, "active": True, "at": now or datetime.now(UTC)})
    return key_id


def rewrap(conn: Connection, old: MasterKey, new: MasterKey) -> int:
    """Wrap every data key with a new master key (the data itself is not touched); returns how many."""
    rows = conn.execute(text(f"SELECT id, wrapped FROM {DATA_KEYS} ORDER BY id")).all()
    for row in rows:
        conn.execute(text(f"UPDATE {DATA_KEYS} SET wrapped = :wrapped, fingerprint = :fingerprint WHERE id = :id"),
                     {"wrapped": new.wrap(old.unwrap(bytes(row.wrapped), row.id), row.id),
                      "fingerprint": new.fingerprint, "id": row.id})
    return len(rows)


# --- the engine's keyring, and the column type ------------------------------------------------------

_ATTRIBUTE = "himaya_keyring"


def attach(dialect: Dialect, keyring: Keyring) -> None:
    """Give an engine (through its dialect, shared by its connections) the keyring its sealed
    columns use."""
    setattr(dialect, _ATTRIBUTE, keyring)


def keyring_of(dialect: Dialect) -> Keyring:
    keyring: Keyring | None = getattr(dialect, _ATTRIBUTE, None)
    if keyring is None:
        raise KeyProblem("this database connection has no data keys: open it through engine.db.Database")
    return keyring


class Sealed(TypeDecorator[Any]):
    """A column stored sealed: ``kind`` ``text`` (str), ``json`` (any JSON value), ``date`` or ``bytes``;
    ``column`` (``table.column``) is bound to each value as associated data."""

    impl = LargeBinary
    cache_ok = True

    def __init__(self, column: str, kind: str = "text") -> None:
        super().__init__()
        self.column, self.kind = column, kind

    def process_bind_param(self, value: Any, dialect: Dialect) -> bytes | None:
        if value is None:
            return None
        if self.kind == "json":
            plain = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str).encode()
        elif self.kind == "date":
            plain = value.isoformat().encode()
        elif self.kind == "bytes":
            plain = bytes(value)
        else:
            plain = str(value).encode()
        return keyring_of(dialect).seal(plain, self.column)

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        plain = keyring_of(dialect).open(bytes(value), self.column)
        if self.kind == "json":
            return json.loads(plain)
        if self.kind == "date":
            return date.fromisoformat(plain.decode())
        if self.kind == "bytes":
            return plain
        return plain.decode()


def sealed_columns(metadata: Any) -> list[tuple[str, str, Sealed]]:
    """Every (table, column, type) declared sealed in the models."""
    return [(table.name, column.name, column.type) for table in metadata.sorted_tables
            for column in table.columns if isinstance(column.type, Sealed)]
