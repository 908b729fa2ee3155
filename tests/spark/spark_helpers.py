"""Shared pieces of the Spark tests: the local session, awkward records, and a fake pipeline loader.

Each Spark test module imports the ``spark`` fixture from here. It is session-scoped, so the
JVM starts once for all of them (``getOrCreate`` hands every module the same session).

:func:`load_fake_pipeline` runs on the executors: the classify tests ship this file and
``tests/factories.py`` with ``addPyFile``, so the executors import it the way a cluster imports
code shipped with ``--py-files``.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pytest

#: Why the Spark tests did not run, or None when they can.
SKIP_REASON: str | None = (
    "pyspark is not installed (pip install 'feedback-nlp[spark]')"
    if importlib.util.find_spec("pyspark") is None
    else "Java is not installed (no java on PATH, no JAVA_HOME): Spark needs Java 17 or 21"
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME")
    else None
)

requires_spark = pytest.mark.skipif(SKIP_REASON is not None, reason=SKIP_REASON or "")

#: The file the fake loader appends its process id to, next to the bundle it loads.
LOAD_LOG = "loads.log"
#: Texts holding this word make the fake pipeline raise, as a broken record would.
POISON = "BOOM"


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    """One local Spark session (2 cores, no UI, 2 shuffle partitions) for every Spark test."""
    if SKIP_REASON:
        pytest.skip(SKIP_REASON)
    from feedback_nlp.spark.session import spark_session

    session = spark_session("local[2]", app_name="feedback-nlp-tests", ui=False, shuffle_partitions=2,
                            conf={"spark.driver.memory": "1g", "spark.sql.adaptive.enabled": "false"})  # fmt: skip
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="session")
def shipped(spark: Any) -> Any:
    """The session with the fake loader shipped to the executors, as --py-files would ship it."""
    tests = Path(__file__).resolve().parent
    spark.sparkContext.addPyFile(str(tests / "spark_helpers.py"))
    spark.sparkContext.addPyFile(str(tests.parent / "factories.py"))
    return spark


# ---------------------------------------------------------------------------- executors


class _PoisonedPipeline:
    """The fake pipeline, failing on any batch that holds a text with :data:`POISON`."""

    def __init__(self, pipeline: Any) -> None:
        self.pipeline = pipeline
        self.version = pipeline.version

    def predict(self, records: Sequence[Any]) -> list[Any]:
        if any(POISON in (r.text or "") for r in records):
            raise ValueError(f"cannot classify a text with {POISON}")
        return self.pipeline.predict(records)


def load_fake_pipeline(model_dir: str | None) -> _PoisonedPipeline:
    """Load ``model_dir`` with the fake encoder, noting this process's id in ``../loads.log``."""
    from factories import FakeEncoder, fake_settings

    from feedback_nlp.storage.loading import load_bundle

    assert model_dir is not None, "the tests pass the bundle folder explicitly"
    with open(Path(model_dir).parent / LOAD_LOG, "a", encoding="utf-8") as log:
        log.write(f"{os.getpid()}\n")
    return _PoisonedPipeline(load_bundle(model_dir, fake_settings(), encoder=FakeEncoder()))


# ---------------------------------------------------------------------------- records

LABELS = ("negative", "neutral", "positive")
TOUCHPOINTS = ("billing", "delivery", "mobile_app", "phone", "website")

#: Times on either side of day, ISO-week, month and year boundaries, in several offsets.
BOUNDARY_TIMES: tuple[datetime, ...] = (
    datetime(2024, 3, 31, 23, 59, 59, 999999, tzinfo=UTC),  # Sunday, last microsecond of March
    datetime(2024, 4, 1, 0, 0, tzinfo=UTC),  # Monday, first of April
    datetime(2024, 4, 1, 1, 30, tzinfo=timezone(timedelta(hours=2))),  # still 31 March in UTC
    datetime(2024, 3, 3, 23, 30, tzinfo=timezone(timedelta(hours=-5))),  # Monday 4 March in UTC
    datetime(2024, 12, 29, 23, 0, tzinfo=UTC),  # Sunday before ISO week 1 of 2025
    datetime(2024, 12, 30, 0, 0, tzinfo=UTC),  # Monday, ISO week 1 of 2025
    datetime(2025, 1, 1, 0, 0, tzinfo=timezone(timedelta(hours=14))),  # 31 Dec 2024 in UTC
    datetime(2024, 2, 29, 12, 0, tzinfo=UTC),  # leap day
    datetime(1969, 12, 31, 23, 59, 59, tzinfo=UTC),  # before the epoch: negative microseconds
    datetime(1970, 1, 1, 0, 0, tzinfo=UTC),
)

