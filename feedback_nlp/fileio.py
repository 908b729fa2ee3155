"""Read feedback records from CSV, Excel (.xlsx), JSONL and Parquet files; write JSONL.

``read_records`` streams a file row by row and yields one ``RowResult`` per row: either
a validated ``FeedbackRecord`` or a one-line error naming the field at fault. A bad row
never stops the stream, so a caller can report every problem of a file in one run.

Line numbers point at the place a user would open the file:

- JSONL: the 1-based line of the file (blank lines are skipped but still counted).
- CSV: the 1-based line of the file where the row starts. The header is line 1, so the
  first data row is line 2; a quoted field spanning several lines moves later rows down.
- Excel: the spreadsheet's row number (the header is row 1), on the first sheet.
- Parquet: the 1-based row index (Parquet has no lines).

Examples:
    >>> with open_output("predictions.jsonl") as out:          # doctest: +SKIP
    ...     good = (r.record for r in read_records("in.csv", kind="review") if r.record)
    ...     write_jsonl(good, out)
"""

from __future__ import annotations

import codecs
import csv
import itertools
import json
import logging
import os
import re
import sys
import uuid
from collections.abc import Generator, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time
from pathlib import Path
from typing import IO, Any, TextIO, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from feedback_nlp.dates import BadDatePolicy, DateError, check_date_format, parse_datetime
from feedback_nlp.errors import InputError
from feedback_nlp.taxonomy.records import FeedbackKind, FeedbackRecord, Turn, accepted_fields, speaker_role

logger = logging.getLogger(__name__)

STDIN = "-"
"""The source name that means JSONL on standard input (and, for output, standard out)."""

FORMATS: dict[str, str] = {
    ".csv": "csv",
    ".tsv": "csv",
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".parquet": "parquet",
    ".xlsx": "xlsx",
}
"""Supported file extensions and the format each one is read as."""

_KINDS = ", ".join(k.value for k in FeedbackKind)
#: Table columns that fill record fields; the text and id columns are named by the caller.
#: Other readers of tables (the Spark job) pass it to :func:`make_row`.
TABLE_FIELDS = frozenset({"kind", "created_at", "channel", "source", "rating", "nps"})
#: Record fields whose column a caller may name (``--created-at-column`` and the like).
MAPPABLE_FIELDS = ("created_at", "kind", "rating", "nps", "source", "channel", "turns")
# A JSON object may also carry the structured fields.
_JSON_FIELDS = TABLE_FIELDS | {"turns", "metadata"}
_PARQUET_FIELDS = TABLE_FIELDS | {"turns"}
_TURN_FIELDS = frozenset(Turn.model_fields)
# An empty cell in these fields means "not given", not an empty value.
_OPTIONAL_SCALARS = ("id", "kind", "created_at", "channel", "source", "rating", "nps")
_DATETIME = "an ISO 8601 date-time such as 2024-05-01T09:30:00Z"
_EXPECTED: dict[str, str] = {
    "string_type": "a string",
    "float_parsing": "a number",
    "float_type": "a number",
    "finite_number": "a finite number",
    "int_parsing": "a whole number",
    "int_type": "a whole number",
    "int_from_float": "a whole number",
    "datetime_parsing": _DATETIME,
    "datetime_type": _DATETIME,
    "datetime_from_date_parsing": _DATETIME,
    "datetime_object_invalid": _DATETIME,
    "less_than_equal": "at most {le}",
    "greater_than_equal": "at least {ge}",
    "list_type": "a list",
    "dict_type": "an object",
    "model_type": "an object",
    "model_attributes_type": "an object",
}


@dataclass(frozen=True, slots=True)
class RowResult:
    """One row of an input file: a valid record, or why the row was rejected.

    Attributes:
        line: Where the row is: the file line for JSONL and CSV (the CSV header is
            line 1), the 1-based row index for Parquet, the line a record starts on for a
            ``.json`` array.
        record: The validated record, or ``None`` when the row is invalid.
        error: A one-line message naming the field and what was expected, or ``None``.
        bad_date: With ``on_bad_date="null"``: why the row's created_at could not be read (the
            record then has none), so that commands needing dates can say so.

    Examples:
        >>> RowResult(line=3, record=None, error="kind: missing").ok
        False
    """

    line: int
    record: FeedbackRecord | None
    error: str | None
    bad_date: str | None = None
    #: Where the row is, for messages, when its line alone does not say it.
    place: str | None = None

    @property
    def ok(self) -> bool:
        """Whether the row holds a valid record."""
        return self.record is not None

    @property
    def where(self) -> str:
        """Where the row is, for messages: ``line 4``, or ``record 3 (line 1)`` in a ``.json`` array,
        where several records may share a line.

        >>> RowResult(line=1, record=None, error="x", place="record 3 (line 1)").where
        'record 3 (line 1)'
        """
        return self.place or f"line {self.line}"


@dataclass(frozen=True, slots=True)
class RowOptions:
    """How a table row becomes a record.

    Attributes:
        default_kind: The kind of rows without one.
        text_column: The column holding the text.
        id_column: The column holding the id.
        columns: Record field -> the column holding it, for fields whose column is not named
            after them (``{"created_at": "tweet_created"}``).
        date_format: A ``strptime`` format for dates the parser does not read unaided.
        on_bad_date: ``"error"`` refuses a row whose created_at cannot be read; ``"null"`` keeps
            it without one.
        turn_speaker: The speaker of transcript turns that name none (an export holding only
            the customer's turns); without it such a turn is an error.
        default_channel: The channel of rows without one (``chat`` for a chat export).
    """

    default_kind: FeedbackKind | None
    text_column: str
    id_column: str
    columns: Mapping[str, str] = field(default_factory=dict)
    date_format: str | None = None
    on_bad_date: BadDatePolicy = "error"
    turn_speaker: str | None = None
    default_channel: str | None = None

    def column_of(self, name: str) -> str:
        """The column a record field is read from, for messages."""
        return {"text": self.text_column, "id": self.id_column, **self.columns}.get(name, name)


