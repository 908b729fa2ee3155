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
    from feedback_nlp.storage.model import load_bundle

    return load_bundle(tiny_bundle, settings, encoder=FakeEncoder())
