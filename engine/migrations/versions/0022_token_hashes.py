"""token ids kept as their SHA-256: a copy of ``auth_tokens`` and the secret key forge nothing

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-03 10:00:00

``auth_tokens.id`` held a token's random id in clear, so that the table and the secret key
together could sign a valid bearer token. It now holds the SHA-256 of the id, base64url without
padding (43 characters: the column's length already). The upgrade hashes the ids in place, so a
token issued before it keeps working until it expires.

The downgrade cannot turn a hash back into an id: it **revokes every token** (deletes the rows),
and every user signs in again.
"""
import base64
import hashlib

import sqlalchemy as sa
from alembic import op

revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None

tokens = sa.table('auth_tokens', sa.column('id', sa.String(43)))


def _hashed(identifier: str) -> str:
    """As :func:`api.auth.stored_id` (repeated here: a migration keeps its own rule)."""
    digest = hashlib.sha256(identifier.encode('utf-8')).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b'=').decode('ascii')


def upgrade() -> None:
    connection = op.get_bind()
    for (identifier,) in connection.execute(sa.select(tokens.c.id)).all():
        connection.execute(tokens.update().where(tokens.c.id == identifier).values(id=_hashed(identifier)))


def downgrade() -> None:
    op.execute(tokens.delete())
