"""Input that once answered 500, was dropped in silence or poisoned later reads (a review of the
API, 2026-12-07): each now gets a 4xx naming what is wrong, and the service keeps serving."""

from __future__ import annotations

import base64
import json

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from feedback_nlp_api.observability import RequestContextMiddleware, create_metrics

# JSON as sent on the wire: "\\ud800" is the escape text, a lone surrogate once parsed.
LONE_SURROGATE_BODIES = [
    '{"records": [{"kind": "review", "text": "bad \\ud800 service"}]}',
    '{"records": [{"id": "x\\udfff", "kind": "review", "text": "ok"}]}',
    '{"records": [{"kind": "review", "text": "ok", "channel": "\\ud800"}]}',
    '{"records": [{"kind": "review", "text": "ok", "metadata": {"k": "\\udfff"}}]}',
]


def _post(service, path: str, raw: str, scope: str):  # noqa: ANN001, ANN202
    headers = {**service.auth(scope), "Content-Type": "application/json"}
    return service.client.post(path, content=raw.encode("utf-8"), headers=headers)


@pytest.mark.parametrize("raw", LONE_SURROGATE_BODIES)
@pytest.mark.parametrize(("path", "scope"), [("/v1/classify", "classify"), ("/v1/feedback", "ingest")])
def test_a_lone_surrogate_is_422_naming_the_field(service, raw: str, path: str, scope: str) -> None:  # noqa: ANN001
    response = _post(service, path, raw, scope)
    assert response.status_code == 422, response.text
    assert "lone UTF-16 surrogate" in json.dumps(response.json())
    # Nothing was stored, and listing still works.
    listed = service.client.get("/v1/feedback", headers=service.auth("read"))
    assert listed.status_code == 200 and listed.json()["items"] == []


def test_an_invisible_text_is_422(service) -> None:  # noqa: ANN001
    for text in ["\u0000\u0000", "\u200b", "\ufeff"]:
        body = {"records": [{"kind": "review", "text": text}]}
        response = service.client.post("/v1/feedback", json=body, headers=service.auth("ingest"))
        assert response.status_code == 422 and "no text" in response.text


def test_a_misspelt_body_field_is_422_not_ignored(service) -> None:  # noqa: ANN001
    body = {"sorce": "survey-tool", "records": [{"id": "s1", "kind": "review", "text": "ok"}]}
    response = service.client.post("/v1/feedback", json=body, headers=service.auth("ingest"))
    assert response.status_code == 422 and "sorce" in response.text
    response = service.client.post("/v1/classify", json={**body}, headers=service.auth("classify"))
    assert response.status_code == 422 and "sorce" in response.text


def test_an_empty_id_is_422_not_a_generated_key(service) -> None:  # noqa: ANN001
    body = {"source": "idem", "records": [{"id": "", "kind": "review", "text": "empty id"}]}
    response = service.client.post("/v1/feedback", json=body, headers=service.auth("ingest"))
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][-1] == "id"


def test_a_nul_in_a_filter_is_422_on_every_backend(any_db_service) -> None:  # noqa: ANN001
    read = any_db_service.auth("read")
    for path, params in [
        ("/v1/feedback", {"source": "p\x00g"}),
        ("/v1/feedback", {"touchpoint": "a\x00b"}),
        ("/v1/scores/touchpoints", {"source": "p\x00g"}),
    ]:
        response = any_db_service.client.get(path, params=params, headers=read)
        assert response.status_code == 422, (path, response.text)
        assert "NUL" in response.text


def test_a_source_that_can_be_stored_can_be_filtered_on(service) -> None:  # noqa: ANN001
    source = "s" * 230
    body = {"records": [{"id": "1", "kind": "review", "text": "late delivery", "source": source}]}
    assert service.client.post("/v1/feedback", json=body, headers=service.auth("ingest")).status_code == 201
    listed = service.client.get("/v1/feedback", params={"source": source}, headers=service.auth("read"))
    assert listed.status_code == 200 and len(listed.json()["items"]) == 1


@pytest.mark.parametrize("received", ["9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+23:59"])
def test_a_cursor_with_no_utc_time_is_422(service, received: str) -> None:  # noqa: ANN001
    cursor = base64.urlsafe_b64encode(json.dumps([1, received, 1]).encode()).decode().rstrip("=")
    response = service.client.get("/v1/feedback", params={"cursor": cursor}, headers=service.auth("read"))
    assert response.status_code == 422 and "cursor is not valid" in response.text


