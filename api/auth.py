"""Identity: password hashes, bearer tokens, lock-out, the principal of a request.

- Passwords are hashed with argon2id.
- A token is ``itsdangerous``-signed text carrying a random token id; the ``auth_tokens`` row of
  that id says when it expires and whether it was revoked, and the user must still be active:
  every request checks all three. There are two kinds, signed apart (:data:`KINDS`): API bearer
  tokens (one hour) and web-session tokens, which only the pages accept, expire after 30 idle
  minutes on the server too (each page view moves the expiry on, at most once a minute) and
  after 12 hours whatever happens.
- The database keeps a token's id only as its SHA-256 (:func:`stored_id`, 43 characters of
  base64url, the id's own length): a copy of ``auth_tokens`` and of the secret key together sign
  nothing valid, since the id inside a token cannot be read back from its hash.
- Failed logins slow the next ones down, with delays that double after a free allowance
  (:data:`THROTTLES`): for one client guessing one name (6 free), for one client trying many
  names (10 free), and for one name tried from anywhere (20 free, at most a minute's wait, so
  that nobody can lock a real user out). The same holds whether or not the user exists (so a
  refusal reveals nothing); a refused attempt costs one read and is not recorded.
- The password is checked **outside any write transaction** (argon2 takes ~0.2 s; on SQLite a
  write transaction holds the whole database): read, verify, then a short write of the attempt
  and the token.
"""
from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import ColumnElement, Connection, and_, bindparam, func, select, update
from sqlalchemy.orm import Session

from engine import vocabulary
from engine.db import Database
from engine.models import AuthToken, LoginAttempt, User

TOKEN_LIFETIME = timedelta(hours=1)  # an API bearer token
WEB_IDLE = timedelta(minutes=30)  # a web session without a page view
WEB_LONGEST = timedelta(hours=12)  # a web session, however active
WEB_REFRESH = timedelta(minutes=1)  # a web session's expiry moves on at most this often
API, WEB = "api", "web"
KINDS = {API: "himaya-token", WEB: "himaya-web-session"}  # kind → signing salt
LOCK_WINDOW = timedelta(minutes=15)  # failures older than this are forgotten
ROLES = vocabulary.ROLES
UNKNOWN_SOURCE = "unknown"  # the client address of a request that has none


@dataclass(frozen=True)
class Throttle:
    """After ``free`` failures in the window, each attempt waits 1 s, 2 s, 4 s… after the last
    failure, up to ``longest``."""

    free: int
    longest: timedelta

    def wait(self, failures: int, last_failure: datetime | None, now: datetime) -> timedelta:
        if failures < self.free or last_failure is None:
            return timedelta(0)
        delay = min(timedelta(seconds=2 ** min(failures - self.free, 20)), self.longest)
        return max(last_failure + delay - now, timedelta(0))


