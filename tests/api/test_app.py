"""The HTTP API on a fake pipeline: health, readiness, classify and its bad-input answers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from api.schemas import MAX_RECORDS


@pytest.fixture
def client(fake_pipeline) -> Iterator[TestClient]:  # noqa: ANN001
    app = create_app()
    app.state.pipeline = fake_pipeline
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def test_health_is_ok(client: TestClient) -> None:
    assert client.get("/health").json() == {"status": "ok", "model_version": None}


def test_ready_reports_model_version(client: TestClient, fake_pipeline) -> None:  # noqa: ANN001
    response = client.get("/ready")
    assert response.status_code == 200
    assert response.json()["model_version"] == fake_pipeline.version


def test_ready_is_503_without_model(fake_pipeline) -> None:  # noqa: ANN001
    app = create_app()
    app.state.pipeline = fake_pipeline
    with TestClient(app) as test_client:
        app.state.pipeline = None
        response = test_client.get("/ready")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"


def test_classify_returns_contract_in_order(client: TestClient) -> None:
    records = [
        {"id": "a", "kind": "review", "text": "I love it, great quality"},
        {"id": "b", "kind": "social", "text": "terrible service, the delivery was late"},
        {"id": "c", "kind": "transcript", "turns": [{"speaker": "customer", "text": "my card was charged twice"}]},
    ]
    response = client.post("/v1/classify", json={"records": records})
    assert response.status_code == 200
    body = response.json()
    assert [r["id"] for r in body["results"]] == ["a", "b", "c"]
    for result in body["results"]:
        assert set(result) >= {"sentiment", "journey_stage", "touchpoints", "topic", "segments", "model_version"}
        assert result["model_version"] == body["model_version"]


def test_classify_never_echoes_pii(client: TestClient) -> None:
    text = "email me at jane.doe@example.com, card 4111 1111 1111 1111 was charged twice"
    response = client.post("/v1/classify", json={"records": [{"kind": "survey", "text": text}]})
    assert response.status_code == 200
    assert "jane.doe@example.com" not in response.text
    assert "4111 1111 1111 1111" not in response.text


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"records": []}, "records"),
        ({"records": [{"kind": "tweet", "text": "hi"}]}, "kind"),
        ({"records": [{"kind": "review", "text": "   "}]}, "records"),
        ({"records": [{"kind": "review"}]}, "records"),
        ({"records": [{"kind": "review", "text": 5}]}, "text"),
        ({"records": [{"kind": "review", "text": "x"}] * (MAX_RECORDS + 1)}, "records"),
        ({}, "records"),
    ],
)
def test_classify_bad_input_is_422_naming_the_field(client: TestClient, body: dict, field: str) -> None:
    response = client.post("/v1/classify", json=body)
    assert response.status_code == 422
    locations = [".".join(map(str, err["loc"])) for err in response.json()["detail"]]
    assert any(field in loc for loc in locations), locations


def test_classify_malformed_json_is_422(client: TestClient) -> None:
    response = client.post("/v1/classify", content=b"{not json", headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert "Traceback" not in response.text


def test_openapi_schema_lists_routes(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/health", "/ready", "/v1/classify"} <= set(paths)
