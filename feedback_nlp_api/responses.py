"""The error answers routes document in the OpenAPI schema (every error body is ``ErrorBody``)."""

from __future__ import annotations

from typing import Any

from feedback_nlp_api.schemas import ErrorBody

ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "The body could not be parsed (not UTF-8 JSON)"},
    401: {"model": ErrorBody, "description": "Missing or unknown API key"},
    403: {"model": ErrorBody, "description": "The key lacks the scope"},
    413: {"model": ErrorBody, "description": "Request body over the size limit"},
    422: {"model": ErrorBody, "description": "Invalid records; the message names the field and limit"},
    429: {"model": ErrorBody, "description": "Rate limit exceeded (see Retry-After)"},
    503: {"model": ErrorBody, "description": "Queue full, model not ready or database unreachable (see Retry-After)"},
}


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The entries of :data:`ERRORS` for ``codes``."""
    return {code: ERRORS[code] for code in codes}


def json_error(description: str) -> dict[str, Any]:
    """An error answer for a route whose success is not JSON (name the media type, or FastAPI
    documents the route's own, such as text/html)."""
    return {"description": description, "content": {"application/json": {"schema": ErrorBody.model_json_schema()}}}
