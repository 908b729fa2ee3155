"""Reports for CX leads, rendered from the stored feedback."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse

from feedback_nlp.errors import InputError
from feedback_nlp_api.auth import ReadKey
from feedback_nlp_api.dates import UtcDatetime
from feedback_nlp_api.deps import PipelineDep, SessionsDep
from feedback_nlp_api.responses import json_error

router = APIRouter(prefix="/v1/reports", tags=["reports"])


@router.get(
    "/topic-trends",
    response_class=HTMLResponse,
    responses={
        200: {"content": {"text/html": {}}, "description": "One self-contained HTML page (no external files)"},
        # Errors are JSON, not HTML (json_error names the media type).
        401: json_error("Missing or unknown API key"),
        403: json_error("The key lacks the scope"),
        404: json_error("No stored feedback in the range"),
        409: json_error("No topic model is deployed"),
        422: json_error("Invalid period or dates"),
        429: json_error("Rate limit exceeded (see Retry-After)"),
        503: json_error("Model not ready or database unreachable (see Retry-After)"),
    },
)
async def topic_trends(
    _: ReadKey,
    pipeline: PipelineDep,
    sessions: SessionsDep,
    period: Annotated[Literal["day", "week", "month"], Query(description="Period of the trends.")] = "week",
    start: Annotated[UtcDatetime | None, Query(alias="from", description="Start (inclusive), ISO 8601.")] = None,
    end: Annotated[UtcDatetime | None, Query(alias="to", description="End (exclusive), ISO 8601.")] = None,
) -> HTMLResponse:
    """The topic trend report over the stored feedback, under the deployed topic model."""
    if start is not None and end is not None and end <= start:
        raise HTTPException(
            status_code=422, detail=f"'to' ({end.isoformat()}) must be after 'from' ({start.isoformat()})."
        )
    model = pipeline.topic_model
    if model is None:
        raise HTTPException(
            status_code=409,
            detail="No topic model is deployed. Fit one with `feedback-nlp topics fit INPUT -o DIR --deploy` "
            "(or `--from-db`) and restart the service.",
        )

    def render() -> str:
        from feedback_nlp.reports import build
        from feedback_nlp.reports.topic_report import render_html
        from feedback_nlp.topics.corpus import corpus_from_db

        corpus = corpus_from_db(sessions=sessions)
        report = build.topic_trend_report(
            corpus,
            pipeline,
            model,  # type: ignore[arg-type]  # the deployed topic model is a TopicModel; the pipeline types it by its protocol
            period=period,
            start=start.isoformat() if start else None,
            end=end.isoformat() if end else None,
        )
        return render_html(report)

    try:
        html = await run_in_threadpool(render)
    except InputError as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from None
    return HTMLResponse(html)