THROTTLES = {
    "name and client": Throttle(free=6, longest=LOCK_WINDOW),  # one client guessing one name's password
    "client": Throttle(free=10, longest=LOCK_WINDOW),  # one client spraying many names
    "name": Throttle(free=20, longest=timedelta(minutes=1)),  # one name from everywhere: slowed, never locked
}

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
    """Too many recent failures: try again after ``retry_after`` (nothing was checked or recorded)."""

    def __init__(self, retry_after: timedelta) -> None:
        super().__init__(f"retry after {retry_after}")
        self.retry_after = retry_after

    @property
    def seconds(self) -> int:
        """Whole seconds to wait (at least one), for ``Retry-After``."""
        return max(1, int(-(-self.retry_after.total_seconds() // 1)))


def _principal(user: User) -> Principal:
    return Principal(user.id, user.username, user.role, user.province, user.unit, user.sector, user.language)


def throttle_wait(session: Session, username: str, source: str, now: datetime) -> timedelta:
    """How long this client must wait before trying this name again (zero: it may try now)."""
    failed = and_(LoginAttempt.success.is_(False), LoginAttempt.at > now - LOCK_WINDOW)
    scopes: dict[str, ColumnElement[bool]] = {
        "name and client": and_(LoginAttempt.username == username, LoginAttempt.source == source),
        "client": LoginAttempt.source == source,
        "name": LoginAttempt.username == username,
    }
    columns = [column for scope in scopes.values()
               for column in (func.count().filter(scope), func.max(LoginAttempt.at).filter(scope))]
    row = tuple(session.execute(select(*columns).where(
        failed, (LoginAttempt.username == username) | (LoginAttempt.source == source))).one())
    counts: list[int] = [number or 0 for number in row[0::2]]
    lasts: list[datetime | None] = [_aware(moment) for moment in row[1::2]]
    return max(THROTTLES[name].wait(counts[i], lasts[i], now) for i, name in enumerate(scopes))


def _aware(moment: datetime | None) -> datetime | None:
    """A time read back from the database, with its UTC zone (SQLite returns aggregates naive)."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def login(database: Database, secret: str, username: str, password: str, *, now: datetime,
          source: str | None, kind: str = API) -> tuple[str, int] | None:
    """Check credentials and issue a token; None when they are wrong. Raises LoginLocked, checking
    and recording nothing, when this client or name must wait.

    Three steps, so that the slow password check holds no lock: a read (the throttle, the user),
    the check itself, then one short write (the attempt, and the token on success)."""
    client = (source or UNKNOWN_SOURCE)[:64]
    username = username[:100]
    with database.reading() as session:
        wait = throttle_wait(session, username, client, now)
        if wait > timedelta(0):
            raise LoginLocked(wait)
        user = session.scalar(select(User).where(User.username == username))
    valid = verify_password(user.password_hash if user else _DUMMY_HASH, password)
    success = user is not None and valid and user.active
    identifier = secrets.token_urlsafe(32)
    lifetime = WEB_IDLE if kind == WEB else TOKEN_LIFETIME
    with database.transaction() as session:
        session.add(LoginAttempt(username=username, at=now, success=success, source=client))
        if user is None or not success:
            return None
        session.add(AuthToken(id=stored_id(identifier), user_id=user.id, kind=kind, issued_at=now,
                              expires_at=now + lifetime, revoked_at=None))
    return _signer(secret, kind).dumps(identifier), int(lifetime.total_seconds())


def stored_id(identifier: str) -> str:
    """The key of a token's row: the SHA-256 of its random id, base64url without padding. The id
    has 256 random bits, so a plain (unsalted, fast) hash is enough: nothing to guess."""
    digest = hashlib.sha256(identifier.encode("utf-8")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


@lru_cache(maxsize=16)
def _signer(secret: str, kind: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret, salt=KINDS[kind])


def token_id(secret: str, token: str, kind: str = API) -> str | None:
    try:
        value = _signer(secret, kind).loads(token)
    except BadSignature:
        return None
    return value if isinstance(value, str) else None


# Built once: constructing the statement costs more than running it on every request. Only the
# columns a principal needs are read (no ORM objects, nothing decrypted).
_PRINCIPAL_COLUMNS = (User.id, User.username, User.role, User.province, User.unit, User.sector, User.language)
_VALID_TOKEN = select(*_PRINCIPAL_COLUMNS, AuthToken.issued_at, AuthToken.expires_at).join(
    AuthToken, AuthToken.user_id == User.id).where(
    AuthToken.id == bindparam("token_row"), AuthToken.kind == bindparam("kind"), AuthToken.revoked_at.is_(None),
    AuthToken.expires_at > bindparam("now"), User.active.is_(True))


def _valid_token(session: Session | Connection, identifier: str, kind: str, now: datetime) -> Any:
    """The user's principal columns and the token's dates, for an unexpired, unrevoked token of
    this kind of an active user."""
    return session.execute(_VALID_TOKEN, {"token_row": stored_id(identifier), "kind": kind, "now": now}).first()


def _principal_of(row: Any) -> Principal:
    return Principal(row.id, row.username, row.role, row.province, row.unit, row.sector, row.language)


def authenticate(session: Session | Connection, secret: str, token: str, *, now: datetime,
                 kind: str = API) -> Principal | None:
    """The principal of a valid, unexpired, unrevoked token of this kind of an active user, or None."""
    identifier = token_id(secret, token, kind)
    if identifier is None:
        return None
    found = _valid_token(session, identifier, kind, now)
    return _principal_of(found) if found is not None else None


def authenticate_page(database: Database, secret: str, token: str, *, now: datetime) -> Principal | None:
    """The principal of a web-session token, whose expiry a page view moves to 30 minutes from now
    (at most once a minute, never past 12 hours after login): one read, and a write only then."""
    identifier = token_id(secret, token, WEB)
    if identifier is None:
        return None
    with database.reading() as session:
        found = _valid_token(session, identifier, WEB, now)
    if found is None:
        return None
    expires_at = min(now + WEB_IDLE, found.issued_at + WEB_LONGEST)
    if expires_at - found.expires_at >= WEB_REFRESH:
        with database.transaction() as session:
            session.execute(update(AuthToken).where(AuthToken.id == stored_id(identifier),
                                                    AuthToken.revoked_at.is_(None)).values(expires_at=expires_at))
    return _principal_of(found)


def lapsed_page_user(database: Database, secret: str, token: str, *, now: datetime) -> Principal | None:
    """Whose web session this was, once it has lapsed (idle, or revoked when found idle): the
    active user it was issued to, if it was issued less than 12 hours ago. It signs nobody in:
    a step form posted as the session lapsed is kept as that user's draft (``api.web.drafts``),
    which only that user, once signed in again, reads back."""
    identifier = token_id(secret, token, WEB)
    if identifier is None:
        return None
    with database.reading() as session:
        found = session.execute(select(User, AuthToken).join(AuthToken, AuthToken.user_id == User.id).where(
            AuthToken.id == stored_id(identifier), AuthToken.kind == WEB, AuthToken.issued_at > now - WEB_LONGEST,
            User.password_changed_at <= AuthToken.issued_at, User.active.is_(True))).first()
    return _principal(found[0]) if found is not None else None


def revoke(session: Session, secret: str, token: str, *, now: datetime, kind: str = API) -> bool:
    identifier = token_id(secret, token, kind)
    row = session.get(AuthToken, stored_id(identifier)) if identifier else None
    if row is None or row.revoked_at is not None:
        return False
    row.revoked_at = now
    return True


def revoke_all(session: Session, user_id: int, *, now: datetime) -> None:
    for row in session.scalars(select(AuthToken).where(AuthToken.user_id == user_id,
                                                       AuthToken.revoked_at.is_(None))):
        row.revoked_at = now
