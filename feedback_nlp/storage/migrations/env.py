"""Alembic environment of the feedback-nlp database.

Runs from :func:`feedback_nlp.storage.db.init_db`, which hands over an open connection in
``config.attributes["connection"]``. For ``alembic revision --autogenerate`` during development,
point ``sqlalchemy.url`` (or ``DATABASE_URL``) at a database migrated to head.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from feedback_nlp.storage.db import make_engine
from feedback_nlp.storage.models import Base

target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things in place; batch mode copies the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Migrate through the caller's connection, or through a new one to the configured URL."""
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(context.config.get_main_option("sqlalchemy.url"))
    try:
        with engine.connect() as new_connection:
            _run(new_connection)
            new_connection.commit()
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported; run them against a database")
run_migrations_online()