def read_records(
    source: str | Path,
    *,
    kind: str | None = None,
    text_column: str = "text",
    id_column: str = "id",
    chunk_size: int = 1000,
    columns: Mapping[str, str] | None = None,
    skip_rows: int = 0,
    date_format: str | None = None,
    on_bad_date: BadDatePolicy | None = None,
    turn_speaker: str | None = None,
    channel: str | None = None,
    sheet: str | None = None,
) -> Iterator[RowResult]:
    """Stream feedback records from a CSV, Excel, JSONL or Parquet file, or JSONL on stdin.

    The format follows the extension (``.csv``, ``.xlsx``, ``.jsonl``/``.ndjson``,
    ``.parquet``, or ``.json`` for one array of records); ``"-"`` reads JSONL from standard
    input. Files are read row by row (Parquet in batches of ``chunk_size`` rows), never whole,
    except a ``.json`` array, which cannot be split into lines. The file is checked (extension,
    existence, header, named columns) when this function is called; rows are read as the
    result is iterated.

    Each row becomes a ``FeedbackRecord``: the ``text_column`` key gives the text, the
    ``id_column`` key the id (the line number when absent), and ``kind``,
    ``created_at``, ``channel``, ``source``, ``rating`` and ``nps`` keys (or the columns that
    ``columns`` names for them) fill those fields (JSONL objects may also give ``turns`` and
    ``metadata``). Any other key goes to ``metadata``: as read for JSONL, as a string for CSV,
    Excel and Parquet. Empty cells of the optional fields count as absent. Dates are read by
    :func:`feedback_nlp.dates.parse_datetime`.

    Args:
        source: A path, or ``"-"`` for JSONL on standard input.
        kind: The kind of rows that carry none (``survey``, ``review``, ``social`` or
            ``transcript``). Without it, a row with no kind is an error.
        text_column: The column (or JSON key) holding the feedback text.
        id_column: The column (or JSON key) holding the record id; optional.
        chunk_size: Rows per Parquet batch; CSV and JSONL are read one row at a time.
        columns: Record field -> column, for ``created_at``, ``kind``, ``rating``, ``nps``,
            ``source``, ``channel`` and ``turns`` columns named otherwise (a column named after the field
            then goes to metadata).
        skip_rows: Rows right after the header to skip (CSV and Excel): extra header rows. A
            Qualtrics export's question-text and ImportId rows, and a SurveyMonkey export's
            answer-type row, are recognised and skipped when this is 0 (:func:`past_extra_header_rows`).
        date_format: A ``strptime`` format for dates such as ``%d/%m/%Y``; the ``date_format``
            setting when ``None``.
        on_bad_date: ``"error"`` (a bad row) or ``"null"`` (kept without a date) for a created_at
            that cannot be read; the ``on_bad_date`` setting when ``None``.
        sheet: The worksheet of an Excel workbook to read (default: the first).
        turn_speaker: The speaker (``customer``, ``agent`` or a name of one) of JSONL transcript
            turns that give none; without it such a turn makes its row an error.
        channel: The channel of rows that give none, e.g. ``chat`` for a chat export: a
            transcript's declared channel gives its ``chat`` or ``phone`` touchpoint.

    Transcript turns are read as exports write them: a turn may be a ``[speaker, text]`` pair,
    its speaker may also be under
    ``role``, ``participant``, ``party``, ``author`` or ``sender``, its text under
    ``utterance``, ``message`` or ``content``, and its other keys (a turn number, an intent)
    go to the turn's ``metadata``, as other columns go to the record's.

    Returns:
        An iterator of ``RowResult``, one per non-blank row, in file order.

    Raises:
        InputError: The extension is not supported, the file is missing or unreadable,
            the header lacks ``text_column`` or a column of ``columns``, ``kind`` is not a
            kind, or an option is out of range.

    Examples:
        >>> for row in read_records("reviews.csv", kind="review"):  # doctest: +SKIP
        ...     print(row.line, row.error or row.record.text)
    """
    opts = _row_options(kind, text_column, id_column, columns, date_format, on_bad_date, turn_speaker, channel)
    if chunk_size < 1:
        raise InputError(f"chunk_size must be at least 1, got {chunk_size}")
    if skip_rows < 0:
        raise InputError(f"--skip-rows must be 0 or more, got {skip_rows}")
    if str(source) == STDIN:
        _no_skip(skip_rows, "standard input (JSONL)")
        return _logged(_read_jsonl_stream(sys.stdin, opts), "standard input")
    path = Path(source)
    fmt = _format_of(path)
    _check_file(path)
    if fmt in ("csv", "xlsx") and "turns" in opts.columns:
        raise InputError(
            f"--turns-column applies to JSON, JSONL and Parquet files, whose cells can hold a list of turns, "
            f"not to {fmt} files; give a transcript in the text column, one turn a line with a speaker prefix "
            "(Customer: ..., Agent: ...)"
        )
    if sheet is not None and fmt != "xlsx":
        raise InputError(f"--sheet applies to Excel workbooks (.xlsx), not to {fmt} files")
    if fmt == "csv":
        fmt_csv = csv_format(path)  # sniffed once: the header check and the reading share it
        _check_columns(_csv_header(path, fmt_csv, opts), opts, path)
        return _logged(_read_csv(path, fmt_csv, opts, skip_rows), str(path))
    if fmt == "xlsx":
        from feedback_nlp.excel import read_header, read_rows, sheet_names

        try:
            _check_columns(read_header(path, sheet, opts), opts, path)
        except InputError as exc:
            names = sheet_names(path)
            if sheet is not None or len(names) < 2:
                raise
            raise InputError(
                f"{exc} (read the first sheet, {names[0]!r}; the workbook's sheets: "
                f"{', '.join(repr(n) for n in names)}: choose one with --sheet)"
            ) from None
        rows = (
            make_row(n, values, opts, fields=TABLE_FIELDS, stringify=True)
            for n, values in past_extra_header_rows(read_rows(path, sheet, opts), skip_rows, str(path))
        )
        return _logged(rows, str(path))
    _no_skip(skip_rows, f"{fmt} files")
    if fmt == "parquet":
        _check_columns(_parquet_columns(path), opts, path)
        return _logged(_read_parquet(path, opts, chunk_size), str(path))
    if fmt == "json":
        return _logged(_read_json_array(path, opts), str(path))
    return _logged(_read_jsonl_file(path, opts), str(path))


