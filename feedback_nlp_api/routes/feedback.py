"""Ingest feedback (classify and store) and read it back."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from fastapi.concurrency import run_in_threadpool

from feedback_nlp.storage import feedback_repo
from feedback_nlp.storage.feedback_repo import FeedbackFilters
from feedback_nlp.taxonomy.records import FeedbackKind
from feedback_nlp_api.auth import IngestKey, ReadKey
from feedback_nlp_api.classifying import answering_version, classify_records
from feedback_nlp_api.dates import UtcDatetime
from feedback_nlp_api.deps import BatcherDep, MetricsDep, PipelineDep, SessionsDep, SettingsDep
from feedback_nlp_api.limits import check_records
from feedback_nlp_api.query import FilterText
from feedback_nlp_api.responses import ERRORS, errors
from feedback_nlp_api.schemas import ErrorBody, FeedbackPage, IngestRequest, IngestResponse, IngestResult, StoredRecord

router = APIRouter(prefix="/v1/feedback", tags=["feedback"])


@router.post(
    "",
    response_model=IngestResponse,
    status_code=201,
    responses={
        **ERRORS,
        200: {"model": IngestResponse, "description": "All records were duplicates"},
        409: {"model": ErrorBody, "description": "A (source, id) is stored with a different text"},
    },
)
async def ingest(
    body: IngestRequest,
    response: Response,
    _: IngestKey,
    pipeline: PipelineDep,
    batcher: BatcherDep,
    metrics: MetricsDep,
    sessions: SessionsDep,
    settings: SettingsDep,
) -> IngestResponse:
    """Redact, classify and store records in one transaction (all or none).

    Idempotent on ``(source, id)``: a retried record stores nothing new and returns the existing
    id with status ``duplicate``; a changed text under a stored key is a 409.
    """
    check_records(body.records, settings)
    predictions = await classify_records(body.records, batcher, metrics)
    texts = pipeline.customer_texts(body.records)
    items = list(zip(body.records, predictions, texts, strict=True))

    def store() -> list[feedback_repo.IngestOutcome]:
        with sessions() as session:
            return feedback_repo.ingest(session, items, default_source=body.source)

    # A lost database connection surfaces as OperationalError: api.main answers it with a 503.
    outcomes = await run_in_threadpool(store)
    if all(o.status == "duplicate" for o in outcomes):
        response.status_code = 200
    return IngestResponse(
        results=[
            IngestResult(id=o.id, external_id=r.id, status=o.status)
            for o, r in zip(outcomes, body.records, strict=True)
        ],
        model_version=answering_version(predictions, pipeline),
    )


@router.get("", response_model=FeedbackPage, responses=errors(401, 403, 422, 429, 503))
def list_feedback(
    _: ReadKey,
    sessions: SessionsDep,
    kind: FeedbackKind | None = None,
    source: FilterText = None,
    touchpoint: FilterText = None,
    journey_stage: FilterText = None,
    sentiment: Annotated[str | None, Query(pattern="^(negative|neutral|positive)$")] = None,
    created_from: UtcDatetime | None = None,
    created_to: UtcDatetime | None = None,
    limit: Annotated[int, Query(ge=1, le=feedback_repo.MAX_PAGE_SIZE)] = feedback_repo.DEFAULT_PAGE_SIZE,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> FeedbackPage:
    """Stored records with their predictions, newest first, filtered and paginated by cursor."""
    filters = FeedbackFilters(
        kind=kind.value if kind else None,
        source=source,
        touchpoint=touchpoint,
        journey_stage=journey_stage,
        sentiment=sentiment,
        created_from=created_from,
        created_to=created_to,
    )
    with sessions() as session:
        rows, next_cursor = feedback_repo.list_feedback(session, filters, limit=limit, cursor=cursor)
    return FeedbackPage(items=[StoredRecord(**row.model_dump()) for row in rows], next_cursor=next_cursor)
