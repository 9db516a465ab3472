"""What the data keys seal, checked and moved (``himaya keys check|rotate``, :mod:`engine.crypto`).

:func:`broken` opens every sealed value and names the records that do not open (altered,
truncated, sealed by a key the database does not hold) without ever showing a value;
:func:`reencrypt` seals again, with the active data key, every value sealed by an older one,
in batches — each page read, sealed again outside any transaction, then written only where the
stored value is still the one read — so that, interrupted, it resumes where it stopped (a value
already moved is passed over). The audit trail's details move too: the database lets ``detail``
change (engine.audit), and the hash chain covers what a detail says, not how it is sealed. Data
keys are never deleted: a backup may still hold values an older key sealed.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import LargeBinary, bindparam, select, type_coerce, update

from . import crypto
from .db import Database
from .models import Base

BATCH = 500


@dataclass(frozen=True)
class Broken:
    table: str
    column: str
    key: str
    problem: str


def _columns() -> list[tuple[str, str]]:
    return [(table, column) for table, column, _type in crypto.sealed_columns(Base.metadata)]


def _key_column(table: str) -> str:
    primary = list(Base.metadata.tables[table].primary_key.columns)
    return primary[0].name


def broken(database: Database) -> Iterator[Broken]:
    """Every sealed value that does not open (read as raw bytes, opened one by one)."""
    keyring = database.keys
    keyring.ensure()
    for table, column in _columns():
        raw = Base.metadata.tables[table].c[column]
        key = Base.metadata.tables[table].c[_key_column(table)]
        query = select(key, type_coerce(raw, LargeBinary())).where(raw.is_not(None))
        with database.engine.connect() as conn:
            for row_key, value in conn.execute(query):
                try:
                    keyring.open(bytes(value), f"{table}.{column}")
                except crypto.SealedValueError as error:
                    yield Broken(table, column, str(row_key), str(error).split(": ", 1)[-1])


def reencrypt(database: Database) -> int:
    """Seal with the active data key every value sealed by an older one; returns how many values
    moved (a value changed meanwhile by a command is left as the command wrote it)."""
    keyring = database.keys
    keyring.reload()
    moved = 0
    for table, column in _columns():
        name = f"{table}.{column}"
        target = Base.metadata.tables[table]
        key = target.c[_key_column(table)]
        raw = type_coerce(target.c[column], LargeBinary())
        statement = (update(target).where(key == bindparam("k"), raw == bindparam("old", type_=LargeBinary()))
                     .values({column: bindparam("v", type_=LargeBinary())}))
        last = None
        while True:  # one page of keys at a time: read, sealed again, then a short write
            page = select(key, raw).where(target.c[column].is_not(None)).order_by(key).limit(BATCH)
            with database.engine.connect() as conn:
                rows = conn.execute(page if last is None else page.where(key > last)).all()
            if not rows:
                break
            last = rows[-1][0]
            stale = [{"k": k, "old": bytes(v), "v": keyring.seal(keyring.open(bytes(v), name), name)}
                     for k, v in rows if crypto.Keyring.key_id_of(bytes(v)) != keyring.active]
            if stale:
                with database.write_connection() as conn:
                    moved += conn.execute(statement, stale).rowcount
    return moved
