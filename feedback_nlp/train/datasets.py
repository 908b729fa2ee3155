"""Loaders for the public training datasets in ``data_dir`` (``../shared/data`` by default).

Each loader returns a DataFrame with one row per text and the columns
``text``, ``source``, ``kind`` and ``native_label`` (the dataset's own label, as a string),
plus loader-specific columns that the label mapping reads (``rating``, ``recommended``,
``aspects``, ``issue``, ``product``, ``intents``). Labels are mapped onto the taxonomy
in :mod:`feedback_nlp.train.mapping`, not here.
"""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from feedback_nlp.errors import DataError, InputError

COLUMNS = ["text", "source", "kind", "native_label"]


def require_dataset_file(path: Path) -> Path:
    """``path``, or a DataError that says where the shared datasets should be."""
    if not path.exists():
        raise DataError(
            f"Expected the dataset file {path}, found nothing there. Point FEEDBACK_NLP_DATA_DIR "
            "(or [paths] data_dir in the training config) at the folder holding the shared datasets."
        )
    return path


def _frame(rows: pd.DataFrame, source: str, kind: str) -> pd.DataFrame:
    rows = rows.assign(source=source, kind=kind)
    rows["text"] = rows["text"].astype(str).str.strip()
    rows = rows[rows["text"].str.len() > 0]
    return rows.reset_index(drop=True)


def load_tweeteval(data_dir: Path) -> pd.DataFrame:
    """TweetEval sentiment, val and test splits (labels 0/1/2)."""
    folder = data_dir / "tweeteval_sentiment"
    parts = []
    for split in ("val", "test"):
        texts = require_dataset_file(folder / f"{split}_text.txt").read_text(encoding="utf-8").splitlines()
        labels = (folder / f"{split}_labels.txt").read_text(encoding="utf-8").split()
        if len(texts) != len(labels):
            raise DataError(f"{folder}/{split}: {len(texts)} texts but {len(labels)} labels")
        parts.append(pd.DataFrame({"text": texts, "native_label": labels, "split": split}))
    return _frame(pd.concat(parts, ignore_index=True), "tweeteval_sentiment", "social")


def load_womens_clothing(data_dir: Path) -> pd.DataFrame:
    """Women's e-commerce clothing reviews: title + review, rating 1-5, recommended 0/1."""
    path = require_dataset_file(data_dir / "womens_clothing_reviews" / "Womens Clothing E-Commerce Reviews.csv")
    raw = pd.read_csv(path)
    raw = raw[raw["Review Text"].notna()]
    title = raw["Title"].fillna("").astype(str).str.strip()
    body = raw["Review Text"].astype(str).str.strip()
    # The gold set keeps the title as the first sentence ("Not worth it. I can't believe ...").
    text = (title + ". ").where(title.str.len() > 0, "") + body
    rows = pd.DataFrame(
        {
            "text": text,
            "native_label": raw["Rating"].astype(int).astype(str),
            "rating": raw["Rating"].astype(int),
            "recommended": raw["Recommended IND"].astype(int),
        }
    )
    return _frame(rows, "womens_clothing_reviews", "review")


def load_mams(data_dir: Path) -> pd.DataFrame:
    """MAMS aspect-category sentences (train/val/test) with their (category, polarity) pairs."""
    rows = []
    for split in ("train", "val", "test"):
        tree = ET.parse(require_dataset_file(data_dir / "mams" / "ACSA" / f"{split}.xml"))
        for sentence in tree.getroot().iter("sentence"):
            text = sentence.findtext("text") or ""
            aspects = [(a.get("category", ""), a.get("polarity", "")) for a in sentence.iter("aspectCategory")]
            rows.append(
                {
                    "text": text,
                    "native_label": "|".join(sorted({c for c, _ in aspects})),
                    "aspects": aspects,
                    "split": split,
                }
            )
    return _frame(pd.DataFrame(rows), "mams", "review")


def load_banking77(data_dir: Path) -> pd.DataFrame:
    """BANKING77 train and test (77 intents)."""
    folder = data_dir / "banking77_nlupp" / "banking77"
    parts = [
        pd.read_csv(require_dataset_file(folder / f"{split}.csv")).assign(split=split) for split in ("train", "test")
    ]
    raw = pd.concat(parts, ignore_index=True).rename(columns={"category": "native_label"})
    return _frame(raw[["text", "native_label", "split"]], "banking77", "support_message")


