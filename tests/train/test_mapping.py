"""The native-label mapping tables (train/mappings/*.csv) and how rows are mapped with them."""

from __future__ import annotations

import csv
from collections.abc import Callable
from importlib import resources
from pathlib import Path

import pandas as pd
import pytest

from feedback_nlp.errors import DataError
from feedback_nlp.taxonomy.labels import SENTIMENT_LABELS, Taxonomy
from feedback_nlp.train import datasets
from feedback_nlp.train.mapping import UNKNOWN, LabelMap, load_table, map_to_taxonomy

MAPPINGS = resources.files("feedback_nlp.train").joinpath("mappings")
TABLES = sorted(p.name.removesuffix(".csv") for p in MAPPINGS.iterdir() if p.name.endswith(".csv"))
BASE_COLUMNS = ["native_label", "sentiment", "journey_stage", "touchpoints", "reason"]
TAXONOMY = Taxonomy.default()


def _rows(name: str) -> list[dict[str, str]]:
    with MAPPINGS.joinpath(f"{name}.csv").open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _header(name: str) -> list[str]:
    with MAPPINGS.joinpath(f"{name}.csv").open(encoding="utf-8", newline="") as handle:
        return next(csv.reader(handle))


def test_mapping_tables_all_present() -> None:
    assert TABLES == [
        "banking77",
        "bitext",
        "cfpb_issue",
        "cfpb_product",
        "mams",
        "nlupp_banking",
        "nlupp_hotels",
        "tweeteval",
        "womens_clothing",
    ]


@pytest.mark.parametrize("name", TABLES)
def test_mapping_table_columns(name: str) -> None:
    expected = BASE_COLUMNS + (["priority"] if name.startswith("nlupp_") else [])
    assert _header(name) == expected


@pytest.mark.parametrize("name", TABLES)
def test_mapping_table_rows_are_complete(name: str) -> None:
    width = len(_header(name))
    with MAPPINGS.joinpath(f"{name}.csv").open(encoding="utf-8", newline="") as handle:
        for number, cells in enumerate(csv.reader(handle), start=1):
            assert len(cells) == width, f"{name}.csv line {number}: {len(cells)} cells, expected {width}"


@pytest.mark.parametrize("name", TABLES)
def test_mapping_table_label_values_valid(name: str) -> None:
    stages = set(TAXONOMY.stage_labels)
    touchpoints = set(TAXONOMY.touchpoint_labels)
    problems = []
    for row in _rows(name):
        label = row["native_label"]
        if row["sentiment"] not in (*SENTIMENT_LABELS, ""):
            problems.append(f"{label}: sentiment {row['sentiment']!r}")
        if row["journey_stage"] not in stages | {""}:
            problems.append(f"{label}: journey_stage {row['journey_stage']!r}")
        cell = row["touchpoints"]
        if cell not in ("", UNKNOWN):
            parts = cell.split("|")
            bad = [p for p in parts if p not in touchpoints]
            if bad or len(parts) != len(set(parts)):
                problems.append(f"{label}: touchpoints {cell!r}")
        if name.startswith("nlupp_") and not row["priority"].strip().lstrip("-").isdigit():
            problems.append(f"{label}: priority {row['priority']!r}")
    assert not problems, problems


@pytest.mark.parametrize("name", TABLES)
def test_mapping_table_every_row_has_a_reason(name: str) -> None:
    missing = [row["native_label"] for row in _rows(name) if len(row["reason"].strip()) < 10]
    assert not missing


@pytest.mark.parametrize("name", TABLES)
def test_mapping_table_no_duplicate_native_labels(name: str) -> None:
    labels = [row["native_label"] for row in _rows(name)]
    assert all(label and label == label.strip() for label in labels)
    duplicates = sorted({label for label in labels if labels.count(label) > 1})
    assert not duplicates
    assert len(load_table(name)) == len(labels)


def test_load_table_parses_cells() -> None:
    table = load_table("banking77")
    assert table["Refund_not_showing_up"] == LabelMap("negative", "billing", frozenset())
    assert table["apple_pay_or_google_pay"].touchpoints == frozenset({"billing", "product"})
    assert load_table("mams")["miscellaneous"].touchpoints is None  # "?" = unknown
    assert load_table("womens_clothing")["3"].sentiment is None  # empty = not determined


def test_load_table_unknown_name_raises_data_error() -> None:
    with pytest.raises(DataError, match="mappings/nope.csv"):
        load_table("nope")


# ---------------------------------------------------------------------- mapping rows


def _map(source: str, **columns: object) -> LabelMap:
    frame = pd.DataFrame([{"source": source, "text": "t", **columns}])
    row = map_to_taxonomy(frame).iloc[0]
    return LabelMap(row["sentiment"], row["journey_stage"], row["touchpoints"])


@pytest.mark.parametrize(
    ("rating", "recommended", "sentiment"),
    [("1", 1, "negative"), ("3", 1, "positive"), ("3", 0, "negative"), ("5", 0, "positive")],
)
def test_map_womens_clothing_three_stars_take_recommendation(rating: str, recommended: int, sentiment: str) -> None:
    mapped = _map("womens_clothing_reviews", native_label=rating, recommended=recommended)
    assert mapped == LabelMap(sentiment, "usage", frozenset({"product"}))


