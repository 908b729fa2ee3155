"""Custom taxonomy spec files and labelled-example files."""

from __future__ import annotations

from pathlib import Path

import pytest

from feedback_nlp.custom import TaxonomySpec, load_spec, read_examples
from feedback_nlp.errors import ConfigError, InputError
from feedback_nlp.settings import PROJECT_ROOT

GOOD = """
name: hotel
labels:
  booking:
    description: making a new reservation
    examples: [book a room for two, "  "]
  problem:
    description: something is broken
"""


def _write(tmp_path: Path, text: str, name: str = "spec.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_load_spec_reads_labels_in_file_order(tmp_path: Path) -> None:
    spec = load_spec(_write(tmp_path, GOOD))
    assert spec.name == "hotel" and spec.version == 1
    assert spec.label_names == ["booking", "problem"]
    assert [(e.text, e.label) for e in spec.inline_examples()] == [("book a room for two", "booking")]
    assert TaxonomySpec.from_dict(__import__("yaml").safe_load(spec.to_yaml())) == spec


def test_fingerprint_ignores_examples_but_not_descriptions(tmp_path: Path) -> None:
    spec = load_spec(_write(tmp_path, GOOD))
    fewer = load_spec(_write(tmp_path, GOOD.replace('[book a room for two, "  "]', "[]"), "b.yaml"))
    other = load_spec(_write(tmp_path, GOOD.replace("something is broken", "a thing broke"), "c.yaml"))
    assert spec.fingerprint == fewer.fingerprint != other.fingerprint


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name: x\nlabels:\n  a: {description: only one label}\n", "at least two labels"),
        ("name: x\nlabels:\n  a|b: {description: aaa}\n  c: {description: ccc}\n", "may not contain"),
        ("name: x\nlabels:\n  a: {}\n  b: {description: bbb}\n", r"labels\.a\.description"),
        ("name: x\nlabels:\n  a: {description: aaa, colour: red}\n  b: {description: bbb}\n", "colour"),
        ("- just a list\n", "expected a mapping"),
        ("name: [unclosed\n", "not valid YAML"),
    ],
)
def test_load_spec_errors_name_the_problem(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_spec(_write(tmp_path, text))


def test_load_spec_missing_file_says_what_to_write(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist.*description"):
        load_spec(tmp_path / "nope.yaml")


def test_shipped_example_specs_are_valid() -> None:
    folder = PROJECT_ROOT / "examples" / "custom_taxonomy"
    specs = {p.stem: load_spec(p) for p in sorted(folder.glob("*.yaml"))}
    assert specs["hotel_stay"].label_names == ["booking", "change_cancel", "arrival_departure", "amenities", "problem"]
    assert len(specs["support_requests"].label_names) == 11


def test_read_examples_skips_unlabelled_rows_and_checks_labels(tmp_path: Path) -> None:
    spec = load_spec(_write(tmp_path, GOOD))
    csv = _write(tmp_path, "text,label\nbook me in,booking\nno label yet,\n,problem\nwifi broken,problem\n", "ex.csv")
    examples = read_examples(csv, spec)
    assert [(e.text, e.label) for e in examples] == [("book me in", "booking"), ("wifi broken", "problem")]
    bad = _write(tmp_path, "text,label\nhello,greeting\n", "bad.csv")
    with pytest.raises(InputError, match=r"\['greeting'\].*\['booking', 'problem'\]"):
        read_examples(bad, spec)


def test_read_examples_names_missing_columns(tmp_path: Path) -> None:
    spec = load_spec(_write(tmp_path, GOOD))
    csv = _write(tmp_path, "comment,category\nx,booking\n", "ex.csv")
    with pytest.raises(InputError, match=r"no column 'text'.*\['comment', 'category'\].*--text-column"):
        read_examples(csv, spec)
    examples = read_examples(csv, spec, text_column="comment", label_column="category")
    assert examples[0].label == "booking"
