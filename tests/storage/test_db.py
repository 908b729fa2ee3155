"""Engines, SQLite settings and migrations, on SQLite and PostgreSQL."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from filelock import FileLock
from sqlalchemy import inspect, text

from feedback_nlp.errors import ConfigError, FeedbackNLPError
from feedback_nlp.storage import db as db_module
from feedback_nlp.storage.db import (
    DEFAULT_DATABASE_URL,
    init_db,
    make_engine,
    make_session_factory,
    migrations_config,
    ping,
    resolve_database_url,
)
from feedback_nlp.storage.keys_repo import create_key, list_keys
from feedback_nlp.storage.models import Base

TABLES = {"feedback", "feedback_touchpoint", "api_key", "alembic_version"}


def test_init_db_creates_the_schema_of_the_models(db_url: str) -> None:
    engine = init_db(db_url)
    try:
        assert set(inspect(engine).get_table_names()) == TABLES
        with engine.connect() as connection:
            assert connection.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == "0002"
            # The migrations and the ORM classes describe the same schema.
            assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
    finally:
        engine.dispose()


def test_init_db_is_idempotent_and_keeps_data(db_url: str) -> None:
    engine = init_db(db_url)
    with make_session_factory(engine)() as session:
        create_key(session, "first", ["read"])
    engine.dispose()
    engine = init_db(db_url)
    try:
        with make_session_factory(engine)() as session:
            assert [k.name for k in list_keys(session)] == ["first"]
    finally:
        engine.dispose()


def test_migrations_downgrade_to_base_and_back(db_url: str) -> None:
    engine = init_db(db_url)
    try:
        with engine.begin() as connection:
            command.downgrade(migrations_config(connection), "base")
        assert set(inspect(engine).get_table_names()) == {"alembic_version"}
        with engine.begin() as connection:
            command.upgrade(migrations_config(connection), "head")
        assert set(inspect(engine).get_table_names()) == TABLES
    finally:
        engine.dispose()


@pytest.mark.parametrize("starters", [3, 8])
def test_init_db_from_several_threads_at_once(db_url: str, starters: int) -> None:
    # Workers of one server start together; exactly one migrates, none fails. On SQLite this
    # failed now and then with "database is locked" before start-ups took a file lock.
    barrier = threading.Barrier(starters)
    errors: list[BaseException] = []

    def start() -> None:
        barrier.wait()
        try:
            init_db(db_url).dispose()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(starters)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    engine = make_engine(db_url)
    try:
        assert set(inspect(engine).get_table_names()) == TABLES
    finally:
        engine.dispose()


def test_init_db_from_several_processes_at_once(db_url: str) -> None:
    script = "import sys; from feedback_nlp.storage.db import init_db; init_db(sys.argv[1]).dispose()"
    processes = [
        subprocess.Popen([sys.executable, "-c", script, db_url], stderr=subprocess.PIPE, text=True) for _ in range(4)
    ]
    failures = [p.stderr.read() for p in processes if p.wait(timeout=120) != 0 and p.stderr is not None]
    assert failures == []


def test_sqlite_start_up_that_waits_too_long_says_who_holds_the_lock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = tmp_path / "feedback.db"
    monkeypatch.setattr(db_module, "_START_UP_LOCK_TIMEOUT_S", 0.2)
    with FileLock(tmp_path / "feedback.db.migrate.lock"), pytest.raises(FeedbackNLPError) as raised:
        init_db(f"sqlite:///{database}")
    assert "feedback.db.migrate.lock" in str(raised.value) and "migrating" in str(raised.value)


def test_ping_answers_for_a_reachable_database(db_url: str) -> None:
    engine = init_db(db_url)
    try:
        assert ping(engine) is True
    finally:
        engine.dispose()


def test_ping_is_false_for_an_unreachable_database() -> None:
    engine = make_engine("postgresql://nobody@127.0.0.1:9/db", connect_args={"connect_timeout": 2})
    try:
        assert ping(engine) is False
    finally:
        engine.dispose()


def test_migrations_are_found_from_the_package() -> None:
    script = ScriptDirectory.from_config(migrations_config())
    assert script.get_current_head() == "0002"


def test_make_engine_sqlite_creates_the_file_with_wal_and_foreign_keys(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "dir" / "feedback.db"
    engine = init_db(f"sqlite:///{path}")
    try:
        assert path.is_file()
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar_one() == "wal"
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 1
            assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar_one() == 5000
    finally:
        engine.dispose()


def test_make_engine_sqlite_rollback_undoes_every_statement(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql("CREATE TABLE t (x INTEGER)")
        with engine.connect() as connection:
            connection.exec_driver_sql("INSERT INTO t VALUES (1)")
            connection.exec_driver_sql("INSERT INTO t VALUES (2)")
            connection.rollback()
            assert connection.exec_driver_sql("SELECT count(*) FROM t").scalar_one() == 0
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("sqlite:///a/b.db", "sqlite:///a/b.db"),
        ("postgresql://u:p@db:5432/fb", "postgresql+psycopg://u:p@db:5432/fb"),
        ("postgres://u@db/fb", "postgresql+psycopg://u@db/fb"),
        ("postgresql+psycopg2://u@db/fb", "postgresql+psycopg://u@db/fb"),
        ("postgresql+psycopg://u@db/fb", "postgresql+psycopg://u@db/fb"),
    ],
)
def test_resolve_database_url_picks_the_psycopg3_driver(given: str, expected: str) -> None:
    assert resolve_database_url(given) == expected


def test_resolve_database_url_reads_database_url_then_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@db/fb")
    assert resolve_database_url() == "postgresql+psycopg://u@db/fb"
    monkeypatch.delenv("DATABASE_URL")
    assert resolve_database_url() == DEFAULT_DATABASE_URL


@pytest.mark.parametrize("url", ["mysql://u@db/fb", "not a url"])
def test_resolve_database_url_rejects_other_databases(url: str) -> None:
    with pytest.raises(ConfigError, match="sqlite:///"):
        resolve_database_url(url)


def test_migration_0002_adds_turns_to_a_store_holding_records(db_url: str) -> None:
    # A store created before issue 15 (schema 0001) is upgraded in place.
    engine = init_db(db_url)
    try:
        with engine.begin() as connection:
            command.downgrade(migrations_config(connection), "0001")
        assert "turns" not in {c["name"] for c in inspect(engine).get_columns("feedback")}
        with engine.begin() as connection:
            command.upgrade(migrations_config(connection), "head")
        assert "turns" in {c["name"] for c in inspect(engine).get_columns("feedback")}
    finally:
        engine.dispose()
