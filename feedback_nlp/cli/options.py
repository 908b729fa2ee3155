"""The command-line options every command that reads a feedback file shares.

``classify``, ``score``, ``topics fit``/``update`` and ``report topics`` read the same files
the same way, so they take the same options: the columns that hold each field (exports name
them their own way), extra header rows to skip, and how dates are read. Each command declares
the options with these aliases and hands :meth:`InputOptions.read_kwargs` to
:func:`feedback_nlp.fileio.read_records`.

Examples:
    A Qualtrics export (three header rows) and a Twitter export::

        feedback-nlp classify survey.csv --skip-rows 2 --text-column Q2 --id-column ResponseId \\
            --created-at-column RecordedDate --nps-column Q1 --kind survey
        feedback-nlp report topics tweets.csv --created-at-column tweet_created --id-column tweet_id \\
            --kind social
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Annotated, Any, Literal

import typer

__all__ = ["InputOptions"]

_PANEL = "Input columns and dates"

Kind = Annotated[
    str | None, typer.Option(help="Kind for rows without one: survey, review, social, transcript.", rich_help_panel=_PANEL)
]
TextColumn = Annotated[str, typer.Option(help="Column (or JSON key) holding the text.", rich_help_panel=_PANEL)]
IdColumn = Annotated[str, typer.Option(help="Column (or JSON key) holding the id.", rich_help_panel=_PANEL)]
CreatedAtColumn = Annotated[
    str | None,
    typer.Option(help="Column holding the date (default: created_at), e.g. tweet_created.", rich_help_panel=_PANEL),
]
KindColumn = Annotated[
    str | None, typer.Option(help="Column holding the kind (default: kind).", rich_help_panel=_PANEL)
]
RatingColumn = Annotated[
    str | None, typer.Option(help="Column holding a 1-5 rating (default: rating).", rich_help_panel=_PANEL)
]
NpsColumn = Annotated[
    str | None, typer.Option(help="Column holding a 0-10 NPS answer (default: nps).", rich_help_panel=_PANEL)
]
SourceColumn = Annotated[
    str | None, typer.Option(help="Column holding the source (default: source).", rich_help_panel=_PANEL)
]
SkipRows = Annotated[
    int,
    typer.Option(min=0, help="Rows after the header to skip (CSV, Excel): 2 for a Qualtrics export.",
                 rich_help_panel=_PANEL),
]
DateFormat = Annotated[
    str | None,
    typer.Option(help="strptime format for slashed dates: %d/%m/%Y (day first) or %m/%d/%Y (month first). "
                      "Default: the FEEDBACK_NLP_DATE_FORMAT setting.", rich_help_panel=_PANEL),
]
OnBadDate = Annotated[
    Literal["error", "null"] | None,
    typer.Option(help="A created_at that cannot be read: 'error' reports the row, 'null' keeps it without a date. "
                      "Default: the FEEDBACK_NLP_ON_BAD_DATE setting (error).", rich_help_panel=_PANEL),
]


@dataclass(frozen=True)
class InputOptions:
    """How a command reads its input file; see :func:`feedback_nlp.fileio.read_records`."""

    kind: str | None = None
    text_column: str = "text"
    id_column: str = "id"
    created_at_column: str | None = None
    kind_column: str | None = None
    rating_column: str | None = None
    nps_column: str | None = None
    source_column: str | None = None
    skip_rows: int = 0
    date_format: str | None = None
    on_bad_date: Literal["error", "null"] | None = None

    def read_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for :func:`~feedback_nlp.fileio.read_records`."""
        values = asdict(self)
        columns = {name: values.pop(f"{name}_column") for name in ("created_at", "kind", "rating", "nps", "source")}
        return {**values, "columns": {name: column for name, column in columns.items() if column}}