def _load_nlupp(data_dir: Path, domain: str) -> pd.DataFrame:
    folder = data_dir / "banking77_nlupp" / "nlupp" / domain
    files = sorted(folder.glob("fold*.json"))
    if not files:
        require_dataset_file(folder / "fold0.json")
    rows = []
    for path in files:
        for item in json.loads(path.read_text(encoding="utf-8")):
            intents = sorted(item.get("intents") or [])
            rows.append({"text": item["text"], "native_label": "|".join(intents), "intents": intents})
    return _frame(pd.DataFrame(rows), f"nlupp_{domain}", "support_message")


def load_nlupp_banking(data_dir: Path) -> pd.DataFrame:
    """NLU++ banking messages with multi-label intents."""
    return _load_nlupp(data_dir, "banking")


def load_nlupp_hotels(data_dir: Path) -> pd.DataFrame:
    """NLU++ hotel messages with multi-label intents."""
    return _load_nlupp(data_dir, "hotels")


def load_bitext(data_dir: Path) -> pd.DataFrame:
    """Bitext customer-support requests (27 intents)."""
    path = require_dataset_file(data_dir / "bitext_support" / "Bitext_Sample_Customer_Support_Training_Dataset.csv")
    raw = pd.read_csv(path, usecols=["instruction", "intent", "category"])
    rows = raw.rename(columns={"instruction": "text", "intent": "native_label"})
    return _frame(rows, "bitext_support", "support_message")


def load_cfpb(data_dir: Path) -> pd.DataFrame:
    """CFPB complaint narratives: the full-schema sample (with Issue) and the 4-class sample."""
    folder = data_dir / "cfpb_complaints"
    full = pd.read_csv(require_dataset_file(folder / "cfpb_complaints_sample_fullschema.csv"))
    full = full[full["Consumer complaint narrative"].notna()]
    first = pd.DataFrame(
        {
            "text": full["Consumer complaint narrative"],
            "native_label": full["Issue"].fillna(""),
            "issue": full["Issue"].fillna(""),
            "product": full["Product"].fillna(""),
            "channel": full["Submitted via"].fillna(""),
        }
    )
    small = pd.read_csv(require_dataset_file(folder / "cfpb_narratives_product4class.csv"))
    second = pd.DataFrame(
        {
            "text": small["Consumer complaint narrative"],
            "native_label": "",
            "issue": "",
            "product": small["Product"].fillna(""),
            "channel": "",
        }
    )
    rows = pd.concat([first, second], ignore_index=True)
    rows = rows.drop_duplicates(subset="text", keep="first")
    return _frame(rows, "cfpb_complaints", "complaint")


#: Every loader, by the source name it writes into the ``source`` column.
LOADERS: dict[str, Callable[[Path], pd.DataFrame]] = {
    "tweeteval_sentiment": load_tweeteval,
    "womens_clothing_reviews": load_womens_clothing,
    "mams": load_mams,
    "banking77": load_banking77,
    "nlupp_banking": load_nlupp_banking,
    "nlupp_hotels": load_nlupp_hotels,
    "bitext_support": load_bitext,
    "cfpb_complaints": load_cfpb,
}

#: The gold set names BANKING77 and NLU++ together; this maps our sources onto its names.
GOLD_SOURCE = {
    "banking77": "banking77_nlupp",
    "nlupp_banking": "banking77_nlupp",
    "nlupp_hotels": "banking77_nlupp",
}


def load_source(name: str, data_dir: Path) -> pd.DataFrame:
    """Load one dataset by source name."""
    try:
        loader = LOADERS[name]
    except KeyError as exc:
        raise DataError(f"Unknown dataset '{name}'; expected one of {sorted(LOADERS)}") from exc
    return loader(Path(data_dir))


#: Gold-file suffixes read as tables (every other one is read as JSON Lines, or as one JSON array).
_GOLD_TABLES = {".csv": ",", ".tsv": "\t"}


def load_gold(path: str | Path) -> pd.DataFrame:
    """The hand-labelled gold set: id, source, kind, text, sentiment, journey_stage, touchpoints.

    Read by :func:`read_gold_rows`; where each row is in the file (``line 4``) is kept in the
    frame's ``attrs["places"]``, for the messages of :func:`feedback_nlp.train.evaluate.prepare_gold`.

    Raises:
        InputError: the file is missing or cannot be read (see :func:`read_gold_rows`).
    """
    rows, places = read_gold_rows(path)
    frame = pd.DataFrame(rows)
    frame.attrs["places"] = places
    return frame