def test_a_record_dated_at_the_end_of_year_9999_does_not_break_the_scores(service) -> None:  # noqa: ANN001
    body = {"records": [{"id": "far", "kind": "review", "text": "late", "created_at": "9999-12-31T23:59:59.999999Z"}]}
    assert service.client.post("/v1/feedback", json=body, headers=service.auth("ingest")).status_code == 201
    for period in ("day", "week", "month"):
        response = service.client.get("/v1/scores/touchpoints", params={"period": period}, headers=service.auth("read"))
        assert response.status_code == 200, (period, response.text)


def test_an_unknown_query_parameter_is_422_naming_the_ones_taken(service) -> None:  # noqa: ANN001
    read = service.auth("read")
    response = service.client.get("/v1/scores/touchpoints", params={"created_from": "2030-01-01"}, headers=read)
    assert response.status_code == 422
    message = response.json()["detail"][0]["msg"]
    assert "created_from" in message and "from" in message.split("takes:")[1]
    response = service.client.get("/v1/feedback", params={"from": "2030-01-01"}, headers=read)
    assert response.status_code == 422 and "created_from" in response.json()["detail"][0]["msg"]
    assert service.client.get("/v1/feedback", params={"limit": 5}, headers=read).status_code == 200


def test_health_and_ready_answer_head(service) -> None:  # noqa: ANN001
    assert service.client.head("/health").status_code == 200
    assert service.client.head("/ready").status_code == 200


def test_an_unexpected_error_answers_500_with_the_request_id() -> None:
    app = FastAPI()

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("a bug")

    app.add_middleware(RequestContextMiddleware, metrics=create_metrics())
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/boom", headers={"X-Request-ID": "req-42"})
    assert response.status_code == 500
    assert response.headers["X-Request-ID"] == "req-42"
    assert response.json() == {"detail": "Internal error (request id req-42)."}


def test_the_schema_declares_the_bearer_key_and_the_service_limits(service) -> None:  # noqa: ANN001
    schema = service.client.get("/openapi.json").json()
    assert schema["components"]["securitySchemes"]["ApiKey"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "An API key from `feedback-nlp keys create`, as `Authorization: Bearer <key>`.",
    }
    assert schema["paths"]["/v1/classify"]["post"]["security"] == [{"ApiKey": []}]
    assert "security" not in schema["paths"]["/health"]["get"]
    limit = service.app.state.settings.max_records
    for name in ("ClassifyRequest", "IngestRequest"):
        assert schema["components"]["schemas"][name]["properties"]["records"]["maxItems"] == limit


def test_every_422_has_the_same_shape(service) -> None:  # noqa: ANN001
    # A domain error (a reversed date range) and a validation error (a wrong type) alike.
    read = service.auth("read")
    reversed_range = {"created_from": "2026-12-02", "created_to": "2026-12-01"}
    report_range = {"from": "2026-12-02", "to": "2026-12-01"}
    for response in (
        service.client.get("/v1/feedback", params=reversed_range, headers=read),
        service.client.get("/v1/feedback", params={"limit": "many"}, headers=read),
        service.client.get("/v1/reports/topic-trends", params=report_range, headers=read),
    ):
        assert response.status_code == 422
        [error] = response.json()["detail"]
        assert set(error) == {"loc", "msg", "type"} and error["msg"]


def test_a_body_not_sent_as_json_says_which_content_type_to_use(service) -> None:  # noqa: ANN001
    headers = {**service.auth("classify"), "Content-Type": "text/plain"}
    body = json.dumps({"records": [{"kind": "review", "text": "ok"}]})
    response = service.client.post("/v1/classify", content=body, headers=headers)
    assert response.status_code == 422
    assert "Content-Type: application/json" in response.json()["detail"][0]["msg"]


def test_malformed_json_gives_the_parser_s_reason(service) -> None:  # noqa: ANN001
    headers = {**service.auth("classify"), "Content-Type": "application/json"}
    response = service.client.post("/v1/classify", content=b'{"records": [', headers=headers)
    assert response.status_code == 422
    message = response.json()["detail"][0]["msg"]
    assert message.startswith("malformed JSON at character") and "Expecting value" in message
