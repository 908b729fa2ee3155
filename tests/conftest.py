"""Shared fixtures: the ``--slow`` switch, the shared datasets, a fake encoder and a tiny bundle.

Builders live in ``tests/factories.py``; this file only wires them into fixtures.
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.register_assert_rewrite("factories")

from factories import FakeEncoder, build_tiny_bundle, fake_settings  # noqa: E402

from feedback_nlp.settings import Settings, get_settings  # noqa: E402

__all__ = ["FakeEncoder"]

DATA_MISSING = "../shared/data not found: set FEEDBACK_NLP_DATA_DIR"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--slow", action="store_true", default=False, help="also run tests marked slow (real encoder, real data)"
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: runs for more than a few seconds; needs --slow")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--slow"):
        return
    skip = pytest.mark.skip(reason="slow test: run with --slow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The shared datasets folder; the test is skipped when it is absent."""
    path = Path(get_settings().data_dir)
    if not path.is_dir():
        pytest.skip(DATA_MISSING)
    return path


@pytest.fixture
def fake_encoder() -> FakeEncoder:
    """A fresh hash-based encoder (it records what it was asked to encode)."""
    return FakeEncoder()


@pytest.fixture(scope="session")
def settings() -> Settings:
    """Settings under which the tiny bundle loads, whatever ``FEEDBACK_NLP_*`` says."""
    return fake_settings()


@pytest.fixture(scope="session")
def tiny_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real bundle on disk: heads fitted on forty texts embedded by :class:`FakeEncoder`.

    Session-scoped: never modify it; copy it (``shutil.copytree``) to tamper with it.
    """
    return build_tiny_bundle(tmp_path_factory.mktemp("bundles") / "tiny")


@pytest.fixture(scope="session")
def fake_pipeline(tiny_bundle: Path, settings: Settings):  # noqa: ANN201
    """The tiny bundle loaded with the fake encoder."""
    from feedback_nlp.storage.loading import load_bundle

    return load_bundle(tiny_bundle, settings, encoder=FakeEncoder())


# --- Databases: the storage tests run on SQLite and on PostgreSQL ------------------------------

import os  # noqa: E402
import secrets  # noqa: E402
from collections.abc import Iterator  # noqa: E402

#: Maintenance databases tried in turn for the session's throwaway PostgreSQL database; set
#: FEEDBACK_NLP_TEST_POSTGRES_URL to use another server (its user must be allowed CREATE DATABASE).
POSTGRES_ADMIN_URLS = (
    "postgresql+psycopg://postgres@/postgres?host=/var/run/postgresql",
    "postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
    "postgresql+psycopg://root@/postgres?host=/var/run/postgresql",
    "postgresql+psycopg://root@127.0.0.1:5432/postgres",
)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A PostgreSQL database created for this test session and dropped after it.

    Skipped, with the reason, when no server answers or none lets us create a database.
    """
    from sqlalchemy import create_engine, make_url, text

    from feedback_nlp.storage.db import resolve_database_url

    configured = os.environ.get("FEEDBACK_NLP_TEST_POSTGRES_URL")
    name = f"feedback_nlp_test_{os.getpid()}_{secrets.token_hex(4)}"
    failures = []
    for admin_url in (resolve_database_url(configured),) if configured else POSTGRES_ADMIN_URLS:
        admin = create_engine(admin_url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
        try:
            with admin.connect() as connection:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
        except Exception as exc:  # noqa: BLE001 - unreachable server, refused login, no CREATEDB right
            failures.append(f"{make_url(admin_url).render_as_string()}: {type(exc).__name__}")
            admin.dispose()
            continue
        try:
            yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
        return
    pytest.skip("PostgreSQL not reachable, so its storage tests did not run (" + "; ".join(failures) + ")")


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty database (no tables yet) on each backend; tests migrate it themselves.

    SQLite: a new file per test. PostgreSQL: the session's throwaway database, emptied after
    each test (its ``public`` schema dropped and recreated).
    """
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'feedback.db'}"
        return
    url: str = request.getfixturevalue("postgres_url")
    yield url
    from sqlalchemy import create_engine, text

    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            # A connection the test left open would block the DROP; end it first.
            connection.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
    finally:
        engine.dispose()


@pytest.fixture
def service(tmp_path: Path, fake_pipeline):  # noqa: ANN001, ANN201
    """The app on a fresh SQLite file with the fake pipeline (see factories.build_service)."""
    from factories import build_service

    with build_service(f"sqlite:///{tmp_path / 'service.db'}", fake_pipeline) as running:
        yield running


@pytest.fixture
def any_db_service(db_url: str, fake_pipeline):  # noqa: ANN001, ANN201
    """The app on SQLite and on PostgreSQL."""
    from factories import build_service

    with build_service(db_url, fake_pipeline) as running:
        yield running


@pytest.fixture
def sessions(db_url: str):  # noqa: ANN201
    """A session factory on a freshly migrated database of each backend."""
    from feedback_nlp.storage.db import init_db, make_session_factory

    engine = init_db(db_url)
    try:
        yield make_session_factory(engine)
    finally:
        engine.dispose()
