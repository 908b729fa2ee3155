"""Read a sheet of an Excel workbook (.xlsx; the first unless one is named) as a header and numbered rows.

Survey and review tools export to Excel as often as to CSV. Cells arrive as openpyxl reads
them (text, numbers, ``datetime`` for date cells); :mod:`feedback_nlp.fileio` turns the rows
into records as it does for CSV. Rows are streamed (openpyxl's read-only mode), so a large
export is never held in memory whole. Formulas give their cached values.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from feedback_nlp.errors import InputError
from feedback_nlp.fileio import column_names, past_title_rows

if TYPE_CHECKING:
    from feedback_nlp.fileio import RowOptions

__all__ = ["read_header", "read_rows", "sheet_names"]


def sheet_names(path: Path) -> list[str]:
    """The workbook's sheet names, in order."""
    workbook = _open(path)
    try:
        return list(workbook.sheetnames)
    finally:
        workbook.close()


def _header_rows(path: Path, sheet: str | None, opts: RowOptions | None) -> Generator[tuple[int, tuple[Any, ...]]]:
    """The sheet's non-blank rows from the header on, with their row numbers; title rows above the
    header are left out when ``opts`` names a text column they lack (:func:`past_title_rows`)."""
    rows = _sheet_rows(path, sheet)
    try:
        filled = ((n, cells) for n, cells in enumerate(rows, start=1) if not all(_blank(c) for c in cells))
        yield from past_title_rows(filled, opts, str(path))
    finally:
        rows.close()


def read_header(path: Path, sheet: str | None = None, opts: RowOptions | None = None) -> list[str]:
    """The column names in the first row of the sheet (the first unless ``sheet`` names one).

    Raises:
        InputError: The file is not a readable workbook, or the sheet is empty.
    """
    rows = _header_rows(path, sheet, opts)
    try:
        first = next(rows, (0, None))[1]
    finally:
        rows.close()
    if first is None:
        raise InputError(f"{path} is empty: expected a header row naming the columns on its first sheet")
    return column_names(first)  # as read_rows names them: column_N unnamed, "Name (2)" repeated


def read_rows(
    path: Path, sheet: str | None = None, opts: RowOptions | None = None
) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(row number, {column: value})`` for each non-empty row after the header (extra
    header rows are the caller's to skip: :func:`feedback_nlp.fileio.past_extra_header_rows`).

    Args:
        path: The workbook.
        sheet: The sheet to read (default: the first).

    Yields:
        The spreadsheet's row number (the header is row 1) and the row's cells by column name;
        a column without a name is named by its place (``column_4``) and kept only where it
        holds something.
    """
    rows = _header_rows(path, sheet, opts)
    try:
        first = next(rows, (1, ()))[1]
        header, named = column_names(first), [not _blank(cell) for cell in first]
        for number, cells in rows:  # blank rows are already left out (_header_rows)
            padded = list(cells) + [None] * (len(header) - len(cells))
            # An unnamed column's cell is kept (as column_N) only when it holds something.
            yield (
                number,
                {
                    name: value
                    for name, given, value in zip(header, named, padded, strict=False)
                    if given or not _blank(value)
                },
            )
    finally:
        rows.close()


def _open(path: Path) -> Any:  # noqa: ANN401 (an openpyxl Workbook)
    try:
        from openpyxl import load_workbook
    except ImportError:  # pragma: no cover - openpyxl is a dependency
        raise InputError("reading .xlsx files needs openpyxl: pip install openpyxl") from None
    try:
        return load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - zipfile, XML and openpyxl errors alike mean "not a workbook"
        raise InputError(f"cannot read {path} as an Excel workbook (.xlsx): {type(exc).__name__}: {exc}") from None


def _sheet_rows(path: Path, sheet: str | None = None) -> Generator[tuple[Any, ...], None, None]:
    workbook = _open(path)
    if sheet is not None and sheet not in workbook.sheetnames:
        names = ", ".join(repr(n) for n in workbook.sheetnames)
        workbook.close()
        raise InputError(f"{path} has no sheet {sheet!r}; its sheets: {names}")
    return _rows_then_close(workbook, sheet)


def _rows_then_close(workbook: Any, sheet: str | None) -> Generator[tuple[Any, ...], None, None]:
    try:
        worksheet = workbook[sheet] if sheet is not None else workbook.worksheets[0]
        yield from worksheet.iter_rows(values_only=True)
    finally:
        workbook.close()


def _blank(cell: Any) -> bool:
    return cell is None or (isinstance(cell, str) and not cell.strip())
