"""Counting stored predictions in SQL (store_counts) equals reading every row and applying the reference rule."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
import pytest
import reference

from feedback_nlp.scoring import job
from feedback_nlp.scoring.duck import store_counts
from feedback_nlp.scoring.frame import records_from_rows, with_fields
from feedback_nlp.scoring.scores import dated
from feedback_nlp.storage.feedback_batches import StoredScope, stored_batches

LABELS = ("negative", "neutral", "positive")
TOUCHPOINTS = ("billing", "delivery", "mobile_app", "phone")
START = datetime(2025, 12, 29, 10, tzinfo=UTC)


def _row(i: int) -> dict[str, Any]:
    """Stored rows with ties, segment-only touchpoints, missing created_at, topics and NPS gaps."""
    tp = TOUCHPOINTS[i % 4]
    segments = [
        {"text": "x", "start": 0, "end": 1,
         "sentiment": {"label": LABELS[(i + k) % 3], "score": round(0.1 * (k - i % 5), 4)},
         "touchpoints": [{"label": TOUCHPOINTS[(i + k) % 4], "confidence": 0.5 + 0.1 * k}]}
        for k in range(i % 4)
    ]  # fmt: skip
    return {
        "id": f"p{i}", "source": ("web", "app", "store")[i % 3], "external_id": str(i), "external_id_generated": False,
        "kind": ("survey", "review")[i % 2], "text": "redacted", "text_sha256": "0" * 64,
        "created_at": None if i % 13 == 0 else START + timedelta(hours=7 * i),
        "received_at": START + timedelta(days=40), "channel": None, "rating": None if i % 3 else float(1 + i % 5),
        "nps": i % 11 if i % 2 == 0 else None, "metadata": {"region": ("north", "south")[i % 2]} if i % 5 else {},
        "sentiment_label": LABELS[i % 3], "sentiment_score": round((i % 21) / 10 - 1, 4),
        "sentiment_probabilities": None, "journey_stage": ("usage", "support", "none")[i % 3],
        "journey_stage_confidence": 0.9, "touchpoints": [] if i % 7 == 0 else [{"label": tp, "confidence": 0.8}],
        "segments": segments, "model_version": "test",
        "topic": None if i % 4 == 1 else {"id": i % 3, "label": f"topic {i % 3}", "confidence": 0.6},
    }  # fmt: skip


@pytest.fixture
def engine(db_url: str):  # noqa: ANN201
    from sqlalchemy import insert

    from feedback_nlp.storage.db import init_db
    from feedback_nlp.storage.models import Feedback

    engine = init_db(db_url)
    with engine.begin() as connection:
        connection.execute(insert(Feedback.__table__), [_row(i) for i in range(240)])
    yield engine
    engine.dispose()


def _expected(engine: Any, specs: dict[str, job.CountSpec], period: str, where: list[Any]) -> dict[str, pd.DataFrame]:
    """Every row through Python (job.stored_rows), counted by the plain-Python reference rule."""
    from feedback_nlp.storage.db import make_session_factory

    records = records_from_rows(job.stored_rows(sessions=make_session_factory(engine), where=where))
    out = {}
    for name, spec in specs.items():
        frame = dated(records, period if "period" in spec.keys else None)  # type: ignore[arg-type]
        meta = [k for k in spec.keys if k not in frame.columns and k != "touchpoint"]
        rows = reference.mentions(frame, meta) if spec.level == "touchpoint" else with_fields(frame, meta)
        out[name] = reference.counts(rows, list(spec.keys))
    return out


@pytest.mark.parametrize("period", ["day", "week", "month"])
def test_store_counts_equal_every_row_through_the_reference(engine: Any, period: str) -> None:
    specs = job.count_specs(["region", "source"])
    got = store_counts(engine, specs, period)  # type: ignore[arg-type]
    expected = _expected(engine, specs, period, [])
    assert got.records == 240 and set(got.counts) == set(expected)
    for name in specs:
        pd.testing.assert_frame_equal(got.counts[name], expected[name], obj=name)
    assert got.counts["touchpoint"]["n"].sum() > 240  # segment touchpoints counted as mentions


def test_store_counts_filter_in_the_database(engine: Any) -> None:
    scope = StoredScope(created_from=START + timedelta(days=10), created_to=START + timedelta(days=40, hours=1),
                        source="app", kind="review")  # fmt: skip
    specs = job.count_specs(())
    got = store_counts(engine, specs, "week", scope)
    expected = _expected(engine, specs, "week", scope.conditions())
    assert 0 < got.records < 240
    for name in specs:
        pd.testing.assert_frame_equal(got.counts[name], expected[name], obj=name)


def test_store_counts_of_an_empty_scope_are_empty(engine: Any) -> None:
    got = store_counts(engine, job.count_specs(()), "week", StoredScope(source="nobody"))
    assert got.records == 0 and all(table.empty for table in got.counts.values())


def test_stored_batches_hold_json_text_in_batches(engine: Any) -> None:
    batches = list(stored_batches(engine, batch_rows=100))
    assert [b.num_rows for b in batches] == [100, 100, 40]
    assert json.loads(batches[0].column("touchpoints")[1].as_py()) == [{"label": "delivery", "confidence": 0.8}]
    assert batches[0].column("id").to_pylist()[:3] == ["p0", "p1", "p2"]  # storage order
