"""Schemathesis against the service's own OpenAPI schema: every operation, schema-valid and
schema-violating requests, at least 1,000 cases in all.

Every answer must be a documented status code (never a 5xx) with a documented content type,
documented headers and a body that matches the documented schema. The app runs in-process with
the fake pipeline on a SQLite file holding a few stored records, so reads and scores have data.
Hypothesis is derandomised: CI runs the same cases every time; ``benchmarks/fuzz_api.py`` runs
the long, randomised version against a real server with the shipped model (docs/reliability.md).

Not checked here, by design: ``positive_data_acceptance`` (a schema-valid request may still be
refused with a documented 422 for rules JSON Schema cannot state: a record needs a non-blank
``text`` or a customer turn, ``to`` must be after ``from``) and ``negative_data_rejection``
(query values are strings; pydantic reads ``to=8.0`` as a Unix time where the schema says
``date-time``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

schemathesis = pytest.importorskip("schemathesis", reason="schemathesis is a dev dependency: pip install -e '.[dev]'")

from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from hypothesis.errors import Unsatisfiable  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.generation.modes import GenerationMode  # noqa: E402
from schemathesis.python.asgi import shutdown_lifespans  # noqa: E402
from schemathesis.specs.openapi.checks import (  # noqa: E402
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
#: Cases per operation and generation mode. The four score routes share their parameters and
#: code path (and each request scores the whole store), so they get fewer each; the total is
#: well over MIN_TOTAL_CASES.
EXAMPLES = 110
EXAMPLES_BY_TAG = {"scores": 30}
MIN_TOTAL_CASES = 1000

SEED_RECORDS = [
    {
        "id": f"seed-{i}",
        "kind": kind,
        "text": text,
        "created_at": f"2026-0{1 + i % 3}-1{i % 9}T10:00:00Z",
        "rating": 1 + i % 5,
        "nps": i % 11,
        "channel": "web",
        "metadata": {"store": f"s{i % 2}"},
    }
    for i, (kind, text) in enumerate(
        [
            ("review", "Love the app, but the delivery took two weeks."),
            ("survey", "Terrible service, I was charged twice on my bill."),
            ("social", "Great staff at the store, lovely people."),
            ("review", "The website login is broken, terrible."),
            ("survey", "How do I change my delivery address?"),
            ("social", "Thanks for the quick refund, great."),
        ]
    )
] + [
    # Issue 15: dates as exports write them and a speech-to-text transcript, stored before the run
    # (the request bodies' schema examples, sent in the explicit phase, hold the same shapes).
    {
        "id": "seed-twitter",
        "kind": "social",
        "text": "Delayed again, terrible.",
        "created_at": "2015-02-24 11:35:52 -0800",
    },
    {"id": "seed-api", "kind": "social", "text": "Great crew today", "created_at": "Wed Oct 04 13:59:33 +0000 2017"},
    {"id": "seed-epoch", "kind": "review", "text": "Refund took a month", "created_at": 1793614500000, "rating": 2},
    {
        "id": "seed-call",
        "kind": "transcript",
        "created_at": "Mon, 02 Nov 2026 10:15:00 +0000",
        "turns": [
            {"speaker": "ivr", "text": "Say billing or support.", "start_ms": 0, "end_ms": 1450},
            {
                "speaker": "caller",
                "text": "I was charged twice.",
                "start": 1.5,
                "end": 3.2,
                "confidence": 0.9,
                "metadata": {"channel": 1},
            },
        ],
    },
]


@dataclass
class FuzzRun:
    """Counts of what was sent and what failed, per operation and generation mode."""

    cases: Counter[str] = field(default_factory=Counter)
    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)
    failures: dict[str, str] = field(default_factory=dict)


@pytest.fixture(scope="module")
def fuzz_target(tmp_path_factory: pytest.TempPathFactory, fake_pipeline) -> Iterator[tuple[Any, str]]:  # noqa: ANN001
    """The app (not yet started: schemathesis runs its lifespan) and an admin key."""
    from feedback_nlp.settings import Settings
    from feedback_nlp.storage import feedback_repo
    from feedback_nlp.storage.db import init_db, make_session_factory
    from feedback_nlp.storage.keys_repo import create_key
    from feedback_nlp.taxonomy.records import FeedbackRecord
    from feedback_nlp_api.main import create_app

    url = f"sqlite:///{Path(tmp_path_factory.mktemp('fuzz')) / 'fuzz.db'}"
    engine = init_db(url)
    records = [FeedbackRecord(**r) for r in SEED_RECORDS]
    items = list(zip(records, fake_pipeline.predict(records), fake_pipeline.customer_texts(records), strict=True))
    with make_session_factory(engine)() as session:
        key = create_key(session, "fuzz", ["admin"]).plaintext
        feedback_repo.ingest(session, items, default_source="seed")
    app = create_app(
        Settings(database_url=url, rate_limit_per_second=1e6, rate_limit_burst=1_000_000),
        pipeline=fake_pipeline,
        engine=engine,
    )
    try:
        yield app, key
    finally:
        shutdown_lifespans()
        engine.dispose()


def _examples(operation: Any) -> int:
    tags = operation.definition.raw.get("tags", [])
    return min([EXAMPLES, *(EXAMPLES_BY_TAG[t] for t in tags if t in EXAMPLES_BY_TAG)])


def _fuzz(app: Any, key: str) -> FuzzRun:
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    run = FuzzRun()
    headers = {"Authorization": f"Bearer {key}"}
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            name = f"{operation.label} [{mode.value}]"

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(
                max_examples=_examples(operation),
                deadline=None,
                database=None,
                derandomize=True,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            def send(case: Any) -> None:
                run.cases[name] += 1  # noqa: B023 - send runs within this iteration
                try:
                    response = case.call_and_validate(checks=CHECKS, headers=headers)
                except BaseException as exc:  # noqa: BLE001 - schemathesis' FailureGroup is a BaseExceptionGroup
                    if isinstance(exc, KeyboardInterrupt):
                        raise
                    run.failures.setdefault(name, f"{type(exc).__name__}: {exc}")  # noqa: B023 - as above
                    return
                run.statuses[(name, response.status_code)] += 1  # noqa: B023 - as above

            try:
                send()
            except Unsatisfiable:
                continue  # no parameters to break (GET /health in negative mode)
    return run


def test_fuzzed_requests_get_documented_answers_and_no_server_error(fuzz_target: tuple[Any, str]) -> None:
    app, key = fuzz_target
    run = _fuzz(app, key)
    schema_paths = app.openapi()["paths"]
    operations = {f"{method.upper()} {path}" for path, item in schema_paths.items() for method in item}
    fuzzed = {name.split(" [")[0] for name in run.cases}
    assert fuzzed == operations, f"operations not fuzzed: {operations - fuzzed}"
    total = sum(run.cases.values())
    assert total >= MIN_TOTAL_CASES, f"only {total} cases generated: {dict(run.cases)}"
    assert not run.failures, "\n\n".join(f"{name}:\n{detail}" for name, detail in run.failures.items())
    server_errors = {k: v for k, v in run.statuses.items() if k[1] >= 500}
    assert not server_errors, server_errors
    # The fuzz reached past validation: some requests were served, some refused.
    codes = {code for _, code in run.statuses}
    assert {200, 201, 422} <= codes, codes


def test_every_route_documents_the_errors_the_fuzzer_cannot_provoke(service) -> None:  # noqa: ANN001
    """Auth, rate limits and database outages answer on every keyed route; bodies can be too big
    or undecodable. The fuzz run above never meets these, so the schema is checked directly."""
    schema = service.client.get("/openapi.json").json()
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            documented = set(operation["responses"])
            if path not in ("/health", "/ready"):
                assert {"401", "403", "429", "503"} <= documented, (method, path, documented)
            if "requestBody" in operation:
                assert {"400", "413", "422"} <= documented, (method, path, documented)
            for status, response in operation["responses"].items():
                if status.startswith(("4", "5")):
                    assert set(response.get("content", {})) == {"application/json"}, (method, path, status)


# -- what the fuzzing found (each was a 500, or a store that broke the score endpoints) ------------

SCORE_ROUTES = ("/v1/scores/touchpoints", "/v1/scores/journey", "/v1/drivers", "/v1/alerts")


def test_a_query_time_outside_the_calendar_in_utc_is_422_not_500(service) -> None:  # noqa: ANN001
    # 0001-01-01 at +05:00 is still year 0 in UTC, where Python has no dates.
    response = service.client.get(
        "/v1/alerts", params={"from": "0001-01-01T00:00:00+05:00"}, headers=service.auth("read")
    )
    assert response.status_code == 422
    assert "years 1-9999" in response.json()["detail"][0]["msg"]


def test_records_dated_at_the_ends_of_the_calendar_leave_the_scores_working(service) -> None:  # noqa: ANN001
    records = [
        {"id": f"edge-{i}", "kind": "review", "text": text, "created_at": when}
        for i, (text, when) in enumerate(
            [
                ("The delivery was late, terrible", "0001-01-01T00:00:00Z"),
                ("I love the app", "9999-12-31T23:00:00Z"),
                ("Great staff", "2026-03-02T10:00:00Z"),
            ]
        )
    ]
    assert (
        service.client.post("/v1/feedback", json={"records": records}, headers=service.auth("ingest")).status_code
        == 201
    )
    for path in SCORE_ROUTES:
        # The journey matrix and the drivers take no period (an unknown parameter is a 422).
        periods = ("day", "week", "month") if path in ("/v1/scores/touchpoints", "/v1/alerts") else (None,)
        for period in periods:
            params = {"period": period} if period else {}
            response = service.client.get(path, params=params, headers=service.auth("read"))
            assert response.status_code == 200, (path, period, response.text[:200])
            assert response.json()["records"] == 3


@pytest.mark.parametrize("rating", [0, 5.5, 7, -1, 1e308])
def test_a_rating_off_the_1_to_5_scale_is_refused_and_never_stored(service, rating: float) -> None:  # noqa: ANN001
    body = {
        "records": [
            {"id": "ok", "kind": "review", "text": "fine", "rating": 4},
            {"id": "bad", "kind": "review", "text": "great", "rating": rating},
        ]
    }
    response = service.client.post("/v1/feedback", json=body, headers=service.auth("ingest"))
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"] == ["body", "records", 1, "rating"] and "from 1 to 5" in error["msg"]
    assert service.client.get("/v1/feedback", headers=service.auth("read")).json()["items"] == []
    # A stored off-scale rating used to make every score request answer 422.
    assert service.client.get("/v1/scores/touchpoints", headers=service.auth("read")).status_code == 200