def _row_options(
    kind: str | None,
    text_column: str,
    id_column: str,
    columns: Mapping[str, str] | None,
    date_format: str | None,
    on_bad_date: BadDatePolicy | None,
    turn_speaker: str | None = None,
    channel: str | None = None,
) -> RowOptions:
    """Check the reading options and fill the date ones from the settings."""
    from feedback_nlp.settings import get_settings

    if text_column == id_column:
        raise InputError(f"the text and id columns must differ, both are {text_column!r}")
    mapped = {name: column for name, column in (columns or {}).items() if column}
    unknown = sorted(set(mapped) - set(MAPPABLE_FIELDS))
    if unknown:
        raise InputError(
            f"cannot map column(s) to {unknown}; the fields that take a column are {', '.join(MAPPABLE_FIELDS)}"
        )
    taken = [text_column, id_column, *mapped.values()]
    clashes = sorted({c for c in taken if taken.count(c) > 1})
    if clashes:
        raise InputError(f"column(s) {clashes} are named for more than one field; give each field its own column")
    settings = get_settings()
    policy = on_bad_date or settings.on_bad_date
    if policy not in ("error", "null"):
        raise InputError(f"--on-bad-date must be 'error' or 'null', got {policy!r}")
    try:
        fmt = check_date_format(date_format if date_format is not None else settings.date_format)
    except DateError as exc:
        raise InputError(str(exc)) from None
    if turn_speaker is not None:
        try:
            speaker_role(turn_speaker)
        except ValueError as exc:
            raise InputError(f"--turn-speaker: {exc}") from None
    return RowOptions(
        _default_kind(kind), text_column, id_column, mapped, fmt, policy, turn_speaker, default_channel(channel)
    )


def default_channel(channel: str | None) -> str | None:
    """The channel given for rows without one, trimmed (``--channel``, Spark's ``default_channel``).

    Raises:
        InputError: ``channel`` is blank.
    """
    if channel is None:
        return None
    if not channel.strip():
        raise InputError("--channel must not be empty; give a channel such as chat, phone or email, or leave it out")
    return channel.strip()


def _no_skip(skip_rows: int, what: str) -> None:
    if skip_rows:
        raise InputError(f"--skip-rows applies to CSV and Excel files (extra header rows), not to {what}")


def write_jsonl(rows: Iterable[BaseModel | Mapping[str, Any]], out: TextIO) -> int:
    """Write rows as JSON Lines: one compact JSON object a line, non-ASCII kept as is.

    Args:
        rows: Pydantic models (dumped in JSON mode) or mappings; dates and times in a
            mapping are written in ISO 8601.
        out: A text stream open for writing, such as one from ``open_output``.

    Returns:
        The number of rows written.

    Raises:
        TypeError: A row is not a model or a mapping, or holds a value JSON cannot hold.
        ValueError: A row holds NaN or infinity, which JSON cannot represent.
    """
    count = 0
    for row in rows:
        out.write(_dump_line(row, count + 1))
        out.write("\n")
        count += 1
    return count


@contextmanager
def open_output(path: str | Path | None) -> Iterator[TextIO]:
    """Open where results go: standard output, or a UTF-8 file written atomically.

    A file is written to a temporary file in the same folder and renamed over ``path``
    only when the block ends without an exception; otherwise the temporary file is
    removed, so a crashed run leaves neither a half-written file nor a changed old one.
    Missing parent folders are created.

    Args:
        path: ``None`` or ``"-"`` for standard output, else the file to write.

    Yields:
        A text stream to write to.

    Examples:
        >>> with open_output("out/predictions.jsonl") as out:     # doctest: +SKIP
        ...     write_jsonl(predictions, out)
    """
    if path is None or str(path) == STDIN:
        yield sys.stdout
        sys.stdout.flush()
        return
    target = Path(path)
    if target.is_dir():
        raise InputError(f"cannot write {path}: it is a folder; give a file name, e.g. {target / 'out.jsonl'}")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot write {path}: cannot make its folder {target.parent} ({exc.strerror})") from None
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
    try:
        tmp.open("x").close()  # checked before any work is done: a read-only folder, a full disk
    except OSError as exc:
        raise InputError(f"cannot write {path}: {exc.strerror}") from None
    tmp.unlink()
    try:
        # "x" creates the file with the usual umask permissions, unlike mkstemp's 0600.
        with tmp.open("x", encoding="utf-8", newline="") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def describe_validation_error(exc: ValidationError) -> str:
    """Turn a pydantic ``ValidationError`` into one line a user can act on.

    Args:
        exc: The error raised while validating a record.

    Returns:
        One ``"field: expected ..., got ..."`` clause per problem, joined by ``"; "``,
        e.g. ``"kind: expected one of survey, review, social, transcript, got 'tweet'"``.
    """
    return "; ".join(_describe_error(err) for err in exc.errors(include_url=False))


# ---------------------------------------------------------------------------- checks


def _default_kind(kind: str | None) -> FeedbackKind | None:
    if kind is None:
        return None
    try:
        return FeedbackKind(kind.strip().lower())
    except ValueError:
        raise InputError(f"--kind must be one of {_KINDS}, got {kind!r}") from None