#: Scores at the edges of the fixed-point rounding (floor(score × 10⁵ + 0.5)).
EDGE_SCORES = (1.0, -1.0, 0.0, 0.000005, -0.000005, 0.123455, -0.123455, 0.1 + 0.2, 1 / 3, -2 / 3)

METADATA = (
    {},
    {"region": "north"},
    {"region": "south", "tier": 2},
    {"vip": True, "tier": 2.5, "region": "north"},
    {"region": "Zürich", "vip": False},
    {"tier": 10, "plan": {"name": "pro", "seats": 3}},
    {"region": None},
)


def _label_scores(names: Sequence[str], rng: np.random.Generator) -> list[dict[str, Any]]:
    return [{"label": str(n), "confidence": round(float(rng.uniform(0.3, 1.0)), 4)} for n in names]


def _segment(label: str, score: float, touchpoints: Sequence[str], rng: np.random.Generator) -> dict[str, Any]:
    return {"sentiment": {"label": label, "score": score}, "touchpoints": _label_scores(touchpoints, rng)}


def _segments(i: int, rng: np.random.Generator) -> list[dict[str, Any]]:
    """Segments with every awkward pattern in turn, then random ones."""
    pattern = i % 8
    if pattern == 0:  # a 1-1 tie on one touchpoint: the later segment (negative) wins
        return [_segment("positive", 0.6, ["mobile_app"], rng), _segment("negative", -0.4, ["mobile_app"], rng)]
    if pattern == 1:  # a 2-2 tie, the latest positive; and a touchpoint only a segment names
        return [
            _segment("negative", -0.7, ["delivery"], rng),
            _segment("positive", 0.2, ["delivery", "phone"], rng),
            _segment("negative", -0.1, ["delivery"], rng),
            _segment("positive", 0.9, ["delivery"], rng),
        ]
    if pattern == 2:  # three labels, one each: the last segment's label wins; a repeated touchpoint
        return [
            _segment("neutral", 0.1, ["billing", "billing"], rng),
            _segment("positive", 0.2, ["billing"], rng),
            _segment("negative", -0.3, ["billing"], rng),
        ]
    if pattern == 3:  # segments about no touchpoint: every mention takes the text's sentiment
        return [_segment("positive", 0.5, [], rng), _segment("negative", -0.5, [], rng)]
    if pattern == 4:
        return []
    k = int(rng.integers(1, 5))
    return [
        _segment(str(rng.choice(LABELS)), float(rng.choice(EDGE_SCORES)) if rng.random() < 0.3
                 else float(rng.uniform(-1, 1)),
                 [str(t) for t in rng.choice(TOUCHPOINTS, int(rng.integers(0, 3)))], rng)
        for _ in range(k)
    ]  # fmt: skip


def awkward_rows(n: int = 200, seed: int = 7) -> list[dict[str, Any]]:
    """``n`` records-frame rows with multi-touchpoint texts, conflicting segments, gaps and edge times."""
    rng = np.random.default_rng(seed)
    start = datetime(2024, 2, 20, tzinfo=UTC)
    rows = []
    for i in range(n):
        if i % 13 == 0:
            created: datetime | None = None
        elif i % 3 == 0:
            created = BOUNDARY_TIMES[(i // 3) % len(BOUNDARY_TIMES)]
        else:
            created = start + timedelta(seconds=int(rng.integers(0, 86400 * 70)))
        text_touchpoints = [str(t) for t in rng.choice(TOUCHPOINTS, int(rng.integers(0, 4)), replace=False)]
        rows.append(
            {
                "id": f"r{i:03d}",
                "source": [None, "web", "store", "app"][i % 4],
                "kind": ["survey", "review", "social", "transcript"][i % 4],
                "created_at": created,
                "rating": None if i % 3 == 1 else float(rng.choice([1, 2, 3, 3.5, 4, 4.5, 5])),
                "nps": None if i % 2 else int(rng.choice([0, 5, 6, 7, 8, 9, 10])),
                "metadata": METADATA[i % len(METADATA)],
                "sentiment_label": str(rng.choice(LABELS)),
                "sentiment_score": float(rng.choice(EDGE_SCORES))
                if i % 5 == 0
                else round(float(rng.uniform(-1, 1)), 4),
                "journey_stage": str(rng.choice(["usage", "support", "purchase", "none"])),
                "touchpoints": _label_scores(text_touchpoints, rng),
                "segments": _segments(i, rng),
                "topic": None if i % 4 == 1 else {"id": i % 3, "label": f"topic {i % 3}", "confidence": 0.6},
            }
        )
    return rows
