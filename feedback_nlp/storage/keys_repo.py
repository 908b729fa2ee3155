"""API keys: created once in plaintext, stored only as a SHA-256 hash, checked in constant time.

A key reads ``fnlp_`` followed by 32 URL-safe random characters (192 bits). The database holds
its SHA-256 hash and a display prefix (``fnlp_`` and the first 8 random characters) by which a
key is found and shown in listings; the plaintext is returned once, by :func:`create_key`.
A plain, unsalted hash suffices because keys are random, not chosen by people.

Scopes: ``classify``, ``ingest``, ``read`` and ``admin``; ``admin`` grants every scope.

Examples:
    >>> created = create_key(session, "survey-tool", ["classify", "ingest"])
    >>> created.plaintext                   # show it to the user now: it cannot be shown again
    'fnlp_...'
    >>> info = verify_key(session, created.plaintext)
    >>> info is not None and info.has_scope("ingest")
    True
"""

from __future__ import annotations

import hmac
import logging
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from feedback_nlp.errors import InputError
from feedback_nlp.storage.artifacts import sha256_text
from feedback_nlp.storage.db import IMMEDIATE, writer_lock
from feedback_nlp.storage.models import ApiKey

logger = logging.getLogger(__name__)

__all__ = [
    "KEY_PREFIX",
    "SCOPES",
    "ApiKeyInfo",
    "CreatedKey",
    "create_key",
    "hash_key",
    "list_keys",
    "parse_scopes",
    "revoke_key",
    "verify_key",
]

#: Every scope, in canonical order.
SCOPES: tuple[str, ...] = ("classify", "ingest", "read", "admin")
KEY_PREFIX = "fnlp_"
NAME_MAX_LENGTH = 100
_SECRET_LENGTH = 32  # characters of token_urlsafe(24)
_DISPLAY_LENGTH = len(KEY_PREFIX) + 8
_KEY_PATTERN = re.compile(rf"{KEY_PREFIX}[A-Za-z0-9_-]{{{_SECRET_LENGTH}}}")
# last_used_at is written at most this often per key: a write per request would serialise
# every request on SQLite's single writer.
TOUCH_INTERVAL = timedelta(seconds=60)


@dataclass(frozen=True)
class ApiKeyInfo:
    """What is known about a key, without the key itself."""

    id: int
    name: str
    prefix: str
    scopes: tuple[str, ...]
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None

    @property
    def active(self) -> bool:
        """The key has not been revoked."""
        return self.revoked_at is None

    def has_scope(self, scope: str) -> bool:
        """The key may do ``scope`` (it holds that scope, or ``admin``)."""
        return scope in self.scopes or "admin" in self.scopes


@dataclass(frozen=True)
class CreatedKey:
    """A newly created key: ``plaintext`` exists only here (it is kept out of ``repr``)."""

    info: ApiKeyInfo
    plaintext: str = field(repr=False)


def hash_key(plaintext: str) -> str:
    """The SHA-256 hex digest stored for a key."""
    return sha256_text(plaintext)


def parse_scopes(scopes: str | Iterable[str]) -> tuple[str, ...]:
    """Validate scopes given as a list or a comma-separated string; canonical order, no repeats.

    Raises:
        InputError: no scope, or an unknown one.
    """
    items = scopes.split(",") if isinstance(scopes, str) else list(scopes)
    wanted = {s.strip().lower() for s in items if s.strip()}
    unknown = sorted(wanted - set(SCOPES))
    if unknown:
        raise InputError(f"unknown scope(s) {', '.join(unknown)}; choose from {', '.join(SCOPES)}")
    if not wanted:
        raise InputError(f"a key needs at least one scope; choose from {', '.join(SCOPES)}")
    return tuple(s for s in SCOPES if s in wanted)


