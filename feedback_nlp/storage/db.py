"""Database connections: engines and sessions from a URL, and migrations to the latest schema.

SQLite (a file, created on first start) is the default, so the service runs with no server
to install; PostgreSQL is the production store. Both run the same Alembic migrations.

Examples:
    >>> engine = init_db("sqlite:///feedback-nlp.db")      # creates the file, migrates to head
    >>> Session = make_session_factory(engine)
    >>> with Session() as session:
    ...     feedback_repo.ingest(session, items, default_source="api")
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import weakref
from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from filelock import FileLock, Timeout
from sqlalchemy import Connection, Engine, create_engine, event, make_url, text
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session, sessionmaker

from feedback_nlp.errors import ConfigError, FeedbackNLPError

logger = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_DATABASE_URL",
    "IMMEDIATE",
    "init_db",
    "make_engine",
    "make_session_factory",
    "migrations_config",
    "ping",
    "resolve_database_url",
    "writer_lock",
]

#: The SQLite file used when neither an explicit URL nor ``DATABASE_URL`` is given (relative
#: to the working directory).
DEFAULT_DATABASE_URL = "sqlite:///feedback-nlp.db"

#: Execution option: begin SQLite transactions with ``BEGIN IMMEDIATE`` (take the write lock
#: up front). Pass it to ``Session.connection(execution_options=IMMEDIATE)`` before a
#: read-then-write transaction; ignored on PostgreSQL.
IMMEDIATE: dict[str, Any] = {"sqlite_begin": "IMMEDIATE"}

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

# Any constant shared by every migrating process; serialises concurrent start-ups.
_PG_MIGRATION_LOCK = 0x666E6C70  # "fnlp"
_SQLITE_BUSY_TIMEOUT_MS = 5000
# How long a starting process waits for another one's migration before giving up.
_START_UP_LOCK_TIMEOUT_S = 120.0


def resolve_database_url(url: str | None = None) -> str:
    """Pick the database URL: ``url`` if given, else ``DATABASE_URL``, else the SQLite default.

    ``postgresql://`` and ``postgres://`` URLs are rewritten to the installed psycopg 3 driver
    (``postgresql+psycopg://``); SQLAlchemy would otherwise look for psycopg2.

    Raises:
        ConfigError: the URL cannot be parsed or names a database other than SQLite or PostgreSQL.
    """
    raw = url or os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL
    try:
        parsed = make_url(raw)
    except Exception as exc:  # sqlalchemy raises ArgumentError, ValueError, ...
        raise ConfigError(
            f"DATABASE_URL is not a database URL ({type(exc).__name__}); expected "
            "'sqlite:///path/to/file.db' or 'postgresql://user@host:5432/dbname'"
        ) from exc
    backend, _, driver = parsed.drivername.partition("+")
    if backend == "postgres":
        backend = "postgresql"
    if backend == "postgresql" and driver in ("", "psycopg2"):
        driver = "psycopg"
    if backend not in ("sqlite", "postgresql"):
        raise ConfigError(
            f"unsupported database '{backend}' in DATABASE_URL; use 'sqlite:///file.db' or 'postgresql://...'"
        )
    drivername = f"{backend}+{driver}" if driver else backend
    return parsed.set(drivername=drivername).render_as_string(hide_password=False)


def make_engine(url: str | None = None, **kwargs: Any) -> Engine:
    """Create an engine for ``url`` (see :func:`resolve_database_url`); the schema is not touched.

    SQLite connections get WAL journaling, foreign keys, a busy timeout and ``synchronous=FULL``
    (a committed ingest survives a power cut), and their parent folder is created. Transactions
    start with a real ``BEGIN`` so that a rollback undoes every statement since it.

    Args:
        url: database URL; ``None`` resolves ``DATABASE_URL`` or the SQLite default.
        **kwargs: passed on to :func:`sqlalchemy.create_engine` (``echo``, pool sizes, ...).

    Returns:
        The engine; call ``engine.dispose()`` at shutdown.
    """
    parsed = make_url(resolve_database_url(url))
    if parsed.get_backend_name() == "sqlite":
        _create_parent(parsed)
        engine = create_engine(parsed, **kwargs)
        _configure_sqlite(engine)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(parsed, **kwargs)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """A session factory bound to ``engine``; objects stay readable after commit."""
    return sessionmaker(bind=engine, expire_on_commit=False)


def migrations_config(connection: Connection | None = None) -> Config:
    """The Alembic configuration of the packaged migrations (works from an installed package).

    Args:
        connection: when given, ``env.py`` migrates through it instead of opening its own.
    """
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def init_db(url: str | None = None, **engine_kwargs: Any) -> Engine:
    """Create the database if needed and migrate it to the latest schema (``alembic upgrade head``).

    Safe to call from several processes starting at once: one process migrates and the others
    find the schema at head. On PostgreSQL the migration transaction holds an advisory lock. On
    SQLite a file lock beside the database (``<file>.migrate.lock``) is held from the first
    connection on: the switch to WAL journaling and the migration's first writes can otherwise
    fail at once with "database is locked" instead of waiting (SQLite skips its busy handler
    where waiting could deadlock).

    Args:
        url: database URL; ``None`` resolves ``DATABASE_URL`` or the SQLite default.
        **engine_kwargs: passed on to :func:`make_engine`.

    Returns:
        The engine, ready for :func:`make_session_factory`.
    """
    engine = make_engine(url, **engine_kwargs)
    logger.info("migrating %s database to head", engine.dialect.name)
    with _sqlite_start_up_lock(engine.url), engine.connect() as connection:
        connection = connection.execution_options(**IMMEDIATE)
        with connection.begin():
            if engine.dialect.name == "postgresql":
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK})
            command.upgrade(migrations_config(connection), "head")
    logger.info("database at head")
    return engine


def _sqlite_start_up_lock(url: URL) -> AbstractContextManager[object]:
    """A cross-process lock for one SQLite file's start-up; nothing for other databases."""
    database = url.database
    if url.get_backend_name() != "sqlite" or not database or database == ":memory:" or database.startswith("file:"):
        return contextlib.nullcontext()
    path = Path(database).expanduser().resolve()
    return _held(FileLock(path.with_name(path.name + ".migrate.lock"), timeout=_START_UP_LOCK_TIMEOUT_S))


@contextlib.contextmanager
def _held(lock: FileLock) -> Iterator[None]:
    try:
        lock.acquire()
    except Timeout as exc:
        raise FeedbackNLPError(
            f"another process has been migrating the database for over {_START_UP_LOCK_TIMEOUT_S:.0f} s "
            f"(it holds {lock.lock_file}); wait for it to finish, or stop it and start again"
        ) from exc
    try:
        yield
    finally:
        lock.release()


_WRITER_LOCKS: weakref.WeakKeyDictionary[Engine, threading.Lock] = weakref.WeakKeyDictionary()
_WRITER_LOCKS_GUARD = threading.Lock()


def writer_lock(bind: Engine | Connection) -> AbstractContextManager[object]:
    """Hold it around a write transaction: on SQLite, this process's writers then take turns.

    SQLite has one writer at a time, and a writer that finds the lock taken polls for it with
    growing sleeps, so under load an unlucky one can lose the race for longer than the busy
    timeout and fail ("database is locked", a 503). Writers of one process queue on this lock
    instead; other processes still meet the busy timeout. On PostgreSQL it holds nothing.
    """
    engine = bind.engine if isinstance(bind, Connection) else bind
    if engine.dialect.name != "sqlite":
        return contextlib.nullcontext()
    with _WRITER_LOCKS_GUARD:
        lock = _WRITER_LOCKS.get(engine)
        if lock is None:
            lock = _WRITER_LOCKS[engine] = threading.Lock()
    return lock


def ping(engine: Engine) -> bool:
    """Whether the database answers a trivial query (for readiness checks); never raises."""
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - any failure means "not ready"
        # The type only: driver messages can name hosts and users.
        logger.warning("database ping failed: %s", type(exc).__name__)
        return False
    return True


def _create_parent(url: URL) -> None:
    database = url.database
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).expanduser().resolve().parent.mkdir(parents=True, exist_ok=True)


def _configure_sqlite(engine: Engine) -> None:
    # pysqlite's own transaction handling issues BEGIN lazily (not before SELECTs) and commits
    # behind our back before DDL; turn it off and issue BEGIN ourselves (SQLAlchemy's recipe).
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            # The busy timeout first: switching to WAL may itself have to wait for a lock.
            cursor.execute(f"PRAGMA busy_timeout={_SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=FULL")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        mode = connection.get_execution_options().get("sqlite_begin", "DEFERRED")
        connection.exec_driver_sql(f"BEGIN {'IMMEDIATE' if mode == 'IMMEDIATE' else 'DEFERRED'}")
