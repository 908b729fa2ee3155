"""The command-line options every command that reads a feedback file shares.

``classify``, ``score``, ``topics fit``/``update`` and ``report topics`` read the same files
the same way, so they take the same options: the columns that hold each field (exports name
them their own way), extra header rows to skip, and how dates are read. Such a command takes
one keyword-only parameter ``inputs: InputOptions`` and is decorated with
:func:`with_input_options`, which puts these options in its place; the command hands
:meth:`InputOptions.read_kwargs` to :func:`feedback_nlp.fileio.read_records`. Commands that
read only a text and an id (``label export``, ``taxonomy predict``) use the aliases
:data:`Kind`, :data:`TextColumn` and :data:`IdColumn` directly.

Examples:
    A Qualtrics export (its two extra header rows are recognised) and a Twitter export::

        feedback-nlp classify survey.csv --text-column Q2 --id-column ResponseId \\
            --created-at-column RecordedDate --nps-column Q1 --kind survey
        feedback-nlp report topics tweets.csv --created-at-column tweet_created --id-column tweet_id \\
            --kind social
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from typing import Annotated, Any, Literal

import typer

from feedback_nlp.cli.errors import CommandError

__all__ = ["IdColumn", "InputOptions", "Kind", "TextColumn", "require_one_source", "with_input_options"]

_PANEL = "Input columns and dates"

Kind = Annotated[
    str | None,
    typer.Option(help="Kind for rows without one: survey, review, social, transcript.", rich_help_panel=_PANEL),
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
    typer.Option(
        min=0,
        help="Rows after the header to skip (CSV, Excel); Qualtrics' and SurveyMonkey's are skipped without it.",
        rich_help_panel=_PANEL,
    ),
]
DateFormat = Annotated[
    str | None,
    typer.Option(
        help="strptime format for slashed dates: %d/%m/%Y (day first) or %m/%d/%Y (month first). "
        "Default: the FEEDBACK_NLP_DATE_FORMAT setting.",
        rich_help_panel=_PANEL,
    ),
]
OnBadDate = Annotated[
    Literal["error", "null"] | None,
    typer.Option(
        help="A created_at that cannot be read: 'error' reports the row, 'null' keeps it without a date. "
        "Default: the FEEDBACK_NLP_ON_BAD_DATE setting (error).",
        rich_help_panel=_PANEL,
    ),
]

ChannelColumn = Annotated[
    str | None, typer.Option(help="Column holding the channel (default: channel).", rich_help_panel=_PANEL)
]
Channel = Annotated[
    str | None,
    typer.Option(
        help="Channel for rows without one, e.g. chat for a chat export: a transcript's declared channel "
        "gives its chat or phone touchpoint.",
        rich_help_panel=_PANEL,
    ),
]
TurnsColumn = Annotated[
    str | None,
    typer.Option(
        help="JSON key holding a transcript's turns (default: turns), e.g. original for ABCD's chats.",
        rich_help_panel=_PANEL,
    ),
]
Sheet = Annotated[
    str | None,
    typer.Option(help="The sheet of an Excel workbook to read (default: the first).", rich_help_panel=_PANEL),
]
TurnSpeaker = Annotated[
    str | None,
    typer.Option(
        help="Speaker of JSONL transcript turns that name none, e.g. customer for an export of the customer's "
        "turns only. Default: such a turn is an error.",
        rich_help_panel=_PANEL,
    ),
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
    channel_column: str | None = None
    turns_column: str | None = None
    skip_rows: int = 0
    date_format: str | None = None
    on_bad_date: Literal["error", "null"] | None = None
    turn_speaker: str | None = None
    channel: str | None = None
    sheet: str | None = None

    def read_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for :func:`~feedback_nlp.fileio.read_records`."""
        values = asdict(self)
        columns = {
            name: values.pop(f"{name}_column")
            for name in ("created_at", "kind", "rating", "nps", "source", "channel", "turns")
        }
        return {**values, "columns": {name: column for name, column in columns.items() if column}}


#: Each InputOptions field as a command-line option (same name, same default).
_OPTIONS = {
    "kind": Kind,
    "text_column": TextColumn,
    "id_column": IdColumn,
    "created_at_column": CreatedAtColumn,
    "kind_column": KindColumn,
    "rating_column": RatingColumn,
    "nps_column": NpsColumn,
    "source_column": SourceColumn,
    "channel_column": ChannelColumn,
    "turns_column": TurnsColumn,
    "skip_rows": SkipRows,
    "date_format": DateFormat,
    "on_bad_date": OnBadDate,
    "turn_speaker": TurnSpeaker,
    "channel": Channel,
    "sheet": Sheet,
}
_PARAMETERS = [
    inspect.Parameter(
        field.name, inspect.Parameter.KEYWORD_ONLY, default=field.default, annotation=_OPTIONS[field.name]
    )
    for field in fields(InputOptions)
]
assert set(_OPTIONS) == {p.name for p in _PARAMETERS}, "every InputOptions field needs its option alias"


def with_input_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Give a command the input options in place of its ``inputs: InputOptions`` parameter.

    typer reads the signature of the returned function: the command's own parameters, with
    ``inputs`` replaced by ``--kind``, ``--text-column``, ... ``--turn-speaker``. When the command
    runs, those values arrive as one :class:`InputOptions`.
    """
    signature = inspect.signature(command, eval_str=True)
    if "inputs" not in signature.parameters:
        raise TypeError(
            f"{command.__qualname__} needs a keyword-only parameter `inputs: InputOptions` "
            "for @with_input_options to replace"
        )
    parameters: list[inspect.Parameter] = []
    for parameter in signature.parameters.values():
        if parameter.name == "inputs":
            parameters.extend(_PARAMETERS)
        else:  # keyword-only, so options with defaults may come before required ones
            parameters.append(parameter.replace(kind=inspect.Parameter.KEYWORD_ONLY))

    @functools.wraps(command)
    def run(**kwargs: Any) -> Any:
        values = {p.name: kwargs.pop(p.name) for p in _PARAMETERS}
        return command(**kwargs, inputs=InputOptions(**values))

    run.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
    run.__annotations__ = {p.name: p.annotation for p in parameters}
    return run


def require_one_source(input: str | None, from_db: bool) -> None:
    """Commands that read a file or the service database need exactly one of them."""
    if (input is None) == (not from_db):
        raise CommandError("give either an INPUT file or --from-db (not both, not neither)")