def _format_of(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        shown = repr(suffix) if suffix else "(none)"
        raise InputError(
            f"cannot read {path}: unsupported extension {shown}; expected one of "
            f"{', '.join(FORMATS)}, or '-' for JSONL on standard input"
        )
    return FORMATS[suffix]


def _check_file(path: Path) -> None:
    if not path.exists():
        raise InputError(f"input file not found: {path}")
    if not path.is_file():
        raise InputError(f"expected a file, but {path} is a folder or a device")


def _check_columns(columns: list[str], opts: RowOptions, path: Path) -> None:
    used = [opts.text_column, opts.id_column, *opts.columns.values()]
    for column in dict.fromkeys(used):
        if f"{column} (2)" in columns:
            raise InputError(
                f"{path} has more than one column named {column!r}, the column the "
                f"{'text' if column == opts.text_column else 'records'} are read from: name the one you mean "
                f"({column!r}, {column + ' (2)'!r}, ... in the order they come) with its option, or rename them"
            )
    _check_named_columns(columns, opts, path)


def _check_named_columns(columns: list[str], opts: RowOptions, path: Path) -> None:
    has_turns = opts.columns.get("turns", "turns") in columns  # transcripts may give turns instead of a text
    if opts.text_column not in columns and not has_turns:
        hint = ""
        if len(columns) == 1 and any(sep in columns[0] for sep in ";\t|"):
            hint = " The header looks like a single column: is the file comma-separated?"
        raise InputError(
            f"{path} has no text column {opts.text_column!r}; columns found: "
            f"{', '.join(repr(c) for c in columns) or '(none)'}. Pass --text-column COL "
            f"to name the column holding the feedback text.{hint}"
        )
    if opts.id_column != "id" and opts.id_column not in columns:  # named, so meant: never line numbers instead
        raise InputError(
            f"{path} has no id column {opts.id_column!r} (given with --id-column); columns found: "
            f"{', '.join(repr(c) for c in columns)}. Name one of those with --id-column, or leave the "
            "option out to number the rows"
        )
    for name, column in opts.columns.items():
        if column not in columns:
            option = f"--{name.replace('_', '-')}-column"
            raise InputError(
                f"{path} has no column {column!r} (given with {option}); columns found: "
                f"{', '.join(repr(c) for c in columns)}. Name one of those with {option}"
            )


# ----------------------------------------------------------------------------- JSONL


def _read_jsonl_file(path: Path, opts: RowOptions) -> Iterator[RowResult]:
    # Binary lines, decoded one by one: a line of bad UTF-8 becomes one bad row.
    with path.open("rb") as fh:
        yield from _jsonl_rows(_numbered_lines(fh), opts)


def _read_jsonl_stream(stream: IO[str], opts: RowOptions) -> Iterator[RowResult]:
    binary = getattr(stream, "buffer", None)
    lines = _numbered_lines(binary) if binary is not None else _numbered_lines(stream)
    yield from _jsonl_rows(lines, opts)


def _numbered_lines(
    stream: Iterable[bytes | str],
) -> Iterator[tuple[int, str | None, str | None]]:
    """Yield ``(line number, text, decoding error)`` for each line of a stream."""
    for number, raw in enumerate(stream, start=1):
        if isinstance(raw, str):
            yield number, raw, None
            continue
        try:
            text = raw.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError as exc:
            yield number, None, f"expected UTF-8 text, got byte {raw[exc.start]:#04x}"
            continue
        yield number, text, None


def _jsonl_rows(lines: Iterable[tuple[int, str | None, str | None]], opts: RowOptions) -> Iterator[RowResult]:
    for number, text, problem in lines:
        if text is None:
            yield RowResult(number, None, problem)
        elif text.strip():
            yield _parse_json_line(number, text, opts)


def _parse_json_line(number: int, text: str, opts: RowOptions) -> RowResult:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        hint = ""
        if not text.lstrip().startswith(("{", "[")) and any(sep in text for sep in ",;\t"):
            hint = "; this looks like CSV: JSON Lines hold one {...} object a line (give a CSV as a file path)"
        return RowResult(number, None, f"invalid JSON: {exc.msg} (column {exc.colno}){hint}")
    if not isinstance(value, dict):
        hint = " (a JSON array of records: name the file .json)" if isinstance(value, list) else ""
        return RowResult(number, None, f"expected a JSON object, got {_json_type(value)}{hint}")
    return make_row(number, value, opts, fields=_JSON_FIELDS, stringify=False)


def _read_json_array(path: Path, opts: RowOptions) -> Iterator[RowResult]:
    """A ``.json`` file holding one array of records, as many tools export them.

    The array may also be the one member of a wrapper object that holds records
    (``{"records": [...], "count": 2}``, as APIs page their results); an object with several
    such arrays (``{"train": [...], "test": [...]}``) is refused, naming them.
    Unlike JSONL the file is read whole (an array cannot be split into lines); messages give a
    record's place in the array and the line it starts on (see :func:`_json_array_rows`).
    The file is checked (UTF-8, an array) here; records are read as the result is iterated.
    """
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"cannot read {path}: expected UTF-8 text, got byte {exc.object[exc.start]:#04x}") from None
    at = _skip_space(text, 0)
    if text[at : at + 1] == "[":
        return _json_array_rows(text, _skip_space(text, at + 1), opts)
    try:
        members = _object_members(text, at) if text[at : at + 1] == "{" else None
        value = json.loads(text) if members is None else None
    except json.JSONDecodeError as exc:
        if text[at : at + 1] == "{" and exc.msg == "Extra data":
            # One object, then more: JSON Lines saved as .json (BigQuery and mongoexport name them so).
            logger.info("%s holds one JSON object per line: reading it as JSON Lines", path)
            return _read_jsonl_file(path, opts)
        raise InputError(f"{path} is not JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})") from None
    if members is None:
        raise InputError(
            f"{path} holds {_json_type(value)}; expected an array of records ([{{...}}, {{...}}]). Save the "
            "records as an array, or as JSON Lines (.jsonl)"
        )
    arrays = [key for key, (_, member) in members.items() if _holds_records(member)]
    if len(arrays) == 1:
        start = members[arrays[0]][0]
        return _json_array_rows(text, _skip_space(text, start + 1), opts)
    keys = ", ".join(list(members)[:8]) or "none"
    if arrays:
        raise InputError(
            f"{path} holds an object with several arrays of records ({', '.join(arrays)}); expected one. "
            f"Read one of them as JSON Lines, e.g. jq -c '.{arrays[0]}[]' in.json > {arrays[0]}.jsonl"
        )
    raise InputError(
        f"{path} holds an object with keys {keys} and no array of records; expected an array of records "
        "([{...}, {...}]), alone or as the one array of an object. Save the records as an array, or as "
        "JSON Lines (.jsonl), e.g. jq -c '.records[]' in.json > in.jsonl"
    )


def _holds_records(value: Any) -> bool:
    """A non-empty array whose items are mostly objects: records, not a list of tags or numbers."""
    if not isinstance(value, list) or not value:
        return False
    return sum(isinstance(item, dict) for item in value) * 2 > len(value)


def _object_members(text: str, at: int) -> dict[str, tuple[int, Any]]:
    """The members of the JSON object that starts at ``at``, each value decoded once with the
    offset it starts at (so records keep the file's line numbers). A later duplicate key wins,
    as in :func:`json.loads`.

    Raises:
        json.JSONDecodeError: the object is not well-formed, or text follows it.
    """
    decoder = json.JSONDecoder()
    members: dict[str, tuple[int, Any]] = {}
    at = _skip_space(text, at + 1)
    while text[at : at + 1] != "}":
        key, at = decoder.raw_decode(text, at)
        at = _skip_space(text, at)
        if not isinstance(key, str) or text[at : at + 1] != ":":
            raise json.JSONDecodeError("Expecting a string key and ':'", text, at)
        start = _skip_space(text, at + 1)
        value, at = decoder.raw_decode(text, start)
        members[key] = (start, value)
        at = _skip_space(text, at)
        if text[at : at + 1] == ",":
            at = _skip_space(text, at + 1)
        elif text[at : at + 1] != "}":
            raise json.JSONDecodeError("Expecting ',' delimiter", text, at)
    if _skip_space(text, at + 1) < len(text):
        raise json.JSONDecodeError("Extra data", text, _skip_space(text, at + 1))
    return members


