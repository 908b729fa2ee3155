"""The HTTP API end to end on a fake pipeline: every endpoint and every status code it promises."""

from __future__ import annotations

import pytest
from factories import build_service

from feedback_nlp_api.batching import QueueFullError

RECORDS = [
    {"id": "a", "kind": "review", "text": "I love it, great quality"},
    {"id": "b", "kind": "social", "text": "terrible service, the delivery was late"},
    {
        "id": "c",
        "kind": "transcript",
        "turns": [
            {"speaker": "agent", "text": "How can I help?"},
            {"speaker": "customer", "text": "my card was charged twice"},
        ],
    },
]


# -- health ------------------------------------------------------------------------------------


def test_health_is_public_and_ok(service) -> None:  # noqa: ANN001
    response = service.client.get("/health")
    assert response.status_code == 200 and response.json()["status"] == "ok"


def test_ready_reports_model_and_database(service) -> None:  # noqa: ANN001
    body = service.client.get("/ready").json()
    assert body["status"] == "ready" and body["database"] == "ok" and body["model_version"]


def test_ready_is_503_when_the_database_is_gone(service) -> None:  # noqa: ANN001
    from sqlalchemy import create_engine

    service.app.state.engine = create_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")
    response = service.client.get("/ready")
    assert response.status_code == 503
    assert response.json()["database"] == "unreachable" and response.headers["Retry-After"]


def test_metrics_exposes_request_and_prediction_counters(service) -> None:  # noqa: ANN001
    service.client.post("/v1/classify", json={"records": RECORDS}, headers=service.auth("classify"))
    text = service.client.get("/metrics").text
    assert "feedback_nlp_http_requests_total" in text
    assert 'feedback_nlp_predictions_total{label="' in text
    assert "feedback_nlp_batch_size_bucket" in text


# -- classify ----------------------------------------------------------------------------------


def test_classify_returns_contract_in_order(service) -> None:  # noqa: ANN001
    response = service.client.post("/v1/classify", json={"records": RECORDS}, headers=service.auth("classify"))
    assert response.status_code == 200
    body = response.json()
    assert [r["id"] for r in body["results"]] == ["a", "b", "c"]
    for result in body["results"]:
        assert set(result) >= {"sentiment", "journey_stage", "touchpoints", "topic", "segments", "model_version"}


def test_classify_never_echoes_pii(service) -> None:  # noqa: ANN001
    text = "email me at jane.doe@example.com, card 4111 1111 1111 1111 was charged twice"
    response = service.client.post(
        "/v1/classify", json={"records": [{"kind": "survey", "text": text}]}, headers=service.auth("classify")
    )
    assert response.status_code == 200
    assert "jane.doe@example.com" not in response.text and "4111 1111 1111 1111" not in response.text


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"records": []}, "records"),
        ({"records": [{"kind": "tweet", "text": "hi"}]}, "kind"),
        ({"records": [{"kind": "review", "text": "   "}]}, "records"),
        ({"records": [{"kind": "review"}]}, "records"),
        ({"records": [{"kind": "review", "text": 5}]}, "text"),
        ({"records": [{"kind": "review", "text": "x"}] * 257}, "records"),
        ({"records": [{"kind": "review", "text": "x" * 20_001}]}, "records.0.text"),
        ({}, "records"),
    ],
)
def test_classify_bad_input_is_422_naming_the_field(service, body: dict, field: str) -> None:  # noqa: ANN001
    response = service.client.post("/v1/classify", json=body, headers=service.auth("classify"))
    assert response.status_code == 422
    locations = [".".join(map(str, err["loc"])) for err in response.json()["detail"]]
    assert any(field in loc for loc in locations), locations


def test_classify_limit_messages_name_the_limit(service) -> None:  # noqa: ANN001
    body = {"records": [{"kind": "review", "text": "x" * 20_001}]}
    detail = service.client.post("/v1/classify", json=body, headers=service.auth("classify")).json()["detail"]
    assert "20000" in detail[0]["msg"]


def test_malformed_json_is_422_without_traceback(service) -> None:  # noqa: ANN001
    response = service.client.post(
        "/v1/classify", content=b"{not json", headers={**service.auth("classify"), "content-type": "application/json"}
    )
    assert response.status_code == 422 and "Traceback" not in response.text


def test_body_over_limit_is_413(tmp_path, fake_pipeline) -> None:  # noqa: ANN001
    with build_service(f"sqlite:///{tmp_path / 'b.db'}", fake_pipeline, max_body_bytes=2048) as service:
        body = {"records": [{"kind": "review", "text": "y" * 5000}]}
        response = service.client.post("/v1/classify", json=body, headers=service.auth("classify"))
    assert response.status_code == 413
    assert "2048" in response.json()["detail"]


