"""Identity: password hashes, bearer tokens, lock-out, the principal of a request.

- Passwords are hashed with argon2id.
- A token is ``itsdangerous``-signed text carrying a random token id; the ``auth_tokens`` row of
  that id says when it expires and whether it was revoked, and the user must still be active:
  every request checks all three.
- Six failed logins for one user name within 15 minutes lock that name for the rest of the
  window, whether or not the user exists (so the lock reveals nothing).
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine import vocabulary
from engine.models import AuthToken, LoginAttempt, User

TOKEN_LIFETIME = timedelta(hours=1)
LOCK_WINDOW = timedelta(minutes=15)
LOCK_AFTER_FAILURES = 6
ROLES = vocabulary.ROLES

_hasher = PasswordHasher()
# A hash to verify against when the user does not exist, so both paths cost the same.
_DUMMY_HASH = _hasher.hash("himaya-no-such-user")


@dataclass(frozen=True)
class Principal:
    user_id: int
    username: str
    role: str
    province: str | None
    unit: str | None
    sector: str | None
    language: str


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


class LoginLocked(Exception):
    pass


def _principal(user: User) -> Principal:
    return Principal(user.id, user.username, user.role, user.province, user.unit, user.sector, user.language)


def login(session: Session, secret: str, username: str, password: str, *, now: datetime,
          source: str | None) -> tuple[str, int] | None:
    """Check credentials and issue a token (None when they are wrong; the attempt is recorded
    either way, so commit in both cases). Raises LoginLocked, recording nothing."""
    failures = session.scalar(select(func.count()).select_from(LoginAttempt).where(
        LoginAttempt.username == username, LoginAttempt.success.is_(False),
        LoginAttempt.at > now - LOCK_WINDOW)) or 0
    if failures >= LOCK_AFTER_FAILURES:
        raise LoginLocked()
    user = session.scalar(select(User).where(User.username == username))
    valid = verify_password(user.password_hash if user else _DUMMY_HASH, password)
    success = bool(user and valid and user.active)
    session.add(LoginAttempt(username=username[:100], at=now, success=success, source=source))
    if user is None or not success:
        return None
    token_id = secrets.token_urlsafe(32)
    session.add(AuthToken(id=token_id, user_id=user.id, issued_at=now, expires_at=now + TOKEN_LIFETIME,
                          revoked_at=None))
    return URLSafeSerializer(secret, salt="himaya-token").dumps(token_id), int(TOKEN_LIFETIME.total_seconds())


def token_id(secret: str, token: str) -> str | None:
    try:
        value = URLSafeSerializer(secret, salt="himaya-token").loads(token)
    except BadSignature:
        return None
    return value if isinstance(value, str) else None


def authenticate(session: Session, secret: str, token: str, *, now: datetime) -> Principal | None:
    """The principal of a valid, unexpired, unrevoked token of an active user, or None."""
    identifier = token_id(secret, token)
    if identifier is None:
        return None
    row = session.execute(
        select(User).join(AuthToken, AuthToken.user_id == User.id).where(
            AuthToken.id == identifier, AuthToken.revoked_at.is_(None), AuthToken.expires_at > now,
            User.active.is_(True))).scalar_one_or_none()
    return _principal(row) if row is not None else None


def revoke(session: Session, secret: str, token: str, *, now: datetime) -> bool:
    identifier = token_id(secret, token)
    row = session.get(AuthToken, identifier) if identifier else None
    if row is None or row.revoked_at is not None:
        return False
    row.revoked_at = now
    return True


def revoke_all(session: Session, user_id: int, *, now: datetime) -> None:
    for row in session.scalars(select(AuthToken).where(AuthToken.user_id == user_id,
                                                       AuthToken.revoked_at.is_(None))):
        row.revoked_at = now