def _json_array_rows(text: str, at: int, opts: RowOptions) -> Iterator[RowResult]:
    """The records of the array whose first record starts at ``at``: each one's id defaults to its
    position in the array (several may share a line), and messages give both."""
    decoder = json.JSONDecoder()
    line, counted = 1, 0  # the line of offset `counted`, advanced as the records are read
    number = 0
    while at < len(text) and text[at] != "]":
        line, counted, number = line + text.count("\n", counted, at), at, number + 1
        place = f"record {number} (line {line})"
        try:
            value, end = decoder.raw_decode(text, at)
        except json.JSONDecodeError as exc:
            yield RowResult(
                exc.lineno,
                None,
                f"invalid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno}); the rest is not read",
                place=place,
            )
            return
        row = (
            make_row(line, value, opts, fields=_JSON_FIELDS, stringify=False, default_id=str(number))
            if isinstance(value, dict)
            else RowResult(line, None, f"expected a JSON object, got {_json_type(value)}")
        )
        yield replace(row, place=place)
        at = _skip_space(text, end)
        if text[at : at + 1] == ",":
            at = _skip_space(text, at + 1)
        elif text[at : at + 1] != "]":
            end_line = line + text.count("\n", counted, at)
            yield RowResult(
                end_line,
                None,
                "invalid JSON: expected ',' or ']' after a record",
                place=f"after record {number} (line {end_line})",
            )
            return


def _skip_space(text: str, at: int) -> int:
    while at < len(text) and text[at] in " \t\r\n":
        at += 1
    return at


def _json_type(value: Any) -> str:
    names = {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}
    return names.get(type(value), "a number")


# ------------------------------------------------------------------------------- CSV


@dataclass(frozen=True)
class CsvFormat:
    """How a delimited text file is written: its encoding and the character between fields."""

    encoding: str
    delimiter: str


#: The longest CSV field read (characters): far above any feedback text, below what exhausts memory.
_CSV_FIELD_LIMIT = 64 * 1024 * 1024
#: The most lines one CSV row may span (a quoted text with line breaks): past it, a quote was left open.
_CSV_MAX_ROW_LINES = 1000
#: The most title rows looked for above a table's header (see :func:`header_position`).
_TITLE_ROWS = 5
#: Field separators besides the comma: European spreadsheets write ';', tab-separated exports '\t'.
_OTHER_DELIMITERS = ";\t|"


def csv_format(path: Path) -> CsvFormat:
    """The encoding and delimiter of ``path``, read from its first bytes.

    UTF-16 with a byte-order mark (Excel's "Unicode Text" export); else UTF-8 (a byte-order mark
    is dropped) unless the first 64 KiB are not UTF-8, then Windows-1252 (Excel's "CSV (Comma
    delimited)" on Windows), with a warning. The delimiter is the comma when the header line holds
    one, else the most frequent of ``;``, tab and ``|`` in it, else the comma (a one-column file)."""
    with path.open("rb") as fh:
        head = fh.read(65536)
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    else:
        encoding = "utf-8-sig"
        bad = _first_non_utf8_byte(path)
        if bad is not None:
            encoding = "cp1252"
            logger.warning(
                "%s is not UTF-8 (byte %#04x at offset %d): reading it as Windows-1252, as Excel on Windows "
                "writes CSV; save it as 'CSV UTF-8' if its accents look wrong",
                path,
                bad[1],
                bad[0],
            )
    # The header line: the first that holds a separator (a title row above the header holds none).
    lines = [line for line in head.decode(encoding, errors="ignore").split("\n")[: _TITLE_ROWS + 1] if line.strip()]
    first_line = next(
        (line for line in lines if any(d in line for d in "," + _OTHER_DELIMITERS)), lines[0] if lines else ""
    )
    delimiter = ","
    if "," not in first_line:
        counts = {d: first_line.count(d) for d in _OTHER_DELIMITERS}
        best = max(counts, key=lambda d: counts[d])
        delimiter = best if counts[best] else ","
    return CsvFormat(encoding, delimiter)


