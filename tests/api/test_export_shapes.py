"""Issue 15 over HTTP: dates as exporting tools write them, speech-to-text transcripts, and the
messages for what is still refused. The OpenAPI schema shows these shapes as examples."""

from __future__ import annotations

from feedback_nlp_api.schemas import _EXPORT_EXAMPLES


def test_the_export_examples_classify(service) -> None:  # noqa: ANN001
    response = service.client.post("/v1/classify", json={"records": _EXPORT_EXAMPLES}, headers=service.auth("classify"))
    assert response.status_code == 200, response.text
    assert [r["id"] for r in response.json()["results"]] == [r["id"] for r in _EXPORT_EXAMPLES]


def test_ingested_transcripts_keep_turn_timing_and_dates_in_utc(service) -> None:  # noqa: ANN001
    body = {"source": "exports", "records": _EXPORT_EXAMPLES}
    assert service.client.post("/v1/feedback", json=body, headers=service.auth("ingest")).status_code == 201
    items = service.client.get("/v1/feedback", params={"limit": 50}, headers=service.auth("read")).json()["items"]
    by_id = {item["external_id"]: item for item in items}
    assert by_id["570306133677760513"]["created_at"].startswith("2015-02-24T19:35:52")
    assert by_id["914606615792406528"]["created_at"].startswith("2017-10-04T13:59:33")
    assert by_id["rev-88"]["created_at"].startswith("2026-11-02T10:15:00")
    turns = by_id["call-17"]["turns"]
    assert [t["speaker"] for t in turns] == ["agent", "agent", "customer"]
    assert turns[2] == {
        "speaker": "customer",
        "text": "I was charged twice this month.",
        "start_ms": 3350,
        "end_ms": 5900,
        "confidence": 0.91,
        "metadata": {"channel": 1},
    }
    assert by_id["rev-88"]["turns"] is None


def _refusal(service, record: dict) -> dict:  # noqa: ANN001
    response = service.client.post("/v1/classify", json={"records": [record]}, headers=service.auth("classify"))
    assert response.status_code == 422, response.text
    [error] = response.json()["detail"]
    return error


def test_an_unknown_turn_field_is_named_with_the_accepted_ones(service) -> None:  # noqa: ANN001
    error = _refusal(service, {"kind": "transcript", "turns": [{"speaker": "caller", "text": "hi", "offset": 3}]})
    assert error["loc"] == ["body", "records", 0, "turns", 0, "offset"]
    assert error["msg"].startswith("unexpected field 'offset'; accepted fields: speaker, text, start_ms, end_ms")


def test_an_unknown_record_field_is_named_with_the_accepted_ones(service) -> None:  # noqa: ANN001
    error = _refusal(service, {"kind": "review", "text": "hi", "date": "2026-11-02"})
    assert error["msg"].startswith("unexpected field 'date'; accepted fields: id, kind, text, turns, created_at")


def test_an_unknown_speaker_lists_the_accepted_names(service) -> None:  # noqa: ANN001
    error = _refusal(service, {"kind": "transcript", "turns": [{"speaker": "spk_1", "text": "hi"}]})
    assert "unknown speaker 'spk_1'" in error["msg"] and "caller, client, user" in error["msg"]


def test_an_ambiguous_slashed_date_is_refused_with_the_reason(service) -> None:  # noqa: ANN001
    error = _refusal(service, {"kind": "review", "text": "hi", "created_at": "02/11/2026"})
    assert error["loc"] == ["body", "records", 0, "created_at"]
    assert "slashed date (ambiguous" in error["msg"] and "FEEDBACK_NLP_DATE_FORMAT" in error["msg"]


def test_the_openapi_schema_documents_dates_and_turn_shapes(service) -> None:  # noqa: ANN001
    schema = service.client.get("/openapi.json").json()["components"]["schemas"]
    created_at = schema["FeedbackRecord"]["properties"]["created_at"]
    assert "Wed Oct 04 13:59:33 +0000 2017" in created_at["examples"]
    assert "Naive times are UTC" in created_at["description"]
    turn = schema["Turn"]["properties"]
    assert {"start_ms", "end_ms", "start", "end", "confidence", "metadata"} <= set(turn)
    assert {"caller", "ivr", "bot", "operator"} <= set(turn["speaker"]["enum"])
    examples = schema["ClassifyRequest"]["examples"]
    assert any(r.get("created_at") == "2015-02-24 11:35:52 -0800" for e in examples for r in e["records"])
