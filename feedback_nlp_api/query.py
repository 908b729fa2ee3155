"""Query-string rules shared by the routes: filter values the database can take, and no
parameter the route does not know (a misspelt filter would otherwise be ignored in silence)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Request
from fastapi.dependencies.utils import get_flat_dependant
from fastapi.exceptions import RequestValidationError
from pydantic import AfterValidator

from feedback_nlp.storage.models import KEY_MAX_LENGTH
from feedback_nlp.taxonomy.records import lone_surrogate_problem


def _no_control_characters(value: str | None) -> str | None:
    if value is not None and "\x00" in value:
        raise ValueError("contains a NUL character (%00); send the value as stored")
    problem = lone_surrogate_problem(value, "the value") if value is not None else None
    if problem is not None:
        raise ValueError(problem)
    return value


#: A source, touchpoint or other text filter: as long as a stored key may be, no NUL.
FilterText = Annotated[str | None, Query(max_length=KEY_MAX_LENGTH), AfterValidator(_no_control_characters)]


def known_query_parameters(request: Request) -> None:
    """A 422 naming any query parameter the route does not take, and the ones it does.

    Installed for every route (``FastAPI(dependencies=...)``): ``?created_from=`` on a route that
    takes ``from`` would otherwise return every record as if unfiltered.
    """
    dependant = getattr(request.scope.get("route"), "dependant", None)
    if dependant is None:
        return
    known = [param.alias for param in get_flat_dependant(dependant).query_params]
    unknown = [name for name in dict.fromkeys(request.query_params.keys()) if name not in known]
    if unknown:
        takes = f"this route takes: {', '.join(known)}" if known else "this route takes no query parameters"
        raise RequestValidationError(
            [
                {
                    "loc": ("query", name),
                    "msg": f"unknown query parameter {name!r}; {takes}",
                    "type": "unknown_parameter",
                }
                for name in unknown
            ]
        )