def _first_non_utf8_byte(path: Path, chunk: int = 1 << 20) -> tuple[int, int] | None:
    """(offset, byte) of the first byte of ``path`` that is not UTF-8, or None. The whole file is
    read: a Windows-1252 export often has its first accent or curly quote far down the file."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset, last = 0, b""
    with path.open("rb") as fh:
        while block := fh.read(chunk):
            try:
                decoder.decode(block, final=False)
            except UnicodeDecodeError as exc:
                return offset + exc.start, block[exc.start]
            offset, last = offset + len(block), block
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:  # the file ends inside a character
        return offset - 1, last[-1]
    return None


def _csv_rows(path: Path, fmt: CsvFormat) -> Generator[tuple[int, list[str]], None, None]:
    """``(line, cells)`` of each non-blank row of ``path``, the header first; ``line`` is where the
    row starts (a quoted field may span lines)."""
    # A review may be long; the csv module's default (128 KiB a field) refused the whole file.
    csv.field_size_limit(max(csv.field_size_limit(), _CSV_FIELD_LIMIT))
    with path.open("r", encoding=fmt.encoding, newline="") as fh:
        reader = csv.reader(fh, delimiter=fmt.delimiter)
        while True:
            start = reader.line_num + 1
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                raise InputError(
                    f"cannot read {path} near line {start} as CSV (fields separated by "
                    f"{_delimiter_name(fmt.delimiter)}): {exc}; check that its quotes are balanced"
                ) from exc
            except UnicodeError as exc:  # past the first 64 KiB, which chose the encoding
                raise InputError(
                    f"cannot read {path} as {_encoding_name(fmt)} text after line {start - 1}: {exc}; "
                    "save it as UTF-8 (in Excel: 'CSV UTF-8')"
                ) from exc
            if reader.line_num - start > _CSV_MAX_ROW_LINES:  # a quote left open swallows the rest of the file
                raise InputError(
                    f"cannot read {path} near line {start} as CSV (fields separated by "
                    f"{_delimiter_name(fmt.delimiter)}): one row runs over {reader.line_num - start + 1} lines; "
                    "check that its quotes are balanced"
                )
            if any(cell.strip() for cell in cells):  # not a blank line, nor a row of empty cells (",,")
                yield start, cells


def _encoding_name(fmt: CsvFormat) -> str:
    return {"utf-16": "UTF-16", "cp1252": "Windows-1252"}.get(fmt.encoding, "UTF-8")


def _delimiter_name(delimiter: str) -> str:
    return {",": "commas", ";": "semicolons", "\t": "tabs", "|": "'|'"}[delimiter]


def header_position(first_rows: Sequence[Sequence[object]], opts: RowOptions) -> int:
    """Where the header is among a table's first non-blank rows: the first row, unless it lacks the
    text column and a later one of the first few holds it beside other names (a report's title
    rows above the header, as Excel exports and some survey tools write them)."""
    wanted = {opts.text_column, opts.columns.get("turns", "turns")}
    if not first_rows or wanted & set(column_names(first_rows[0])):
        return 0
    for place, cells in enumerate(first_rows[1 : _TITLE_ROWS + 1], start=1):
        names = column_names(cells)
        if wanted & set(names) and sum(1 for cell in cells if cell is not None and str(cell).strip()) >= 2:
            return place
    return 0


_Cells = TypeVar("_Cells", bound=Sequence[Any])


def past_title_rows(
    rows: Iterator[tuple[int, _Cells]], opts: RowOptions | None, where: str
) -> Generator[tuple[int, _Cells], None, None]:
    """``rows`` (``(line, cells)``, non-blank) from the header on: the title rows above it, if any
    (:func:`header_position`), are left out and logged. One pass: the first rows are held, not re-read."""
    head = list(itertools.islice(rows, _TITLE_ROWS + 1))
    place = header_position([cells for _, cells in head], opts) if opts is not None else 0
    if place:
        logger.info("%s: %d title row(s) above the header (line %d) left out", where, place, head[place][0])
    yield from head[place:]
    yield from rows


def _csv_header_rows(path: Path, fmt: CsvFormat, opts: RowOptions) -> Generator[tuple[int, list[str]], None, None]:
    """The CSV rows from the header on (title rows above it left out)."""
    rows = _csv_rows(path, fmt)
    try:
        yield from past_title_rows(rows, opts, str(path))
    finally:
        rows.close()


def _csv_header(path: Path, fmt: CsvFormat, opts: RowOptions) -> list[str]:
    rows = _csv_header_rows(path, fmt, opts)
    try:
        _, header = next(rows)
    except StopIteration:
        raise InputError(f"{path} is empty: expected a header row naming the columns") from None
    finally:
        rows.close()
    return column_names(header)


def _read_csv(path: Path, fmt: CsvFormat, opts: RowOptions, skip_rows: int = 0) -> Iterator[RowResult]:
    rows = _csv_header_rows(path, fmt, opts)
    _, header_cells = next(rows)
    header = column_names(header_cells)
    unnamed = {name for name, cell in zip(header, header_cells, strict=True) if not cell.strip()}
    separator = _delimiter_name(fmt.delimiter)
    for start, cells in past_extra_header_rows(rows, skip_rows, str(path)):
        yield _csv_row(start, header, cells, opts, unnamed, separator)


def column_names(header: Sequence[object]) -> list[str]:
    """The header's names, stripped; a column without one is named by its place, ``column_4``
    (a survey tool leaves the header of a question's second and later options blank)."""
    names = ["" if cell is None else str(cell).strip() for cell in header]
    names = [name or f"column_{place}" for place, name in enumerate(names, start=1)]
    # A repeated name (two questions both headed "Comments") keeps its first column; the later
    # ones are "Comments (2)", ... and go to metadata, unless named as the text or another field.
    taken = set(names)
    out: list[str] = []
    for name in names:
        if name in out:
            number = 2
            while f"{name} ({number})" in taken:
                number += 1
            name = f"{name} ({number})"
            taken.add(name)
        out.append(name)
    return out


def is_import_id_row(cells: Iterable[object]) -> bool:
    """Whether ``cells`` is the ImportId row of a Qualtrics export: every filled cell a JSON object
    naming a question's import id (``{"ImportId":"QID2_TEXT"}``)."""
    filled = [cell for cell in cells if isinstance(cell, str) and cell.strip()]
    return bool(filled) and all(cell.lstrip().startswith('{"ImportId"') for cell in filled)


def is_answer_type_row(cells: Iterable[object]) -> bool:
    """Whether ``cells`` is the second header row of a SurveyMonkey export, which names each
    column's answer type: an open question's column says ``Open-Ended Response``."""
    return any(isinstance(cell, str) and cell.strip() == "Open-Ended Response" for cell in cells)


def past_extra_header_rows(rows: Iterator[tuple[int, Any]], skip_rows: int, where: str) -> Iterator[tuple[int, Any]]:
    """``rows`` (``(line, cells)``, the header already read) past the extra header rows.

    With ``skip_rows``, that many rows are left out. Without, a Qualtrics export is recognised by
    its ImportId row (that row and the question-text row above it are left out) and a
    SurveyMonkey export by its answer-type row (``Open-Ended Response``, left out), and logged, so
    their CSV and Excel files read as they come. ``cells`` may be a list or a dict of cells."""
    if skip_rows:
        yield from itertools.islice(rows, skip_rows, None)
        return
    head = list(itertools.islice(rows, 2))
    cells = [list(c.values()) if isinstance(c, Mapping) else c for _, c in head]
    if len(cells) == 2 and is_import_id_row(cells[1]):
        extra, what = 2, "Qualtrics export's question-text and ImportId rows"
    elif cells and is_import_id_row(cells[0]):
        extra, what = 1, "Qualtrics export's ImportId row"
    elif cells and is_answer_type_row(cells[0]):
        extra, what = 1, "SurveyMonkey export's answer-type row"
    else:
        extra, what = 0, ""
    if extra:
        logger.info("%s: left out the %s under the header", where, what)
    yield from head[extra:]
    yield from rows


def _csv_row(
    line: int, header: list[str], cells: list[str], opts: RowOptions, unnamed: set[str], separator: str
) -> RowResult:
    if len(cells) != len(header):
        return RowResult(
            line,
            None,
            f"expected {len(header)} fields as in the header, got {len(cells)}; quote fields that contain {separator}",
        )
    # An unnamed column's cell is kept (as column_N) only when it holds something.
    values = {name: cell for name, cell in zip(header, cells, strict=True) if cell.strip() or name not in unnamed}
    return make_row(line, values, opts, fields=TABLE_FIELDS, stringify=False)


# --------------------------------------------------------------------------- Parquet


def _parquet_columns(path: Path) -> list[str]:
    # pyarrow is imported here so that importing this module stays cheap.
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        return list(pq.read_schema(path).names)
    except (OSError, pa.ArrowException) as exc:
        raise InputError(f"cannot read {path} as Parquet: {exc}") from exc


def _read_parquet(path: Path, opts: RowOptions, chunk_size: int) -> Iterator[RowResult]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    index = 0
    with pq.ParquetFile(path) as parquet:
        # A Parquet cell can hold a list: a `turns` column of lists is a transcript's turns (one of
        # numbers or text, a count of turns say, stays metadata as before).
        schema = parquet.schema_arrow
        turns = schema.field("turns") if "turns" in schema.names else None
        fields = _PARQUET_FIELDS if turns is not None and pa.types.is_list(turns.type) else TABLE_FIELDS
        # A `metadata` column (JSON text, a struct or a map, as the records layout and `spark
        # classify` write it) is the records' metadata, as the Spark job reads it.
        if "metadata" in schema.names:
            fields = fields | {"metadata"}
        for batch in parquet.iter_batches(batch_size=chunk_size):
            for values in batch.to_pylist():
                index += 1
                yield make_row(index, values, opts, fields=fields, stringify=True)


def metadata_cell(value: Any) -> dict[str, Any] | None:
    """A table cell holding a record's metadata: JSON object text, a struct (a dict) or an Arrow
    map (key-value pairs); empty text or null is none.

    Raises:
        ValueError: the text is not JSON, or JSON of something other than an object.
        TypeError: the cell is of another type.
    """
    if value is None or isinstance(value, dict):
        return value
    if isinstance(value, str):
        parsed = json.loads(value) if value.strip() else None
        if parsed is not None and not isinstance(parsed, dict):
            raise ValueError(f"got JSON {type(parsed).__name__}")
        return parsed
    if isinstance(value, list):  # an Arrow map arrives as (key, value) pairs
        return dict(value)
    raise TypeError(f"got {type(value).__name__}")


# ----------------------------------------------------------------------- row -> record


def make_row(
    line: int,
    values: Mapping[str, Any],
    opts: RowOptions,
    *,
    fields: frozenset[str],
    stringify: bool,
    default_id: str | None = None,
) -> RowResult:
    """Validate one row's values into a record, or explain why they are not one.

    Args:
        line: the row's number, for the error message and the id of a row without one.
        values: column name to value.
        opts: the default kind and the text and id columns.
        fields: the columns that fill record fields (:data:`TABLE_FIELDS`); the rest go to metadata.
            With ``stringify``, a ``metadata`` field is read by :func:`metadata_cell`.
        stringify: metadata values become text (tables); JSON keeps them as they are.
        default_id: the id of a row without one, when not ``line``.
    """
    if not stringify and opts.id_column != "id" and opts.id_column not in values:
        return RowResult(
            line, None, f"no {opts.id_column!r} field (given with --id-column); fields found: {', '.join(values)}"
        )
    if stringify and "metadata" in fields and "metadata" in values:
        # A table's metadata column: JSON text, a struct or a map (Parquet, and `spark classify`).
        try:
            values = {**values, "metadata": metadata_cell(values["metadata"])}
        except (ValueError, TypeError) as exc:
            return RowResult(line, None, f"metadata: expected a JSON object, a struct or a map ({exc})")
    data, extras = _split_values(values, opts, fields)
    if stringify:
        extras = {key: _as_text(value) for key, value in extras.items()}
        if isinstance(data.get("text"), (int, float)) and not isinstance(data.get("text"), bool):
            data["text"] = _as_text(data["text"])  # a spreadsheet cell holding a number
    _clean_scalars(data, default_id or str(line))
    if opts.default_channel and "channel" not in data:
        data["channel"] = opts.default_channel
    _merge_metadata(data, extras)
    _read_turns(data, opts)
    problems = _missing_essentials(data, opts)
    if problems:
        return RowResult(line, None, "; ".join(problems))
    bad_date = None
    if "created_at" in data:
        try:
            data["created_at"] = parse_datetime(data["created_at"], date_format=opts.date_format)
        except DateError as exc:
            where = _field_name("created_at", opts)
            if opts.on_bad_date == "error":
                return RowResult(
                    line,
                    None,
                    f"{where}: {exc}; fix the value, or pass --on-bad-date null to keep the row without a date",
                )
            bad_date = f"{where}: {exc}"
            del data["created_at"]
    try:
        record = FeedbackRecord.model_validate(data, context={"date_format": opts.date_format})
    except ValidationError as exc:
        return RowResult(line, None, describe_validation_error(exc))
    return RowResult(line, record, None, bad_date)


def _field_name(name: str, opts: RowOptions) -> str:
    column = opts.column_of(name)
    return name if column == name else f"{column} ({name})"


def _split_values(
    values: Mapping[str, Any], opts: RowOptions, fields: frozenset[str]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split a row into record fields and the rest, which goes to metadata."""
    data: dict[str, Any] = {}
    extras: dict[str, Any] = {}
    by_column = {column: name for name, column in opts.columns.items()}
    for key, value in values.items():
        if key == opts.text_column:
            data["text"] = value
        elif key == opts.id_column:
            data["id"] = value
        elif key in by_column:
            data[by_column[key]] = value
        elif key in fields and key not in opts.columns:  # a remapped field's own name is metadata
            data[key] = value
        else:
            extras[key] = value
    return data, extras


#: Answers that mean "not answered" in survey exports' score columns.
_NOT_ANSWERED = frozenset({"n/a", "na", "-", "none", "null", "not answered", "no answer", "prefer not to say"})
# A score cell as survey tools label it: "9 - Very likely", "0 - Not at all likely", "4 stars",
# "4/5", "9,0" (a decimal comma), "(10) Extremely likely".
_SCORE_CELL = re.compile(
    r"\(?\s*(?P<number>[+-]?\d+(?:\.\d+|,\d{1,2})?)\s*\)?(?:\s*(?:/\s*\d+|stars?|points?|pts)\b)?(?:\s*[-–—:=]\s*\D.*|\s+[A-Za-z].*)?",
    re.IGNORECASE,
)
_UNREADABLE = object()


def _score_cell(text: str) -> float | None | object:
    """An NPS or rating cell's number; None when it says "not answered"; _UNREADABLE otherwise
    (left for validation to refuse, naming the value)."""
    if text.strip().lower() in _NOT_ANSWERED:
        return None
    match = _SCORE_CELL.fullmatch(text.strip())
    if match is None:
        return _UNREADABLE
    number = float(match.group("number").replace(",", "."))
    return int(number) if number.is_integer() else number


def _clean_scalars(data: dict[str, Any], default_id: str) -> None:
    """Treat blank optional values as absent, normalise kind, default the id."""
    for name in _OPTIONAL_SCALARS:
        value = data.pop(name, None)
        if isinstance(value, str):
            value = value.strip() or None
        if value is not None:
            data[name] = value
    if isinstance(data.get("kind"), str):
        data["kind"] = data["kind"].lower()
    for name in ("nps", "rating"):
        if isinstance(data.get(name), str):
            number = _score_cell(data[name])
            if number is None:
                del data[name]  # "N/A", "-": not answered
            elif number is not _UNREADABLE:
                data[name] = number
    record_id = data.get("id")
    if isinstance(record_id, float) and record_id.is_integer():
        record_id = int(record_id)  # integer ids that a null turned into floats
    if isinstance(record_id, int) and not isinstance(record_id, bool):
        data["id"] = str(record_id)
    data.setdefault("id", default_id)


def _merge_metadata(data: dict[str, Any], extras: dict[str, Any]) -> None:
    metadata = data.pop("metadata", None)
    if metadata is None:
        metadata = {}
    if isinstance(metadata, dict):
        metadata = {**extras, **metadata}  # an explicit metadata object wins on a clash
    if metadata != {}:
        data["metadata"] = metadata  # a non-object is left for validation to report


#: Keys exports use for a turn's speaker and text, tried in this order when the turn lacks them.
_TURN_ALIASES = {
    "speaker": ("role", "speaker_role", "participant", "party", "author", "sender"),
    "text": ("utterance", "message", "content", "transcript"),
}


def _read_turns(data: dict[str, Any], opts: RowOptions) -> None:
    """Transcript turns as exports write them (see :func:`read_records`): ``[speaker, text]``
    pairs, aliases for the speaker and text, other keys to the turn's metadata, ``turn_speaker``
    for turns naming no speaker. Anything that is not a list of objects is left for validation to report."""
    turns = data.get("turns")
    if not isinstance(turns, list):
        return
    read: list[Any] = []
    for turn in turns:
        if _is_pair(turn):  # [speaker, text], as ABCD's chats are written
            turn = {"speaker": turn[0], "text": turn[1]}
        if not isinstance(turn, dict):
            read.append(turn)
            continue
        turn = dict(turn)
        for name, aliases in _TURN_ALIASES.items():
            if turn.get(name) is None:
                alias = next((a for a in aliases if turn.get(a) is not None), None)
                if alias is not None:
                    turn[name] = turn.pop(alias)
        extras = {key: turn.pop(key) for key in list(turn) if key not in _TURN_FIELDS}
        if extras:
            metadata = turn.get("metadata")
            turn["metadata"] = {**extras, **metadata} if isinstance(metadata, dict) else {**extras}
        if _names_no_speaker(turn) and opts.turn_speaker:
            turn["speaker"] = opts.turn_speaker
        read.append(turn)
    data["turns"] = read


def _looks_like_turns(value: Any) -> bool:
    """A list of ``[speaker, text]`` pairs or of objects naming a speaker: a transcript's turns."""
    if not isinstance(value, list) or not value:
        return False
    speaker_keys = {"speaker", *_TURN_ALIASES["speaker"]}
    return all(_is_pair(turn) or (isinstance(turn, dict) and speaker_keys & set(turn)) for turn in value)


def _is_pair(turn: Any) -> bool:
    return isinstance(turn, list) and len(turn) == 2 and all(isinstance(part, str) for part in turn)


def _names_no_speaker(turn: dict[str, Any]) -> bool:
    speaker = turn.get("speaker")
    return speaker is None or (isinstance(speaker, str) and not speaker.strip())


def _missing_essentials(data: dict[str, Any], opts: RowOptions) -> list[str]:
    """Check text and kind first, naming the caller's column rather than 'text'."""
    problems = []
    text = data.get("text")
    if data.get("turns") is None and (text is None or (isinstance(text, str) and not text.strip())):
        problem = f"{opts.text_column}: missing or empty; expected the feedback text"
        metadata = data.get("metadata")
        held = [k for k, v in metadata.items() if _looks_like_turns(v)] if isinstance(metadata, dict) else []
        if held:
            problem += f" (the key {held[0]!r} holds a list of turns: pass --turns-column {held[0]})"
        elif data.get("nps") is not None or data.get("rating") is not None:
            # A score without a comment: the scores are built from each text's labels, so it cannot count.
            problem += " (a score without a comment is not counted: every figure is built from the text's labels)"
        problems.append(problem)
    turns = data.get("turns")
    if isinstance(turns, list):
        silent = [i for i, turn in enumerate(turns) if isinstance(turn, dict) and _names_no_speaker(turn)]
        if silent:
            which = f"turn {silent[0]}" if len(silent) == 1 else f"{len(silent)} of {len(turns)} turns"
            problems.append(
                f"turns: {which} name no speaker; give each turn a speaker (customer or agent), or pass "
                "--turn-speaker customer if the export holds only the customer's turns"
            )
    if "kind" not in data:
        if opts.default_kind is None:
            problems.append(f"kind: missing; give the row a kind ({_KINDS}) or pass --kind")
        else:
            data["kind"] = opts.default_kind
    return problems


def _as_text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


# ---------------------------------------------------------------------------- errors


def _describe_error(err: ErrorDetails) -> str:
    where = ".".join(str(part) for part in err["loc"])
    what = _expectation(err)
    return f"{where}: {what}" if where else what


def _expectation(err: ErrorDetails) -> str:
    kind = err["type"]
    ctx = err.get("ctx") or {}
    got = _short_repr(err.get("input"))
    if kind == "missing":
        return "missing"
    if kind == "extra_forbidden":
        accepted = accepted_fields(err["loc"])
        return "unexpected field" + (f"; accepted fields: {', '.join(accepted)}" if accepted else "")
    if kind == "enum":
        expected = str(ctx.get("expected", "")).replace("'", "").replace(" or ", ", ")
        return f"expected one of {expected}, got {got}"
    if kind in ("value_error", "assertion_error"):
        return err["msg"].removeprefix("Value error, ").removeprefix("Assertion failed, ")
    if kind in _EXPECTED:
        return f"expected {_EXPECTED[kind].format(**ctx)}, got {got}"
    msg = err["msg"]
    return f"{msg[:1].lower()}{msg[1:]}, got {got}"


def _short_repr(value: Any, limit: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 1]}…"


# ---------------------------------------------------------------------------- output


def _dump_line(row: BaseModel | Mapping[str, Any], number: int) -> str:
    if isinstance(row, BaseModel):
        payload: Any = row.model_dump(mode="json")
    elif isinstance(row, Mapping):
        payload = dict(row)
    else:
        raise TypeError(f"row {number}: expected a pydantic model or a mapping, got {type(row).__name__}")
    try:
        return json.dumps(payload, ensure_ascii=False, separators=(",", ":"), allow_nan=False, default=_json_default)
    except ValueError as exc:
        raise ValueError(f"row {number} cannot be written as JSON: {exc}") from exc


def _json_default(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    raise TypeError(f"cannot write a {type(value).__name__} as JSON: {value!r}")


def _logged(rows: Iterator[RowResult], source: str) -> Iterator[RowResult]:
    logger.info("reading feedback records from %s", source)
    total = bad = 0
    for row in rows:
        total += 1
        bad += row.error is not None
        yield row
    logger.info("read %d rows from %s, %d with errors", total, source, bad)