def read_gold_rows(path: str | Path) -> tuple[list[dict[str, Any]], list[str]]:
    """A gold file's rows as JSON objects, and where each one is (``line 4``, ``record 2``).

    JSON Lines (one object a line, a UTF-8 byte-order mark allowed; blank lines skipped), a
    ``.json`` file holding one array of objects, or a ``.csv``/``.tsv`` table with a header
    (touchpoints as labels separated by ``;``).

    Raises:
        InputError: the file is missing, not UTF-8, holds a line that is not a JSON object, or
            holds no rows; the message names the file and the line.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(
            f"Expected the dataset file {path} (a gold set: JSON Lines with text, sentiment, journey_stage and "
            "touchpoints), found nothing there; check the path."
        )
    if not path.is_file():
        raise InputError(f"Expected a gold file at {path}, but it is a folder; give the file itself.")
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputError(
            f"{path}, line {line}: expected UTF-8 text, got byte {data[exc.start]:#04x}; save the file as UTF-8."
        ) from None
    suffix = path.suffix.lower()
    if suffix in _GOLD_TABLES:
        rows, places = _gold_table_rows(path, text, _GOLD_TABLES[suffix])
    elif suffix == ".json" and text.lstrip().startswith("["):
        rows, places = _gold_array_rows(path, text)
    else:
        rows, places = _gold_jsonl_rows(path, text)
    if not rows:
        raise InputError(f"{path} holds no rows; a gold set needs one labelled text a line.")
    return rows, places


def _gold_jsonl_rows(path: Path, text: str) -> tuple[list[dict[str, Any]], list[str]]:
    rows: list[dict[str, Any]] = []
    places: list[str] = []
    # Split on newlines only: str.splitlines() also splits at U+2028 and the like inside a JSON string.
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            hint = ""
            if number == 1 and not line.lstrip().startswith(("{", "[")) and any(sep in line for sep in ",;\t"):
                hint = " This looks like CSV: name the file .csv to read it as a table."
            raise InputError(
                f"{path}, line {number}: not valid JSON ({exc.msg}, column {exc.colno}); a gold file holds one "
                f"JSON object a line (JSON Lines). Fix or remove the line.{hint}"
            ) from None
        if not isinstance(value, dict):
            hint = " (a JSON array of records: name the file .json)" if isinstance(value, list) else ""
            raise InputError(
                f"{path}, line {number}: expected a JSON object with text, sentiment, journey_stage and touchpoints, "
                f"got {type(value).__name__}{hint}."
            )
        rows.append(value)
        places.append(f"line {number}")
    return rows, places


def _gold_array_rows(path: Path, text: str) -> tuple[list[dict[str, Any]], list[str]]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}, line {exc.lineno}: not valid JSON ({exc.msg}, column {exc.colno}).") from None
    if not isinstance(value, list):
        raise InputError(f"{path}: expected a JSON array of objects, got {type(value).__name__}.")
    for index, item in enumerate(value, start=1):
        if not isinstance(item, dict):
            raise InputError(
                f"{path}, record {index}: expected a JSON object with text, sentiment, journey_stage and "
                f"touchpoints, got {type(item).__name__}."
            )
    return list(value), [f"record {i}" for i in range(1, len(value) + 1)]


def _gold_table_rows(path: Path, text: str, delimiter: str) -> tuple[list[dict[str, Any]], list[str]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader, None)
        if header is None:
            return [], []
        rows: list[dict[str, Any]] = []
        places: list[str] = []
        start = reader.line_num + 1
        for cells in reader:
            if any(cell.strip() for cell in cells):
                if len(cells) != len(header):
                    raise InputError(
                        f"{path}, line {start}: {len(cells)} cells for the header's {len(header)} columns; quote "
                        "cells that hold the delimiter."
                    )
                rows.append(dict(zip(header, cells, strict=True)))
                places.append(f"line {start}")
            start = reader.line_num + 1
    except csv.Error as exc:
        raise InputError(f"{path}, line {reader.line_num}: cannot read the table: {exc}.") from None
    return rows, places