@pytest.mark.parametrize(
    "text",
    ["<script>alert(1)</script>", "مرحبا بالعالم", "emoji 😀🔥👍🏽", "ctrl\x00\x07chars", "w" * 15_000, "\u202eevil"],
)
def test_hostile_text_is_handled_safely(service, text: str) -> None:  # noqa: ANN001
    response = service.client.post(
        "/v1/feedback", json={"records": [{"id": "h", "kind": "review", "text": text}]}, headers=service.auth("ingest")
    )
    assert response.status_code == 201
    listed = service.client.get("/v1/feedback", headers=service.auth("read"))
    assert listed.status_code == 200 and len(listed.json()["items"]) == 1


def test_queue_full_is_503_with_retry_after(service, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    async def full(_records: object) -> None:
        raise QueueFullError("full")

    monkeypatch.setattr(service.app.state.serving.batcher, "submit", full)
    response = service.client.post("/v1/classify", json={"records": RECORDS}, headers=service.auth("classify"))
    assert response.status_code == 503 and response.headers["Retry-After"] == "1"


# -- auth ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [("post", "/v1/classify"), ("post", "/v1/feedback"), ("get", "/v1/feedback"), ("get", "/v1/models/current")],
)
def test_missing_or_unknown_key_is_401(service, method: str, path: str) -> None:  # noqa: ANN001
    kwargs = {"json": {"records": RECORDS}} if method == "post" else {}
    assert getattr(service.client, method)(path, **kwargs).status_code == 401
    bad = {"Authorization": "Bearer fnlp_not-a-real-key"}
    response = getattr(service.client, method)(path, headers=bad, **kwargs)
    assert response.status_code == 401 and response.headers["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize(
    ("method", "path", "scope", "wrong"),
    [
        ("post", "/v1/classify", "classify", "read"),
        ("post", "/v1/feedback", "ingest", "classify"),
        ("get", "/v1/feedback", "read", "ingest"),
        ("get", "/v1/models/current", "read", "classify"),
    ],
)
def test_scopes_are_enforced(service, method: str, path: str, scope: str, wrong: str) -> None:  # noqa: ANN001
    kwargs = {"json": {"records": RECORDS}} if method == "post" else {}
    denied = getattr(service.client, method)(path, headers=service.auth(wrong), **kwargs)
    assert denied.status_code == 403 and scope in denied.json()["detail"]
    for allowed in (scope, "admin"):
        assert getattr(service.client, method)(path, headers=service.auth(allowed), **kwargs).status_code in (200, 201)


def test_revoked_key_is_refused(service) -> None:  # noqa: ANN001
    from feedback_nlp.storage.keys_repo import list_keys, revoke_key

    with service.app.state.sessions() as session:
        key = next(k for k in list_keys(session) if k.name == "test-read")
        revoke_key(session, key.id)
    service.app.state.key_cache = type(service.app.state.key_cache)()  # as after the cache TTL
    assert service.client.get("/v1/feedback", headers=service.auth("read")).status_code == 401


def test_rate_limit_is_429_with_retry_after(tmp_path, fake_pipeline) -> None:  # noqa: ANN001
    with build_service(
        f"sqlite:///{tmp_path / 'r.db'}", fake_pipeline, rate_limit_per_second=0.01, rate_limit_burst=2
    ) as service:
        codes = [service.client.get("/v1/models/current", headers=service.auth("read")).status_code for _ in range(3)]
        last = service.client.get("/v1/models/current", headers=service.auth("read"))
    assert codes[:2] == [200, 200] and 429 in codes[2:] + [last.status_code]
    assert int(last.headers["Retry-After"]) >= 1


# -- ingest and read back, on both databases -----------------------------------------------------


def test_ingest_stores_and_retry_is_duplicate(any_db_service) -> None:  # noqa: ANN001
    service = any_db_service
    headers = service.auth("ingest")
    first = service.client.post("/v1/feedback", json={"source": "survey-tool", "records": RECORDS}, headers=headers)
    assert first.status_code == 201
    stored = first.json()["results"]
    assert [r["status"] for r in stored] == ["stored"] * 3
    retry = service.client.post("/v1/feedback", json={"source": "survey-tool", "records": RECORDS}, headers=headers)
    assert retry.status_code == 200
    assert [r["status"] for r in retry.json()["results"]] == ["duplicate"] * 3
    assert [r["id"] for r in retry.json()["results"]] == [r["id"] for r in stored]
    listed = service.client.get("/v1/feedback", headers=service.auth("read")).json()
    assert len(listed["items"]) == 3


