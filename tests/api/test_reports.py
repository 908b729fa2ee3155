"""GET /v1/reports/topic-trends on SQLite and PostgreSQL: keys, scopes, validation, and the page itself."""

from __future__ import annotations

import html
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from factories import FakeEncoder, build_service, topic_corpus

from feedback_nlp.settings import get_settings
from feedback_nlp.taxonomy.records import FeedbackRecord
from feedback_nlp.text import normalize
from feedback_nlp.topics.model import OUTLIER, TopicConfig, TopicModel

URL = "/v1/reports/topic-trends"
START = datetime(2024, 1, 1, tzinfo=UTC)  # a Monday
GROUPS = ("delivery", "refund", "app", "staff")


@pytest.fixture(autouse=True)
def _isolated_settings(tmp_path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:  # noqa: ANN001
    """The report's embedding cache and any deployed topic model live under tmp_path."""
    monkeypatch.setenv("FEEDBACK_NLP_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("FEEDBACK_NLP_TOPIC_MODEL_DIR", str(tmp_path / "deployed-topics"))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture(scope="module")
def topic_model() -> TopicModel:
    """Topics fitted on 4 groups x 20 synthetic texts, embedded as the fake pipeline embeds them."""
    encoder = FakeEncoder()
    texts, _ = topic_corpus(GROUPS, 20, seed=1)
    model, _ = TopicModel.fit(
        texts,
        encoder.encode(texts),
        embed=encoder.encode,
        seeds=["delivery delay", "refund or return"],
        config=TopicConfig(min_topic_size=8),
    )
    return model


@pytest.fixture
def with_topics(fake_pipeline, topic_model: TopicModel) -> Iterator[TopicModel]:  # noqa: ANN001
    """The fake pipeline with the topic model attached (detached again after the test)."""
    fake_pipeline.use_topics(topic_model)
    try:
        yield topic_model
    finally:
        fake_pipeline.use_topics(None)


@pytest.fixture
def running(db_url: str, fake_pipeline) -> Iterator:  # noqa: ANN001
    with build_service(db_url, fake_pipeline) as service:
        yield service


def _records(n_per_group: int = 25, weeks: int = 6) -> list[dict]:
    texts, _ = topic_corpus(GROUPS, n_per_group, seed=7)
    step = timedelta(weeks=weeks) / len(texts)
    return [
        {"id": f"t{i}", "kind": "review", "text": text, "created_at": (START + i * step).isoformat()}
        for i, text in enumerate(texts)
    ]


def _ingest(service, records: list[dict]) -> None:  # noqa: ANN001
    response = service.client.post("/v1/feedback", json={"records": records}, headers=service.auth("ingest"))
    assert response.status_code == 201, response.text


# -- keys and scopes ---------------------------------------------------------------------------


def test_without_a_key_is_401(running, with_topics) -> None:  # noqa: ANN001
    response = running.client.get(URL)
    assert response.status_code == 401
    unknown = running.client.get(URL, headers={"Authorization": "Bearer fnlp_not_a_key"})
    assert unknown.status_code == 401


@pytest.mark.parametrize("scope", ["classify", "ingest"])
def test_a_key_without_read_is_403(running, with_topics, scope: str) -> None:  # noqa: ANN001
    response = running.client.get(URL, headers=running.auth(scope))
    assert response.status_code == 403
    assert "read" in response.json()["detail"]


# -- the topic model and the arguments ---------------------------------------------------------


def test_no_topic_model_is_409(running, fake_pipeline) -> None:  # noqa: ANN001
    assert fake_pipeline.topic_model is None
    response = running.client.get(URL, headers=running.auth("read"))
    assert response.status_code == 409
    assert "topics fit" in response.json()["detail"]


@pytest.mark.parametrize(
    "params",
    [
        {"period": "year"},
        {"from": "2024-02-01T00:00:00Z", "to": "2024-01-01T00:00:00Z"},
        {"from": "2024-02-01T00:00:00Z", "to": "2024-02-01T00:00:00Z"},
        {"from": "not a date"},
    ],
)
def test_bad_period_or_dates_are_422(running, with_topics, params: dict) -> None:  # noqa: ANN001
    response = running.client.get(URL, params=params, headers=running.auth("read"))
    assert response.status_code == 422, response.text
    assert "Traceback" not in response.text


def test_an_empty_database_is_404(running, with_topics) -> None:  # noqa: ANN001
    response = running.client.get(URL, headers=running.auth("read"))
    assert response.status_code == 404
    assert "no feedback" in response.json()["detail"]


# -- the report --------------------------------------------------------------------------------


def test_report_is_html_with_the_topic_labels(running, with_topics: TopicModel, fake_pipeline) -> None:  # noqa: ANN001
    records = _records()
    _ingest(running, records)
    response = running.client.get(URL, params={"period": "week"}, headers=running.auth("read"))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    assert "<html" in page.lower() and "Traceback" not in page
    # Every topic the stored records fall in is in the page, under its name.
    stored = fake_pipeline.customer_texts([FeedbackRecord.model_validate(r) for r in records])
    inputs = [normalize(text) for text in stored]
    topics = {a.topic for a in with_topics.assign(fake_pipeline.embed(inputs))} - {OUTLIER}
    assert len(topics) >= 3
    for topic_id in topics:
        assert html.escape(with_topics.label(topic_id)) in page, with_topics.label(topic_id)
    # The admin key reads too; other periods work.
    for period in ("day", "month"):
        other = running.client.get(URL, params={"period": period}, headers=running.auth("admin"))
        assert other.status_code == 200 and other.headers["content-type"].startswith("text/html")


def test_report_window_without_records_is_404(running, with_topics) -> None:  # noqa: ANN001
    _ingest(running, _records(5, weeks=2))
    response = running.client.get(URL, params={"from": "2030-01-01T00:00:00Z"}, headers=running.auth("read"))
    assert response.status_code == 404, response.text
    inside = running.client.get(
        URL, params={"from": "2024-01-01T00:00:00Z", "to": "2024-01-15T00:00:00Z"}, headers=running.auth("read")
    )
    assert inside.status_code == 200, inside.text


@pytest.mark.parametrize(
    ("params", "status"),
    [
        pytest.param({"from": "2024-01-01", "to": "2024-01-15"}, 200, id="both-naive"),
        pytest.param({"from": "2024-01-01T00:00:00Z", "to": "2024-01-15T00:00:00+01:00"}, 200, id="both-aware"),
        pytest.param({"from": "2024-01-01T00:00:00", "to": "2024-01-15T00:00:00Z"}, 200, id="naive-aware"),
        pytest.param(
            {"from": "2024-01-15T00:00:00+02:00", "to": "2024-01-01T00:00:00"}, 422, id="aware-naive-reversed"
        ),
    ],
)
def test_report_dates_with_and_without_offsets(running, with_topics, params: dict, status: int) -> None:  # noqa: ANN001
    _ingest(running, _records(5, weeks=2))
    response = running.client.get(URL, params=params, headers=running.auth("read"))
    assert response.status_code == status, response.text
