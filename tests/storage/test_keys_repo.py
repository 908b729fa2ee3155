"""API keys on SQLite and PostgreSQL: plaintext once, hashes only, scopes, revocation."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import make_url, select
from sqlalchemy.orm import Session, sessionmaker

from feedback_nlp.errors import InputError
from feedback_nlp.storage.keys_repo import (
    SCOPES,
    create_key,
    hash_key,
    list_keys,
    parse_scopes,
    revoke_key,
    verify_key,
)
from feedback_nlp.storage.models import ApiKey


def test_create_key_returns_the_plaintext_once_and_stores_its_hash(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        created = create_key(session, "  survey-tool ", ["ingest", "classify", "ingest"])
    key = created.plaintext
    assert key.startswith("fnlp_") and len(key) == 37
    assert key not in repr(created)
    info = created.info
    assert (info.name, info.scopes, info.prefix) == ("survey-tool", ("classify", "ingest"), key[:13])
    assert info.active and info.revoked_at is None and info.last_used_at is None
    with sessions() as session:
        row = session.scalars(select(ApiKey)).one()
    assert row.key_hash == hashlib.sha256(key.encode()).hexdigest() == hash_key(key)


def test_create_key_stores_no_plaintext_anywhere(sessions: sessionmaker[Session], db_url: str) -> None:
    with sessions() as session:
        keys = [create_key(session, f"k{i}", ["read"]).plaintext for i in range(3)]
        revoke_key(session, 1)
    with sessions() as session:
        dump = repr([tuple(row) for row in session.execute(select(ApiKey.__table__))])
    for key in keys:
        assert key[13:] not in dump  # the secret part, past the display prefix
        assert hash_key(key) in dump
    url = make_url(db_url)
    if url.get_backend_name() == "sqlite":
        files = [Path(f"{url.database}{suffix}") for suffix in ("", "-wal")]
        raw = b"".join(f.read_bytes() for f in files if f.exists())
        assert raw and not any(key[13:].encode() in raw for key in keys)


def test_verify_key_accepts_the_key_and_nothing_else(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        key = create_key(session, "tool", ["read"]).plaintext
        other = create_key(session, "other", ["admin"]).plaintext
    same_prefix = key[:13] + ("A" if key[13] != "A" else "B") + key[14:]
    with sessions() as session:
        info = verify_key(session, key)
        assert info is not None and info.name == "tool"
        assert verify_key(session, other) is not None
        for wrong in [same_prefix, key[:-1], key + "x", "", "Bearer " + key, key.upper(), "fnlp_" + "a" * 32]:
            assert verify_key(session, wrong) is None, wrong


def test_revoked_key_no_longer_verifies(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        created = create_key(session, "tool", ["classify"])
        revoked = revoke_key(session, created.info.id)
        again = revoke_key(session, created.info.id)
        assert verify_key(session, created.plaintext) is None
    assert not revoked.active and revoked.revoked_at is not None
    assert again.revoked_at == revoked.revoked_at


def test_revoke_key_unknown_id_says_how_to_find_ids(sessions: sessionmaker[Session]) -> None:
    with sessions() as session, pytest.raises(InputError, match="keys list"):
        revoke_key(session, 999)


def test_list_keys_shows_no_secrets_and_filters_revoked(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        first = create_key(session, "a", "read")
        create_key(session, "b", "classify,ingest")
        revoke_key(session, first.info.id)
        every = list_keys(session)
        active = list_keys(session, include_revoked=False)
    assert [(k.name, k.scopes, k.active) for k in every] == [
        ("a", ("read",), False),
        ("b", ("classify", "ingest"), True),
    ]
    assert [k.name for k in active] == ["b"]
    assert first.plaintext[13:] not in repr(every)


def test_verify_key_records_last_use_at_most_once_a_minute(sessions: sessionmaker[Session]) -> None:
    t0 = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
    with sessions() as session:
        key = create_key(session, "tool", ["read"]).plaintext
        verify_key(session, key, now=t0)
        verify_key(session, key, now=t0 + timedelta(seconds=30))
        assert list_keys(session)[0].last_used_at == t0
        verify_key(session, key, now=t0 + timedelta(minutes=2))
        assert list_keys(session)[0].last_used_at == t0 + timedelta(minutes=2)


SCOPE_CASES: list[tuple[list[str], set[str]]] = [
    (["read"], {"read"}),
    (["classify", "ingest"], {"classify", "ingest"}),
    (["admin"], set(SCOPES)),  # admin grants every scope
]


def test_verified_key_has_its_scopes(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        keys = [create_key(session, "tool", scopes).plaintext for scopes, _ in SCOPE_CASES]
        infos = [verify_key(session, key) for key in keys]
    for info, (scopes, granted) in zip(infos, SCOPE_CASES, strict=True):
        assert info is not None
        assert {s for s in SCOPES if info.has_scope(s)} == granted, scopes


@pytest.mark.parametrize(
    ("scopes", "expected"),
    [
        ("read", ("read",)),
        ("ingest, Classify ,ingest", ("classify", "ingest")),
        (["admin", "read"], ("read", "admin")),
    ],
)
def test_parse_scopes_canonical_order(scopes: str | list[str], expected: tuple[str, ...]) -> None:
    assert parse_scopes(scopes) == expected


@pytest.mark.parametrize(
    ("scopes", "message"),
    [("", "at least one scope"), ([], "at least one scope"), ("read,write", "unknown scope.*write")],
)
def test_parse_scopes_rejects_unknown_or_none(scopes: str | list[str], message: str) -> None:
    with pytest.raises(InputError, match=message):
        parse_scopes(scopes)


def test_create_key_rejects_a_bad_name(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        for name in ["", "   ", "x" * 101]:
            with pytest.raises(InputError, match="1 to 100 characters"):
                create_key(session, name, ["read"])
        assert list_keys(session) == []