def test_changed_text_under_same_key_is_409_and_stores_nothing(any_db_service) -> None:  # noqa: ANN001
    service = any_db_service
    headers = service.auth("ingest")
    service.client.post("/v1/feedback", json={"records": RECORDS[:1]}, headers=headers)
    changed = [{"id": "new", "kind": "review", "text": "fresh"}, {**RECORDS[0], "text": "an altered zebra sentence"}]
    response = service.client.post("/v1/feedback", json={"records": changed}, headers=headers)
    assert response.status_code == 409
    assert "'a'" in response.json()["detail"] and "zebra" not in response.text
    listed = service.client.get("/v1/feedback", headers=service.auth("read")).json()
    assert [item["external_id"] for item in listed["items"]] == ["a"]


def test_list_filters_and_paginates(any_db_service) -> None:  # noqa: ANN001
    service = any_db_service
    records = [
        {
            "id": f"r{i}",
            "kind": "review" if i % 2 else "social",
            "text": f"great product number {i}",
            "created_at": f"2026-11-{i + 1:02d}T10:00:00Z",
        }
        for i in range(7)
    ]
    assert (
        service.client.post("/v1/feedback", json={"records": records}, headers=service.auth("ingest")).status_code
        == 201
    )
    read = service.auth("read")
    seen, cursor = [], None
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = service.client.get("/v1/feedback", params=params, headers=read).json()
        seen += [item["external_id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == sorted(r["id"] for r in records)
    reviews = service.client.get("/v1/feedback", params={"kind": "review"}, headers=read).json()["items"]
    assert {item["kind"] for item in reviews} == {"review"} and len(reviews) == 3
    ranged = service.client.get(
        "/v1/feedback",
        params={"created_from": "2026-11-03T00:00:00Z", "created_to": "2026-11-05T00:00:00Z"},
        headers=read,
    ).json()["items"]
    assert sorted(item["external_id"] for item in ranged) == ["r2", "r3"]
    label = reviews[0]["prediction"]["sentiment"]["label"]
    by_sentiment = service.client.get("/v1/feedback", params={"sentiment": label}, headers=read).json()["items"]
    assert by_sentiment and {i["prediction"]["sentiment"]["label"] for i in by_sentiment} == {label}


def test_list_bad_cursor_is_422(service) -> None:  # noqa: ANN001
    response = service.client.get("/v1/feedback", params={"cursor": "garbage!!"}, headers=service.auth("read"))
    assert response.status_code == 422


def test_models_current_returns_manifest(service, fake_pipeline) -> None:  # noqa: ANN001
    body = service.client.get("/v1/models/current", headers=service.auth("read")).json()
    assert body["name"] == fake_pipeline.manifest["name"]


def test_openapi_schema_lists_routes_with_examples(service) -> None:  # noqa: ANN001
    schema = service.client.get("/openapi.json").json()
    assert {"/health", "/ready", "/v1/classify", "/v1/feedback", "/v1/models/current"} <= set(schema["paths"])
    assert "examples" in schema["components"]["schemas"]["ClassifyRequest"]


def test_openapi_schema_is_valid_openapi(service) -> None:  # noqa: ANN001
    from openapi_spec_validator import validate

    validate(service.client.get("/openapi.json").json())


def test_ingest_with_database_gone_is_503_and_recovers(service) -> None:  # noqa: ANN001
    from sqlalchemy import create_engine

    from feedback_nlp.storage.db import make_session_factory

    working = service.app.state.sessions
    service.app.state.sessions = make_session_factory(
        create_engine("postgresql+psycopg://nobody@127.0.0.1:1/none", connect_args={"connect_timeout": 1})
    )
    down = service.client.post("/v1/feedback", json={"records": RECORDS}, headers=service.auth("ingest"))
    assert down.status_code == 503 and down.headers["Retry-After"]
    assert "Retry with the same ids" in down.json()["detail"]
    service.app.state.sessions = working  # the database is back: the client's retry is stored once
    retried = service.client.post("/v1/feedback", json={"records": RECORDS}, headers=service.auth("ingest"))
    assert retried.status_code == 201
    assert [r["status"] for r in retried.json()["results"]] == ["stored"] * 3


def test_agent_only_transcript_is_422_for_its_own_request_only(service) -> None:  # noqa: ANN001
    bad = {"records": [{"id": "x", "kind": "transcript", "turns": [{"speaker": "agent", "text": "Hello?"}]}]}
    response = service.client.post("/v1/classify", json=bad, headers=service.auth("classify"))
    assert response.status_code == 422
    assert "customer turn" in response.json()["detail"][0]["msg"]
    good = service.client.post("/v1/classify", json={"records": RECORDS}, headers=service.auth("classify"))
    assert good.status_code == 200
