"""Metrics, request ids and JSON logs for the service.

- :class:`Metrics`: Prometheus metrics in a registry of their own, one per app, so tests can
  build many apps; :meth:`Metrics.render` gives the ``/metrics`` body and content type.
- :class:`JsonFormatter` and :func:`configure_logging` (from :mod:`feedback_nlp.logs`): one JSON
  object per log line, with the request id of the request being served.
- :class:`RequestContextMiddleware`: gives every request an id (``X-Request-ID``), writes one
  access line and records the request metrics.

Feedback text never reaches a log line from here: access lines hold the route template, not
the path or query; exception messages (which may quote the input) are left out; and extra
fields named like text (``text``, ``records``, ``body``...) are redacted.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from feedback_nlp.logs import (  # noqa: F401  (re-exported: where the service and its tests look)
    REDACTED_FIELDS,
    JsonFormatter,
    configure_logging,
    get_request_id,
    request_id_var,
)
from feedback_nlp.taxonomy.records import Prediction

access_logger = logging.getLogger("api.access")
logger = logging.getLogger(__name__)

REQUEST_ID_HEADER = "X-Request-ID"
UNMATCHED_ROUTE = "<unmatched>"
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_VALID_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
BATCH_SIZE_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)

# -- metrics ---------------------------------------------------------------------------------


class Metrics:
    """The service's Prometheus metrics, registered in ``registry`` (a new one by default).

    Metric names (prefix ``feedback_nlp_``): ``http_requests_total{method,route,status}``,
    ``http_request_duration_seconds{route}``, ``batch_size``, ``inference_duration_seconds``,
    ``queue_depth``, ``predictions_total{task,label}``.

    Examples:
        >>> metrics = create_metrics()
        >>> batcher = MicroBatcher(pipeline.predict, on_batch=metrics.observe_batch)
        >>> metrics.track_queue_depth(lambda: batcher.queue_depth)
        >>> body, content_type = metrics.render()
    """

    def __init__(self, registry: CollectorRegistry | None = None, *, namespace: str = "feedback_nlp") -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        common: dict[str, Any] = {"namespace": namespace, "registry": self.registry}
        self.requests = Counter("http_requests", "HTTP requests answered.", ["method", "route", "status"], **common)
        self.latency = Histogram(
            "http_request_duration_seconds", "Time to answer an HTTP request.", ["route"], **common
        )
        self.batch_size = Histogram("batch_size", "Records per pipeline call.", buckets=BATCH_SIZE_BUCKETS, **common)
        self.inference_seconds = Histogram("inference_duration_seconds", "Time spent in one pipeline call.", **common)
        self.queue_depth = Gauge("queue_depth", "Records waiting for the model.", **common)
        self.predictions = Counter(
            "predictions", "Predicted labels, per task (record level).", ["task", "label"], **common
        )

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count one answered request and its latency."""
        method = method if method in _METHODS else "OTHER"
        self.requests.labels(method=method, route=route, status=str(status)).inc()
        self.latency.labels(route=route).observe(seconds)

    def observe_batch(self, size: int, seconds: float) -> None:
        """Record one pipeline call (the :class:`~api.batching.MicroBatcher` ``on_batch`` hook)."""
        self.batch_size.observe(size)
        self.inference_seconds.observe(seconds)

    def track_queue_depth(self, depth: Callable[[], float]) -> None:
        """Read the queue-depth gauge from ``depth()`` at every scrape."""
        self.queue_depth.set_function(depth)

    def record_predictions(self, predictions: Iterable[Prediction]) -> None:
        """Count the record-level labels: sentiment, journey stage and each touchpoint."""
        for prediction in predictions:
            self.predictions.labels(task="sentiment", label=prediction.sentiment.label).inc()
            self.predictions.labels(task="journey_stage", label=prediction.journey_stage.label).inc()
            for touchpoint in prediction.touchpoints:
                self.predictions.labels(task="touchpoint", label=touchpoint.label).inc()

    def render(self) -> tuple[bytes, str]:
        """The ``/metrics`` response: body and content type (Prometheus text format)."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


def create_metrics() -> Metrics:
    """A fresh set of metrics in a registry of its own (one per app)."""
    return Metrics(CollectorRegistry())


# -- middleware ------------------------------------------------------------------------------


class RequestContextMiddleware:
    """Pure ASGI middleware: request id, one access log line, request metrics.

    Takes the incoming ``X-Request-ID`` when it is 1-64 characters of ``[A-Za-z0-9._:-]``,
    otherwise makes one; the id is in ``request_id_var`` while the request is served and in
    the response's ``X-Request-ID`` header. The access line holds the method, the route
    template (never the path or query, which could hold text), status, duration and
    ``request.state.key_id`` when a route set it.

    Args:
        app: the ASGI app to wrap.
        metrics: where request counts and latencies go; ``None`` records none.

    Examples:
        >>> app.add_middleware(RequestContextMiddleware, metrics=app.state.metrics)
    """

    def __init__(self, app: ASGIApp, metrics: Metrics | None = None) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one ASGI request; lifespan and websocket scopes pass straight through."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _incoming_request_id(scope) or uuid.uuid4().hex
        token = request_id_var.set(request_id)
        status = 500  # if the app raises before answering
        start = time.perf_counter()

        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, started
            if message["type"] == "http.response.start":
                status = message["status"]
                started = True
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as exc:
            # Answered here, not by Starlette's outermost handler, so the 500 carries the request
            # id (in the body and the header) that the log line below has too.
            if started:
                raise
            logger.error("unhandled %s", type(exc).__name__, exc_info=exc)
            body = json.dumps({"detail": f"Internal error (request id {request_id})."}).encode()
            await send_with_id(
                {
                    "type": "http.response.start",
                    "status": 500,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
                }
            )
            await send_with_id({"type": "http.response.body", "body": body})
        finally:
            self._record(scope, status, time.perf_counter() - start)
            request_id_var.reset(token)

    def _record(self, scope: Scope, status: int, seconds: float) -> None:
        route = _route_template(scope)
        method = scope.get("method", "")
        if self.metrics is not None:
            self.metrics.observe_request(method, route, status, seconds)
        state = scope.get("state") or {}
        access_logger.info(
            "%s %s %d",
            method,
            route,
            status,
            extra={
                "method": method,
                "route": route,
                "status": status,
                "duration_ms": round(seconds * 1000, 2),
                "key_id": state.get("key_id") if isinstance(state, dict) else None,
            },
        )


def _incoming_request_id(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"x-request-id":
            candidate = value.decode("latin-1")
            return candidate if _VALID_REQUEST_ID.fullmatch(candidate) else None
    return None


def _route_template(scope: Scope) -> str:
    """The matched route's path template (``/v1/items/{id}``), never the raw path."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) and path else UNMATCHED_ROUTE


__all__ = [
    "REDACTED_FIELDS",
    "REQUEST_ID_HEADER",
    "JsonFormatter",
    "Metrics",
    "RequestContextMiddleware",
    "configure_logging",
    "create_metrics",
    "get_request_id",
    "request_id_var",
]
