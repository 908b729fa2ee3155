"""Stored feedback on SQLite and PostgreSQL: idempotent all-or-nothing ingest, filters, cursors."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session, sessionmaker

from feedback_nlp.errors import ConflictError, InputError
from feedback_nlp.storage.db import make_engine
from feedback_nlp.storage.feedback_repo import (
    FeedbackConflict,
    FeedbackFilters,
    IngestItem,
    StoredFeedback,
    ingest,
    list_feedback,
)
from feedback_nlp.storage.models import Feedback, FeedbackTouchpoint
from feedback_nlp.taxonomy.records import (
    FeedbackRecord,
    LabelScore,
    Prediction,
    SegmentPrediction,
    SentimentResult,
    TopicResult,
)
from feedback_nlp.text import customer_text, redact

T0 = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
SOURCE = "survey-tool"


@pytest.fixture
def unmigrated() -> Iterator[Session]:
    """A session on an in-memory SQLite database without tables: for checks made before any query."""
    engine = make_engine("sqlite://")
    try:
        with Session(engine) as session:
            yield session
    finally:
        engine.dispose()


def _item(
    id: str | None,
    text: str = "The delivery was late",
    *,
    kind: str = "review",
    sentiment: str = "negative",
    stage: str = "onboarding",
    touchpoints: tuple[str, ...] = ("delivery",),
    **record: Any,
) -> IngestItem:
    """A record and a hand-made prediction for it (the redacted text is the text itself)."""
    score = {"negative": -0.8, "neutral": 0.0, "positive": 0.8}[sentiment]
    prediction = Prediction(
        id=id,
        kind=kind,
        sentiment=SentimentResult(
            label=sentiment, score=score, probabilities={"negative": 0.85, "neutral": 0.1, "positive": 0.05}
        ),
        journey_stage=LabelScore(label=stage, confidence=0.7),
        touchpoints=[LabelScore(label=t, confidence=0.9 - 0.1 * i) for i, t in enumerate(touchpoints)],
        segments=[
            SegmentPrediction(
                text=text,
                start=0,
                end=len(text),
                sentiment=SentimentResult(label=sentiment, score=score),
                touchpoints=[LabelScore(label=t, confidence=0.6) for t in touchpoints],
            )
        ],
        model_version="tiny:20240101T000000Z",
    )
    return IngestItem(FeedbackRecord(id=id, kind=kind, text=text, **record), prediction, text)


def _count(session: Session, model: type = Feedback) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def _list_all(sessions: sessionmaker[Session], **filters: Any) -> list[StoredFeedback]:
    with sessions() as session:
        rows, cursor = list_feedback(session, FeedbackFilters(**filters), limit=1000)
    assert cursor is None
    return rows


def test_ingest_stores_record_metadata_and_prediction(sessions: sessionmaker[Session]) -> None:
    item = _item(
        "r1",
        channel="app-store",
        rating=2.0,
        created_at=datetime(2024, 2, 29, 23, 30, tzinfo=timezone(timedelta(hours=-5))),
        metadata={"store": "Leeds", "tags": ["late", 3], "nested": {"ok": True, "x": None}},
    )
    item.prediction.topic = TopicResult(id=4, label="delivery delays", confidence=0.5)
    with sessions() as session:
        [outcome] = ingest(session, [item], default_source=SOURCE, received_at=T0)
        assert _count(session, FeedbackTouchpoint) == 1
    assert outcome.status == "stored"
    [stored] = _list_all(sessions)
    assert stored.id == outcome.id
    assert (stored.source, stored.external_id, stored.kind) == (SOURCE, "r1", "review")
    assert stored.text == "The delivery was late"
    assert stored.created_at == datetime(2024, 3, 1, 4, 30, tzinfo=UTC)
    assert stored.received_at == T0
    assert (stored.channel, stored.rating, stored.nps) == ("app-store", 2.0, None)
    assert stored.metadata == {"store": "Leeds", "tags": ["late", 3], "nested": {"ok": True, "x": None}}
    assert stored.prediction == item.prediction


def test_ingest_round_trips_pipeline_predictions(sessions: sessionmaker[Session], fake_pipeline: Any) -> None:
    records = [
        FeedbackRecord(id="a", kind="review", text="Love the app. But the delivery was late!", source="shop"),
        FeedbackRecord(kind="survey", text="Charged twice, call me on +44 20 7946 0958"),
    ]
    predictions = fake_pipeline.predict(records)
    items = [(r, p, redact(customer_text(r))) for r, p in zip(records, predictions, strict=True)]
    with sessions() as session:
        ingest(session, items, default_source=SOURCE)
    stored = {s.prediction.id: s for s in _list_all(sessions)}
    assert stored["a"].prediction == predictions[0]
    assert stored[None].prediction == predictions[1]
    assert "[PHONE]" in stored[None].text and "7946" not in stored[None].text


def test_ingest_same_record_again_is_duplicate_with_the_same_id(sessions: sessionmaker[Session]) -> None:
    batch = [_item("r1"), _item("r2", "Great app", sentiment="positive")]
    with sessions() as session:
        first = ingest(session, batch, default_source=SOURCE)
    with sessions() as session:
        # A client retry; other fields changed but the text did not: still the stored record.
        retry = ingest(session, [*batch[:1], _item("r2", "Great app", sentiment="positive", rating=5.0)], SOURCE)
        assert _count(session) == 2
    assert [o.status for o in first] == ["stored", "stored"]
    assert [o.status for o in retry] == ["duplicate", "duplicate"]
    assert [o.id for o in retry] == [o.id for o in first]


def test_ingest_repeat_within_a_batch_is_duplicate(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        outcomes = ingest(session, [_item("r1"), _item("r1")], default_source=SOURCE)
        assert _count(session) == 1
    assert [o.status for o in outcomes] == ["stored", "duplicate"]
    assert outcomes[0].id == outcomes[1].id


def test_ingest_same_id_from_another_source_is_a_new_record(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        a = ingest(session, [_item("r1")], default_source="tool-a")
        b = ingest(session, [_item("r1", source="tool-b")], default_source="tool-a")
        assert _count(session) == 2
    assert b[0].status == "stored" and b[0].id != a[0].id


def test_ingest_records_without_id_are_never_deduplicated(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        outcomes = ingest(session, [_item(None), _item(None)], default_source=SOURCE)
        again = ingest(session, [_item(None)], default_source=SOURCE)
    assert [o.status for o in outcomes + again] == ["stored"] * 3
    assert len({o.id for o in outcomes + again}) == 3
    assert {s.external_id for s in _list_all(sessions)} == {None}


def test_ingest_changed_text_conflicts_and_stores_nothing_from_the_batch(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        ingest(session, [_item("r1")], default_source=SOURCE)
    batch = [_item("r2"), _item("r1", "The delivery was on time"), _item("r3")]
    with sessions() as session:
        with pytest.raises(FeedbackConflict) as caught:
            ingest(session, batch, default_source=SOURCE)
        assert _count(session) == 1
    assert isinstance(caught.value, ConflictError)
    assert caught.value.conflicts == [(SOURCE, "r1")]
    message = str(caught.value)
    assert "'r1'" in message and "Nothing from this request was stored" in message
    assert "on time" not in message  # never echo feedback text
    assert {s.external_id for s in _list_all(sessions)} == {"r1"}


def test_ingest_changed_text_within_a_batch_conflicts(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        with pytest.raises(FeedbackConflict):
            ingest(session, [_item("r1"), _item("r1", "Something else")], default_source=SOURCE)
        assert _count(session) == 0


def test_ingest_failure_mid_batch_stores_nothing(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        ingest(session, [_item("before")], default_source=SOURCE)
    inserted: list[str] = []

    def fail_on_third(_mapper: Any, _connection: Any, target: Feedback) -> None:
        inserted.append(target.external_id)
        if len(inserted) == 3:
            raise RuntimeError("disk full")

    event.listen(Feedback, "after_insert", fail_on_third)
    try:
        with sessions() as session, pytest.raises(RuntimeError, match="disk full"):
            ingest(session, [_item(f"r{i}") for i in range(5)], default_source=SOURCE)
    finally:
        event.remove(Feedback, "after_insert", fail_on_third)
    assert len(inserted) == 3
    with sessions() as session:
        assert _count(session) == 1
        assert _count(session, FeedbackTouchpoint) == 1
    # The same batch goes through once the fault is gone.
    with sessions() as session:
        assert {o.status for o in ingest(session, [_item(f"r{i}") for i in range(5)], SOURCE)} == {"stored"}


def test_ingest_concurrent_requests_with_the_same_record(sessions: sessionmaker[Session]) -> None:
    barrier = threading.Barrier(4)
    results: list[Any] = []

    def send() -> None:
        barrier.wait()
        with sessions() as session:
            try:
                results.append(ingest(session, [_item("r1"), _item(f"own-{threading.get_ident()}")], SOURCE))
            except Exception as exc:  # noqa: BLE001 - reported below
                results.append(exc)

    threads = [threading.Thread(target=send) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(isinstance(r, list) for r in results), results
    first = [r[0] for r in results]
    assert sorted(o.status for o in first) == ["duplicate", "duplicate", "duplicate", "stored"]
    assert len({o.id for o in first}) == 1
    with sessions() as session:
        assert _count(session) == 5


# PostgreSQL only: on SQLite an ingest takes the write lock before its first read, so no other
# request can store anything between its lookup and its INSERT.
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_ingest_retries_when_another_request_stores_the_same_key_first(sessions: sessionmaker[Session]) -> None:
    raced: list[bool] = []

    def store_it_first(_mapper: Any, _connection: Any, _target: Feedback) -> None:
        # Between our lookup and our INSERT, another request commits the same record.
        if not raced:
            raced.append(True)
            with sessions() as other:
                ingest(other, [_item("r1")], default_source=SOURCE)

    event.listen(Feedback, "before_insert", store_it_first)
    try:
        with sessions() as session:
            outcomes = ingest(session, [_item("r1"), _item("r2")], default_source=SOURCE)
    finally:
        event.remove(Feedback, "before_insert", store_it_first)
    assert raced == [True]
    assert [o.status for o in outcomes] == ["duplicate", "stored"]
    assert {s.id for s in _list_all(sessions)} == {o.id for o in outcomes}


@pytest.mark.parametrize(
    ("item", "message"),
    [
        (_item("r1", metadata={"score": float("nan")}), r"record 0: metadata\.score is nan"),
        (_item("r1", metadata={"a": [1, float("inf")]}), r"metadata\.a\[1\] is inf"),
        (_item("r1", rating=float("nan")), "'rating' must be a finite number"),
        (_item("x" * 256), "'id' is 256 characters long; the limit is 255"),
        (_item("r1", source="s" * 300), "'source' is 300 characters long"),
        (_item("r\x00"), "NUL"),
    ],
)
def test_ingest_rejects_values_a_database_cannot_hold(unmigrated: Session, item: IngestItem, message: str) -> None:
    with pytest.raises(InputError, match=message):
        ingest(unmigrated, [item], default_source=SOURCE)


def test_ingest_stores_hostile_text_and_metadata_safely(sessions: sessionmaker[Session]) -> None:
    text = (
        "<script>alert('x')</script> 😡🚚 \u200fالطلب تأخر\u200f \x07bell\x1b[31m NUL:\x00 end "
        + "a" * 200_000
        + " '; DROP TABLE feedback; --"
    )
    metadata = {"html": "<b>&amp;</b>", "nul": "a\x00b", "emoji": "👍🏽", "rtl": "שלום", "k\x00": 1}
    with sessions() as session:
        [outcome] = ingest(session, [_item("r1", text, metadata=metadata)], default_source=SOURCE)
    [stored] = _list_all(sessions)
    # PostgreSQL cannot hold NUL in text: it becomes U+FFFD, one character for one.
    assert stored.text == text.replace("\x00", "\ufffd")
    assert len(stored.text) == len(text)
    assert stored.metadata == metadata
    with sessions() as session:
        again = ingest(session, [_item("r1", text, metadata=metadata)], default_source=SOURCE)
    assert again[0].status == "duplicate" and again[0].id == outcome.id


# --- listing ------------------------------------------------------------------------------------

DATASET = [
    # id, kind, source, sentiment, stage, touchpoints, created_at (days after T0 or None)
    ("a", "review", "shop", "negative", "onboarding", ("delivery",), 0),
    ("b", "review", "shop", "positive", "usage", ("mobile_app", "delivery"), 1),
    ("c", "survey", "nps-tool", "neutral", "billing", ("billing",), 2),
    ("d", "social", "twitter", "negative", "support", (), 3),
    ("e", "transcript", "calls", "negative", "billing", ("phone", "billing"), None),
    ("f", "survey", "nps-tool", "positive", "usage", ("mobile_app",), 5),
]


@pytest.fixture
def dataset(sessions: sessionmaker[Session]) -> sessionmaker[Session]:
    items = [
        _item(
            id,
            f"text of {id}",
            kind=kind,
            source=source,
            sentiment=sentiment,
            stage=stage,
            touchpoints=touchpoints,
            created_at=None if days is None else T0 + timedelta(days=days),
        )
        for id, kind, source, sentiment, stage, touchpoints, days in DATASET
    ]
    with sessions() as session:
        ingest(session, items, default_source=SOURCE)
    return sessions


FILTER_CASES: list[tuple[dict[str, Any], str]] = [
    ({}, "abcdef"),
    ({"kind": "review"}, "ab"),
    ({"kind": "transcript"}, "e"),
    ({"source": "nps-tool"}, "cf"),
    ({"touchpoint": "delivery"}, "ab"),
    ({"touchpoint": "billing"}, "ce"),
    ({"touchpoint": "in_person"}, ""),
    ({"journey_stage": "billing"}, "ce"),
    ({"sentiment": "negative"}, "ade"),
    ({"created_from": T0 + timedelta(days=1)}, "bcdf"),
    ({"created_to": T0 + timedelta(days=2)}, "ab"),
    ({"created_from": T0 + timedelta(days=1), "created_to": T0 + timedelta(days=3)}, "bc"),
    # Naive means UTC; other offsets are converted.
    ({"created_from": datetime(2024, 3, 2, 12, 0)}, "bcdf"),
    ({"created_to": datetime(2024, 3, 2, 7, 0, 1, tzinfo=timezone(timedelta(hours=-5)))}, "ab"),
    ({"sentiment": "negative", "journey_stage": "billing", "touchpoint": "phone"}, "e"),
    ({"kind": "survey", "sentiment": "negative"}, ""),
]


def test_list_feedback_filters(dataset: sessionmaker[Session]) -> None:
    # One database for every case: a fresh one per case would cost more than the cases.
    for filters, expected in FILTER_CASES:
        found = "".join(sorted(s.external_id or "" for s in _list_all(dataset, **filters)))
        assert found == expected, f"filters {filters}: expected {expected!r}, got {found!r}"


def test_list_feedback_is_newest_first(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        ingest(session, [_item("old")], SOURCE, received_at=T0)
        ingest(session, [_item("new1"), _item("new2")], SOURCE, received_at=T0 + timedelta(seconds=1))
    assert [s.external_id for s in _list_all(sessions)] == ["new2", "new1", "old"]


def test_list_feedback_pages_return_every_row_once_while_rows_are_added(sessions: sessionmaker[Session]) -> None:
    # Batches share a received_at (ties broken by storage order), one batch straddles pages.
    with sessions() as session:
        for batch, stamp in enumerate([T0, T0, T0 + timedelta(seconds=1)]):
            ingest(session, [_item(f"old-{batch}-{i}") for i in range(7)], SOURCE, received_at=stamp)
    seen: list[str] = []
    cursor: str | None = None
    for page_number in range(100):
        with sessions() as session:
            page, cursor = list_feedback(session, limit=4, cursor=cursor)
            # Between page fetches: new rows, now and at the very instant of the cursor row.
            ingest(session, [_item(f"new-{page_number}")], SOURCE)
            ingest(session, [_item(f"tie-{page_number}")], SOURCE, received_at=T0)
        assert len(page) <= 4
        seen.extend(s.external_id or "" for s in page)
        if cursor is None:
            break
    old = [s for s in seen if s.startswith("old-")]
    assert len(old) == len(set(old)) == 21
    assert len(seen) == len(set(seen))


def test_list_feedback_with_filters_pages_through_matches_only(dataset: sessionmaker[Session]) -> None:
    seen: list[str] = []
    cursor: str | None = None
    filters = FeedbackFilters(sentiment="negative")
    while True:
        with dataset() as session:
            page, cursor = list_feedback(session, filters, limit=1, cursor=cursor)
        seen.extend(s.external_id or "" for s in page)
        if cursor is None:
            break
    assert sorted(seen) == ["a", "d", "e"]


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "not base64 !",
        "W10",  # []
        "eyJhIjoxfQ",  # {"a":1}
        "WzEsIngiLDFd",  # [1,"x",1]
        "WzEsIjIwMjQtMDEtMDEiLDFd",  # [1,"2024-01-01",1]: no time zone
        "WzEsIjIwMjQtMDEtMDFUMDA6MDA6MDArMDA6MDAiLC0xXQ",  # pk -1
        "WzEsIjIwMjQtMDEtMDFUMDA6MDA6MDArMDA6MDAiLDk5OTk5OTk5OTk5OTk5OTk5OTk5XQ",  # pk past BIGINT
        "WzIsIjIwMjQtMDEtMDFUMDA6MDA6MDArMDA6MDAiLDVd",  # version 2
    ],
)
def test_list_feedback_rejects_a_cursor_it_did_not_issue(unmigrated: Session, cursor: str) -> None:
    with pytest.raises(InputError, match="cursor is not valid"):
        list_feedback(unmigrated, cursor=cursor)


@pytest.mark.parametrize("limit", [0, -1, 1001])
def test_list_feedback_rejects_a_page_size_out_of_range(unmigrated: Session, limit: int) -> None:
    with pytest.raises(InputError, match="limit must be between 1 and 1000"):
        list_feedback(unmigrated, limit=limit)


def test_list_feedback_rejects_a_reversed_created_at_range(unmigrated: Session) -> None:
    filters = FeedbackFilters(created_from=T0, created_to=T0 - timedelta(days=1))
    with pytest.raises(InputError, match="must be before"):
        list_feedback(unmigrated, filters)


def test_ingest_keeps_transcript_turns_with_timing_and_redacted_text(
    sessions: sessionmaker[Session], fake_pipeline: Any
) -> None:
    # Issue 15: speech-to-text timing, confidence and metadata stay with the stored record.
    record = FeedbackRecord.model_validate(
        {
            "id": "call-1",
            "kind": "transcript",
            "turns": [
                {"speaker": "ivr", "text": "Say billing or support", "start_ms": 0, "end_ms": 1200},
                {
                    "speaker": "caller",
                    "text": "Billing, I'm on +44 20 7946 0958",
                    "start": 1.669,
                    "end": 3.9,
                    "confidence": 0.91,
                    "metadata": {"channel": 1},
                },
            ],
        }
    )
    [prediction] = fake_pipeline.predict([record])
    with sessions() as session:
        ingest(session, [(record, prediction, redact(customer_text(record)))], default_source=SOURCE)
    [stored] = _list_all(sessions)
    assert stored.turns == [
        {
            "speaker": "agent",
            "text": "Say billing or support",
            "start_ms": 0,
            "end_ms": 1200,
            "confidence": None,
            "metadata": {},
        },
        {
            "speaker": "customer",
            "text": "Billing, I'm on [PHONE]",
            "start_ms": 1669,
            "end_ms": 3900,
            "confidence": 0.91,
            "metadata": {"channel": 1},
        },
    ]


def test_records_without_turns_are_stored_without_them(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        ingest(session, [_item("r1")], default_source=SOURCE)
    [stored] = _list_all(sessions)
    assert stored.turns is None