def create_key(session: Session, name: str, scopes: str | Iterable[str]) -> CreatedKey:
    """Create a key and commit; the plaintext is in the result and nowhere else.

    Args:
        session: a session with no pending changes (this commits).
        name: who or what uses the key (1 to 100 characters), e.g. ``"survey-tool"``.
        scopes: see :func:`parse_scopes`.

    Raises:
        InputError: an empty or too long name, or bad scopes.
    """
    clean_name = name.strip()
    if not clean_name or len(clean_name) > NAME_MAX_LENGTH:
        raise InputError(f"a key name must be 1 to {NAME_MAX_LENGTH} characters, got {len(clean_name)}")
    scope_list = parse_scopes(scopes)
    for attempt in (1, 2, 3):
        plaintext = KEY_PREFIX + secrets.token_urlsafe(24)
        row = ApiKey(
            name=clean_name,
            prefix=plaintext[:_DISPLAY_LENGTH],
            key_hash=hash_key(plaintext),
            scopes=list(scope_list),
            created_at=datetime.now(UTC),
        )
        session.add(row)
        try:
            session.commit()
        except IntegrityError:
            # Two keys sharing a 48-bit display prefix: practically never, but draw again.
            session.rollback()
            if attempt == 3:
                raise
            continue
        logger.info("created API key %s (%s)", row.prefix, ",".join(scope_list))
        return CreatedKey(info=_info(row), plaintext=plaintext)
    raise AssertionError("unreachable")  # pragma: no cover


def verify_key(session: Session, plaintext: str, *, now: datetime | None = None) -> ApiKeyInfo | None:
    """The active key matching ``plaintext``, or ``None`` (malformed, unknown or revoked).

    The stored hash is compared with :func:`hmac.compare_digest`. ``last_used_at`` is updated
    at most once per :data:`TOUCH_INTERVAL`; a failure to write it (a locked database) is
    logged and does not fail the check. Ends the session's transaction (commits).

    Args:
        session: a session with no pending changes.
        plaintext: the key as sent (``Authorization: Bearer <key>``).
        now: the current time; for tests.
    """
    if not _KEY_PATTERN.fullmatch(plaintext):
        return None
    row = session.scalar(select(ApiKey).where(ApiKey.prefix == plaintext[:_DISPLAY_LENGTH]))
    if row is None or not hmac.compare_digest(row.key_hash, hash_key(plaintext)) or row.revoked_at is not None:
        session.commit()
        return None
    info = _info(row)
    now = now or datetime.now(UTC)
    if row.last_used_at is not None and row.last_used_at >= now - TOUCH_INTERVAL:
        session.commit()  # recorded recently: no write, so no wait for the database's write lock
    else:
        _touch(session, row.id, now)
    return info


def list_keys(session: Session, *, include_revoked: bool = True) -> list[ApiKeyInfo]:
    """Every key (or only active ones), oldest first."""
    query = select(ApiKey).order_by(ApiKey.id)
    if not include_revoked:
        query = query.where(ApiKey.revoked_at.is_(None))
    return [_info(row) for row in session.scalars(query)]


def revoke_key(session: Session, key_id: int) -> ApiKeyInfo:
    """Revoke a key by id and commit; revoking a revoked key changes nothing.

    Raises:
        InputError: no key has that id.
    """
    row = session.get(ApiKey, key_id)
    if row is None:
        session.rollback()
        raise InputError(f"no API key has id {key_id}; 'feedback-nlp keys list' shows the ids")
    if row.revoked_at is None:
        row.revoked_at = datetime.now(UTC)
        session.commit()
        logger.info("revoked API key %s", row.prefix)
    return _info(row)


def _touch(session: Session, key_id: int, now: datetime) -> None:
    stale = now - TOUCH_INTERVAL
    # End the read first: the write is a transaction of its own, taken in turn with this
    # process's other writers (a read upgraded to a write fails at once on a busy SQLite).
    session.commit()
    try:
        with writer_lock(session.get_bind()):
            session.connection(execution_options=IMMEDIATE)
            session.execute(
                update(ApiKey)
                .where(ApiKey.id == key_id, or_(ApiKey.last_used_at.is_(None), ApiKey.last_used_at < stale))
                .values(last_used_at=now)
                .execution_options(synchronize_session=False)
            )
            session.commit()
    except OperationalError:
        session.rollback()
        logger.warning("could not record last use of API key %d (database busy)", key_id)


def _info(row: ApiKey) -> ApiKeyInfo:
    return ApiKeyInfo(
        id=row.id,
        name=row.name,
        prefix=row.prefix,
        scopes=tuple(row.scopes),
        created_at=row.created_at,
        revoked_at=row.revoked_at,
        last_used_at=row.last_used_at,
    )
