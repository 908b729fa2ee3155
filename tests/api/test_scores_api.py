"""GET /v1/scores/touchpoints, /v1/scores/journey, /v1/drivers and /v1/alerts over stored feedback."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

ROUTES = ["/v1/scores/touchpoints", "/v1/scores/journey", "/v1/drivers", "/v1/alerts"]

TEXTS = [
    "The delivery was late again and the courier never called",
    "Love the app, checkout was quick",
    "Support on the phone was rude and unhelpful",
    "Great staff in the store, very kind",
    "I was charged twice on my bill",
]


def _ingest(service, n: int = 60) -> None:  # noqa: ANN001
    start = datetime(2026, 3, 2, 9, tzinfo=UTC)
    records = [
        {
            "id": f"r{i}",
            "kind": "review" if i % 3 else "survey",
            "source": "web" if i % 2 else "app",
            "text": TEXTS[i % len(TEXTS)],
            "created_at": (start + timedelta(days=i % 35)).isoformat(),
            **({"nps": i % 11} if i % 4 == 0 else {}),
        }
        for i in range(n)
    ]
    response = service.client.post("/v1/feedback", json={"records": records}, headers=service.auth("ingest"))
    assert response.status_code == 201, response.text


@pytest.mark.parametrize("route", ROUTES)
def test_scores_need_a_read_key(service, route: str) -> None:  # noqa: ANN001
    assert service.client.get(route).status_code == 401
    assert service.client.get(route, headers=service.auth("classify")).status_code == 403


def test_touchpoint_scores_by_week(any_db_service) -> None:  # noqa: ANN001
    service = any_db_service
    _ingest(service)
    body = service.client.get("/v1/scores/touchpoints?period=week", headers=service.auth("read")).json()
    assert body["table"] == "touchpoint_scores" and body["records"] == 60
    assert body["rows"], body
    for row in body["rows"]:
        assert -100 <= row["nss"] <= 100 and row["nss_low"] <= row["nss"] <= row["nss_high"]
        assert row["period"].startswith("2026-")
    weeks = {row["period"] for row in body["rows"]}
    assert len(weeks) >= 5  # 35 days of feedback


def test_filters_narrow_what_is_counted(service) -> None:  # noqa: ANN001
    _ingest(service)
    auth = service.auth("read")
    everything = service.client.get("/v1/scores/touchpoints", headers=auth).json()["records"]
    app_only = service.client.get("/v1/scores/touchpoints?source=app", headers=auth).json()
    surveys = service.client.get("/v1/scores/touchpoints?kind=survey", headers=auth).json()
    ranged = service.client.get(
        "/v1/scores/touchpoints?from=2026-03-09T00:00:00Z&to=2026-03-16T00:00:00Z", headers=auth
    ).json()
    assert everything == 60 and app_only["records"] == 30 and surveys["records"] == 20
    assert ranged["records"] == 14 and ranged["filters"]["from"].startswith("2026-03-09")


def test_journey_drivers_and_alerts_answer(service) -> None:  # noqa: ANN001
    _ingest(service)
    auth = service.auth("read")
    journey = service.client.get("/v1/scores/journey", headers=auth).json()
    assert journey["rows"] and {"journey_stage", "touchpoint", "nss"} <= set(journey["rows"][0])
    assert service.client.get("/v1/drivers", headers=auth).status_code == 200
    alerts = service.client.get("/v1/alerts?period=week", headers=auth)
    assert alerts.status_code == 200 and isinstance(alerts.json()["rows"], list)


@pytest.mark.parametrize(
    "query",
    ["period=year", "from=2026-03-10T00:00:00Z&to=2026-03-01T00:00:00Z", "kind=letter", "from=yesterday"],
)
def test_bad_parameters_are_422_naming_the_field(service, query: str) -> None:  # noqa: ANN001
    response = service.client.get(f"/v1/scores/touchpoints?{query}", headers=service.auth("read"))
    assert response.status_code == 422
    assert "Traceback" not in response.text


def test_empty_store_gives_empty_tables(service) -> None:  # noqa: ANN001
    body = service.client.get("/v1/scores/touchpoints", headers=service.auth("read")).json()
    assert body["records"] == 0 and body["rows"] == []
    assert service.client.get("/v1/alerts", headers=service.auth("read")).json()["rows"] == []


@pytest.mark.parametrize(("route", "table", "period"), [
    ("/v1/scores/touchpoints?period=day&source=web", "touchpoint_scores", "day"),
    ("/v1/scores/journey", "journey_matrix", "week"),
    ("/v1/scores/touchpoints?kind=review&period=month", "touchpoint_scores", "month"),
])  # fmt: skip
def test_scores_counted_in_sql_equal_every_stored_row_through_python(
    service, route: str, table: str, period: str
) -> None:  # noqa: ANN001
    """The route's rows are what streaming every stored row through the score job's chunks gives."""
    import json

    from feedback_nlp.scoring import job
    from feedback_nlp.scoring.frame import records_from_rows
    from feedback_nlp.storage.feedback_batches import StoredScope

    _ingest(service)
    body = service.client.get(route, headers=service.auth("read")).json()
    query = dict(part.split("=") for part in route.partition("?")[2].split("&") if part)
    scope = StoredScope(source=query.get("source"), kind=query.get("kind"))
    rows = list(job.stored_rows(sessions=service.app.state.sessions, where=scope.conditions()))
    specs = job.count_specs(())
    counts = job.add_counts({}, job.count_chunk(records_from_rows(rows), period, specs), specs)  # type: ignore[arg-type]
    expected = job.tables_from_counts(counts, period, ())[table]  # type: ignore[arg-type]
    assert body["records"] == len(rows) > 0 and len(body["rows"]) == len(expected) > 0
    assert body["rows"] == json.loads(expected.to_json(orient="records", date_format="iso"))