@pytest.mark.parametrize(
    ("aspects", "expected"),
    [
        (
            [("food", "positive"), ("service", "neutral")],
            LabelMap("positive", "usage", frozenset({"product", "in_person"})),
        ),
        ([("food", "positive"), ("staff", "negative")], LabelMap(None, "usage", frozenset({"product", "in_person"}))),
        ([("place", "neutral")], LabelMap("neutral", "usage", frozenset({"in_person"}))),
        ([("miscellaneous", "negative")], LabelMap("negative", "usage", None)),
        ([("miscellaneous", "negative"), ("menu", "negative")], LabelMap("negative", "usage", frozenset({"product"}))),
    ],
)
def test_map_mams_aspects(aspects: list[tuple[str, str]], expected: LabelMap) -> None:
    assert _map("mams", aspects=aspects, native_label="") == expected


def test_map_nlupp_highest_priority_stage_and_union() -> None:
    table = load_table("nlupp_banking")
    staged = sorted((m.priority, label) for label, m in table.items() if m.journey_stage)
    (low_priority, low), (high_priority, high) = staged[0], staged[-1]
    assert high_priority > low_priority
    mapped = _map("nlupp_banking", intents=sorted([low, high, "affirm"]), native_label="")
    assert mapped.journey_stage == table[high].journey_stage
    known = [table[i].touchpoints for i in (low, high) if table[i].touchpoints is not None]
    assert mapped.touchpoints == (frozenset().union(*known) if known else None)


def test_map_nlupp_without_problem_intent_is_neutral() -> None:
    assert _map("nlupp_hotels", intents=["greet", "affirm"], native_label="").sentiment == "neutral"


def test_map_cfpb_issue_with_unknown_touchpoints_falls_back_to_product() -> None:
    issue = "Account opening, closing, or management"
    product = "Credit reporting, repair, or other"
    assert load_table("cfpb_issue")[issue].touchpoints is None
    mapped = _map("cfpb_complaints", issue=issue, product=product, native_label=issue)
    assert mapped == LabelMap("negative", "support", load_table("cfpb_product")[product].touchpoints)


def test_map_cfpb_without_issue_uses_product() -> None:
    mapped = _map("cfpb_complaints", issue="", product="Debt collection", native_label="")
    assert mapped == LabelMap("negative", None, None)


def test_map_unknown_native_label_is_unknown() -> None:
    assert _map("banking77", native_label="not_an_intent") == LabelMap(None, None, None)


def test_map_unknown_source_raises_data_error() -> None:
    with pytest.raises(DataError, match="No label mapping for source 'other'"):
        _map("other", native_label="x")


# ------------------------------------------------------------ coverage of the real data


def _labels(column: str) -> Callable[[pd.DataFrame], set[str]]:
    return lambda frame: set(frame[column])


def _joined(column: str) -> Callable[[pd.DataFrame], set[str]]:
    return lambda frame: {label for labels in frame[column] for label in labels}


COVERAGE = [
    ("banking77", "banking77", _labels("native_label")),
    ("bitext_support", "bitext", _labels("native_label")),
    ("nlupp_banking", "nlupp_banking", _joined("intents")),
    ("nlupp_hotels", "nlupp_hotels", _joined("intents")),
    ("cfpb_complaints", "cfpb_issue", lambda f: set(f["issue"]) - {""}),
    ("cfpb_complaints", "cfpb_product", _labels("product")),
    ("mams", "mams", lambda f: {category for aspects in f["aspects"] for category, _ in aspects}),
    ("womens_clothing_reviews", "womens_clothing", _labels("native_label")),
    ("tweeteval_sentiment", "tweeteval", _labels("native_label")),
]


@pytest.mark.parametrize(("source", "table", "labels_of"), COVERAGE, ids=[f"{s}-{t}" for s, t, _ in COVERAGE])
def test_mapping_covers_every_native_label_in_data(
    data_dir: Path, source: str, table: str, labels_of: Callable[[pd.DataFrame], set[str]]
) -> None:
    labels = labels_of(_loaded(source, data_dir))
    assert labels, f"{source}: no native labels found"
    missing = sorted(labels - set(load_table(table)))
    assert not missing, f"{source}: no row in mappings/{table}.csv for {missing}"


_CACHE: dict[str, pd.DataFrame] = {}


def _loaded(source: str, data_dir: Path) -> pd.DataFrame:
    if source not in _CACHE:
        _CACHE[source] = datasets.load_source(source, data_dir)
    return _CACHE[source]


def test_cfpb_narrative_rows_all_have_an_issue(data_dir: Path) -> None:
    full = pd.read_csv(data_dir / "cfpb_complaints" / "cfpb_complaints_sample_fullschema.csv")
    narratives = full[full["Consumer complaint narrative"].notna()]
    assert len(narratives) > 0
    missing = sorted(set(narratives["Issue"].dropna()) - set(load_table("cfpb_issue")))
    assert not missing
