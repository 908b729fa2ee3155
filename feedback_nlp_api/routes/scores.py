"""Experience scores over the stored feedback: touchpoints, the journey matrix, drivers, alerts.

Each request counts the stored predictions in its date range and segment in SQL: the filters
are a WHERE clause in the database, the needed columns come in Arrow batches into DuckDB, and
the counts are one query per table with the one mention rule (``scoring.duck.store_counts``).
The scores come from the same formulas as ``feedback-nlp score`` (docs/scores.md).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any, Literal

import pandas as pd
from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session, sessionmaker

from feedback_nlp.taxonomy.records import FeedbackKind
from feedback_nlp_api.auth import ReadKey
from feedback_nlp_api.dates import UtcDatetime
from feedback_nlp_api.deps import SessionsDep
from feedback_nlp_api.query import FilterText
from feedback_nlp_api.schemas import ErrorBody

router = APIRouter(prefix="/v1", tags=["scores"])

Sessions = sessionmaker[Session]

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "Missing or unknown API key"},
    403: {"model": ErrorBody, "description": "The key lacks the scope"},
    422: {"model": ErrorBody, "description": "Invalid period, dates or filters"},
    429: {"model": ErrorBody, "description": "Rate limit exceeded (see Retry-After)"},
    503: {"model": ErrorBody, "description": "The database is unreachable (see Retry-After)"},
}


class ScoreTable(BaseModel):
    """One table of scores; its columns are documented in docs/scores.md."""

    table: str = Field(examples=["touchpoint_scores"])
    period: str | None = Field(examples=["week"])
    filters: dict[str, Any] = Field(examples=[{"from": "2026-01-01T00:00:00Z", "source": "app-store"}])
    records: int = Field(description="Stored records counted.", examples=[1234])
    rows: list[dict[str, Any]] = Field(
        examples=[
            [
                {
                    "touchpoint": "delivery",
                    "period": "2026-03-02",
                    "volume": 120,
                    "nss": -35.0,
                    "nss_low": -48.2,
                    "nss_high": -21.8,
                    "low_volume": False,
                }
            ]
        ]
    )


Period = Annotated[Literal["day", "week", "month"], Query(description="Period of the breakdown.")]
Start = Annotated[UtcDatetime | None, Query(alias="from", description="created_at from (inclusive), ISO 8601.")]
End = Annotated[UtcDatetime | None, Query(alias="to", description="created_at to (exclusive), ISO 8601.")]
Source = Annotated[FilterText, Query(description="Only this source.")]
Kind = Annotated[FeedbackKind | None, Query(description="Only this kind.")]


def _filters(start: Start = None, end: End = None, source: Source = None, kind: Kind = None) -> dict[str, Any]:
    """The date range and segment shared by every score route, as given (422 on an empty range)."""
    if start is not None and end is not None and end <= start:
        raise HTTPException(
            status_code=422, detail=f"'to' ({end.isoformat()}) must be after 'from' ({start.isoformat()})."
        )
    return {k: v for k, v in {"from": start, "to": end, "source": source, "kind": kind}.items() if v is not None}


Filters = Annotated[dict[str, Any], Depends(_filters)]


def _counted(sessions: Sessions, period: str, filters: dict[str, Any]) -> tuple[dict[str, pd.DataFrame], int]:
    """Count the stored predictions matching ``filters`` in SQL (in the calling thread)."""
    from feedback_nlp.scoring import job
    from feedback_nlp.scoring.duck import store_counts
    from feedback_nlp.storage.feedback_batches import StoredScope

    scope = StoredScope(created_from=filters.get("from"), created_to=filters.get("to"), source=filters.get("source"),
                        kind=None if filters.get("kind") is None else str(filters["kind"]))  # fmt: skip
    counted = store_counts(sessions, job.count_specs(()), period, scope)  # type: ignore[arg-type]
    return counted.counts, counted.records


async def _table(sessions: Sessions, name: str, period: str, filters: dict[str, Any]) -> ScoreTable:
    from feedback_nlp.scoring import job

    def compute() -> tuple[pd.DataFrame, int]:
        counts, n = _counted(sessions, period, filters)
        return job.tables_from_counts(counts, period, ())[name], n  # type: ignore[arg-type]

    table, n = await run_in_threadpool(compute)
    rows = json.loads(table.to_json(orient="records", date_format="iso")) if len(table) else []
    shown = {k: (v.isoformat() if isinstance(v, datetime) else str(v)) for k, v in filters.items()}
    return ScoreTable(table=name, period=period, filters=shown, records=n, rows=rows)


@router.get("/scores/touchpoints", response_model=ScoreTable, responses=ERRORS)
async def touchpoint_scores(
    sessions: SessionsDep,
    _: ReadKey,
    filters: Filters,
    period: Period = "week",
) -> ScoreTable:
    """Volume, sentiment shares, Net Sentiment Score with its 95% interval, NPS and CSAT per touchpoint and period."""
    return await _table(sessions, "touchpoint_scores", period, filters)


@router.get("/scores/journey", response_model=ScoreTable, responses=ERRORS)
async def journey_matrix(
    sessions: SessionsDep,
    _: ReadKey,
    filters: Filters,
) -> ScoreTable:
    """Journey stage x touchpoint volume and Net Sentiment Score over the range."""
    return await _table(sessions, "journey_matrix", "week", filters)


@router.get("/drivers", response_model=ScoreTable, responses=ERRORS)
async def drivers(
    sessions: SessionsDep,
    _: ReadKey,
    filters: Filters,
) -> ScoreTable:
    """For each touchpoint, the topics that pull its Net Sentiment Score down or up most."""
    return await _table(sessions, "drivers", "week", filters)


@router.get("/alerts", response_model=ScoreTable, responses=ERRORS)
async def alerts(
    sessions: SessionsDep,
    _: ReadKey,
    filters: Filters,
    period: Period = "week",
) -> ScoreTable:
    """Touchpoint scores below their EWMA control limits and topic volumes spiking in the latest period."""
    return await _table(sessions, "alerts", period, filters)
