"""Request ids, JSON logs that never hold feedback text, and Prometheus metrics."""

from __future__ import annotations

import io
import json
import logging
import re
import sys
from collections.abc import Iterator

import pytest
from fastapi import FastAPI, Request, Response
from fastapi.testclient import TestClient

from feedback_nlp.taxonomy.records import LabelScore, Prediction, SentimentResult
from feedback_nlp_api.observability import (
    REQUEST_ID_HEADER,
    JsonFormatter,
    Metrics,
    RequestContextMiddleware,
    configure_logging,
    create_metrics,
    get_request_id,
    request_id_var,
)

SECRET = "My neighbour Priscilla Quibblesworth hid the spare key under the blue flowerpot"
CLIENT_LOGGERS = ("httpx", "httpcore", "asyncio")
logger = logging.getLogger("tests.observability")


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """What the service logs at DEBUG and above, formatted by :class:`JsonFormatter`.

    The test client's own lines (httpx logs every URL it requests) and the event loop's
    start-up line are left out: they come from the client side of the test.
    """
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(lambda record: not record.name.startswith(CLIENT_LOGGERS))
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield stream
    root.removeHandler(handler)
    root.setLevel(old_level)


def parse(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def access_lines(stream: io.StringIO) -> list[dict]:
    return [line for line in parse(stream) if line["logger"] == "api.access"]


def make_app(metrics: Metrics | None = None) -> FastAPI:
    app = FastAPI()
    metrics = metrics or create_metrics()

    @app.get("/items/{item_id}")
    def item(item_id: str, request: Request) -> dict:
        request.state.key_id = "key-7"
        logger.info("served an item", extra={"text": item_id, "n": 1})
        return {"request_id": get_request_id()}

    @app.post("/echo-length")
    async def echo_length(request: Request) -> dict:
        body = await request.body()
        try:
            raise ValueError(f"could not parse {body.decode()}")
        except ValueError:
            logger.exception("parse failed")
        return {"n": len(body)}

    @app.get("/metrics")
    def metrics_endpoint() -> Response:
        body, content_type = metrics.render()
        return Response(content=body, media_type=content_type)

    app.add_middleware(RequestContextMiddleware, metrics=metrics)
    return app


# -- JSON formatter ------------------------------------------------------------------------


def test_formatter_writes_one_json_object_with_request_id() -> None:
    record = logging.LogRecord("svc", logging.WARNING, __file__, 1, "hello %s", ("world",), None)
    record.batch = 12
    token = request_id_var.set("req-123")
    try:
        line = JsonFormatter().format(record)
    finally:
        request_id_var.reset(token)
    assert "\n" not in line
    payload = json.loads(line)
    assert payload["message"] == "hello world"
    assert payload["level"] == "WARNING"
    assert payload["logger"] == "svc"
    assert payload["request_id"] == "req-123"
    assert payload["batch"] == 12
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", payload["time"])


def test_formatter_redacts_text_fields_and_exception_messages() -> None:
    try:
        raise ValueError(SECRET)
    except ValueError:
        record = logging.LogRecord("svc", logging.ERROR, __file__, 1, "failed", None, sys.exc_info())
    record.text = SECRET
    record.records = [SECRET]
    payload = json.loads(JsonFormatter().format(record))
    assert SECRET not in json.dumps(payload)
    assert payload["text"] == "[redacted]"
    assert payload["exc_type"] == "ValueError"
    assert "test_formatter_redacts" in payload["stack"]
    assert payload["request_id"] is None


def test_configure_logging_installs_json_on_root() -> None:
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    access = logging.getLogger("uvicorn.access")
    saved_access = (list(access.handlers), access.propagate, access.disabled)
    stream = io.StringIO()
    try:
        configure_logging("DEBUG", stream=stream)
        configure_logging("DEBUG", stream=stream)  # twice: still one handler
        logging.getLogger("some.module").debug("hi", extra={"k": "v"})
        access.info('127.0.0.1 - "GET /?q=secret HTTP/1.1" 200')
        lines = parse(stream)
        assert len(root.handlers) == 1
        assert [(line["message"], line["k"]) for line in lines] == [("hi", "v")]
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
        access.handlers[:], access.propagate, access.disabled = saved_access


# -- request ids and access lines ------------------------------------------------------------


def test_middleware_sets_request_id_header_and_context(log_lines: io.StringIO) -> None:
    with TestClient(make_app()) as client:
        response = client.get("/items/42")
    request_id = response.headers[REQUEST_ID_HEADER]
    assert re.fullmatch(r"[0-9a-f]{32}", request_id)
    assert response.json() == {"request_id": request_id}  # visible inside a plain def route
    lines = parse(log_lines)
    assert {line["request_id"] for line in lines} == {request_id}
    assert get_request_id() is None


@pytest.mark.parametrize(
    ("incoming", "kept"),
    [("abc-123_X.y:z", True), ("has space", False), ("x" * 65, False), ("", False), ("ünïcode", False)],
)
def test_middleware_takes_only_valid_incoming_request_ids(incoming: str, kept: bool) -> None:
    with TestClient(make_app()) as client:
        response = client.get("/items/1", headers={REQUEST_ID_HEADER: incoming.encode()})
    assert (response.headers[REQUEST_ID_HEADER] == incoming) is kept
    assert re.fullmatch(r"[A-Za-z0-9._:-]{1,64}", response.headers[REQUEST_ID_HEADER])


def test_middleware_access_line_has_route_template_not_values(log_lines: io.StringIO) -> None:
    with TestClient(make_app()) as client:
        client.get("/items/private-value", params={"q": "private-query"})
        client.get("/nowhere/private-path")
    first, second = access_lines(log_lines)
    assert first["method"] == "GET"
    assert first["route"] == "/items/{item_id}"
    assert first["status"] == 200
    assert first["key_id"] == "key-7"
    assert first["duration_ms"] >= 0
    assert second["route"] == "<unmatched>" and second["status"] == 404 and second["key_id"] is None
    assert "private" not in log_lines.getvalue()


def test_logs_never_hold_the_feedback_text(log_lines: io.StringIO, fake_pipeline, tmp_path) -> None:  # noqa: ANN001
    """A secret sentence sent in bodies, paths and queries appears in no log line."""
    from factories import build_service

    with build_service(f"sqlite:///{tmp_path / 's.db'}", fake_pipeline) as service:
        client = service.client
        ok = client.post(
            "/v1/classify",
            headers=service.auth("classify"),
            json={"records": [{"id": "s", "kind": "review", "text": SECRET}]},
        )
        bad = client.post(
            "/v1/classify", headers=service.auth("classify"), json={"records": [{"kind": "tweet", "text": SECRET}]}
        )
        client.get(f"/v1/{SECRET}", params={"text": SECRET})
    with TestClient(make_app(), raise_server_exceptions=False) as client:
        client.post("/echo-length", content=SECRET.encode())
        client.get(f"/items/{SECRET}")
    assert ok.status_code == 200 and bad.status_code == 422
    output = log_lines.getvalue()
    assert len(access_lines(log_lines)) == 5
    assert any(line.get("exc_type") == "ValueError" for line in parse(log_lines))
    for fragment in (SECRET, "Priscilla", "Quibblesworth", "flowerpot"):
        assert fragment not in output


# -- metrics -----------------------------------------------------------------------------------


def test_metrics_endpoint_lists_metrics_after_a_request() -> None:
    metrics = create_metrics()
    metrics.observe_batch(8, 0.05)
    metrics.track_queue_depth(lambda: 3)
    with TestClient(make_app(metrics)) as client:
        client.get("/items/1")
        client.get("/nowhere/secret-path")
        response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    body = response.text
    for name in (
        "feedback_nlp_http_requests_total",
        "feedback_nlp_http_request_duration_seconds_bucket",
        "feedback_nlp_batch_size_bucket",
        "feedback_nlp_inference_duration_seconds_count",
        "feedback_nlp_queue_depth 3.0",
        "feedback_nlp_predictions_total",
    ):
        assert name in body
    assert 'feedback_nlp_http_requests_total{method="GET",route="/items/{item_id}",status="200"} 1.0' in body
    assert 'route="<unmatched>",status="404"' in body
    assert "secret-path" not in body
    assert 'feedback_nlp_batch_size_bucket{le="8.0"} 1.0' in body


def test_metrics_record_predictions_by_task_and_label() -> None:
    metrics = create_metrics()
    prediction = Prediction(
        kind="review",
        sentiment=SentimentResult(label="negative", score=-0.9),
        journey_stage=LabelScore(label="billing", confidence=0.8),
        touchpoints=[LabelScore(label="billing", confidence=0.9), LabelScore(label="email", confidence=0.6)],
        model_version="v",
    )
    metrics.record_predictions([prediction, prediction])
    body = metrics.render()[0].decode()
    assert 'feedback_nlp_predictions_total{label="negative",task="sentiment"} 2.0' in body
    assert 'feedback_nlp_predictions_total{label="billing",task="journey_stage"} 2.0' in body
    assert 'feedback_nlp_predictions_total{label="email",task="touchpoint"} 2.0' in body


def test_metrics_registries_are_per_app() -> None:
    first, second = create_metrics(), create_metrics()  # no duplicate-timeseries error
    first.observe_request("GET", "/health", 200, 0.01)
    assert b'route="/health"' in first.render()[0]
    assert b'route="/health"' not in second.render()[0]


def test_metrics_bound_method_label() -> None:
    metrics = create_metrics()
    metrics.observe_request("BREW", "<unmatched>", 405, 0.001)
    assert b'method="OTHER"' in metrics.render()[0]
