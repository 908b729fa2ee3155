"""Custom taxonomy files: labels with descriptions and, optionally, a few examples each.

```yaml
name: hotel-stay            # any name; it is written into the fitted classifier
version: 1
description: Where in a hotel stay a guest's message belongs.   # optional
labels:
  booking:
    description: Making a new reservation for a room, a restaurant table or a spa treatment.
    examples:               # optional; with none at all the classifier is zero-shot
      - I need to book four rooms for next weekend
  problem:
    description: Something is broken, missing, dirty, lost or stolen during the stay.
```

Labelled examples can also come from a CSV (``text`` and ``label`` columns), such as the one
``feedback-nlp label import`` writes; :func:`read_examples` reads and checks it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from feedback_nlp.errors import ConfigError, InputError

# read_table is re-exported: the taxonomy CLI reads its text files with it.
from feedback_nlp.storage.artifacts import read_table as read_table
from feedback_nlp.storage.artifacts import sha256_text

#: Separates labels in one cell of a multi-label column; a label name may not contain it.
LABEL_SEPARATOR = "|"


class LabelSpec(BaseModel):
    """One label: what it means (the zero-shot classifier reads this) and optional examples."""

    model_config = ConfigDict(extra="forbid")

    description: str = Field(min_length=3)
    examples: list[str] = Field(default_factory=list)

    @field_validator("examples")
    @classmethod
    def _no_blank_examples(cls, value: list[str]) -> list[str]:
        return [text.strip() for text in value if text and text.strip()]


class TaxonomySpec(BaseModel):
    """A custom single-label taxonomy.

    Examples:
        >>> spec = TaxonomySpec.model_validate({"name": "t", "labels": {
        ...     "a": {"description": "about apples"}, "b": {"description": "about bananas"}}})
        >>> spec.label_names
        ['a', 'b']
    """

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    version: int = Field(default=1, ge=1)
    description: str = ""
    labels: dict[str, LabelSpec]

    @field_validator("labels")
    @classmethod
    def _label_names(cls, value: dict[str, LabelSpec]) -> dict[str, LabelSpec]:
        if len(value) < 2:
            raise ValueError(f"a taxonomy needs at least two labels, got {len(value)}")
        for name in value:
            if not str(name).strip() or str(name) != str(name).strip():
                raise ValueError(f"label name {name!r} is empty or has surrounding spaces")
            if LABEL_SEPARATOR in str(name):
                raise ValueError(f"label name {name!r} may not contain {LABEL_SEPARATOR!r}")
        return value

    @model_validator(mode="after")
    def _names_are_strings(self) -> TaxonomySpec:
        self.labels = {str(k): v for k, v in self.labels.items()}
        return self

    @property
    def label_names(self) -> list[str]:
        """Labels in file order: the column order of every probability matrix."""
        return list(self.labels)

    @property
    def fingerprint(self) -> str:
        """A short hash of the names and descriptions (examples left out)."""
        blob = {
            "name": self.name,
            "version": self.version,
            "labels": {k: v.description for k, v in self.labels.items()},
        }
        return sha256_text(json.dumps(blob, sort_keys=True))[:16]

    def inline_examples(self) -> list[LabelledText]:
        """The examples written in the file itself, as labelled texts."""
        return [LabelledText(text, name) for name, label in self.labels.items() for text in label.examples]

    def to_yaml(self) -> str:
        """The spec as YAML, in the shape :func:`load_spec` reads."""
        return yaml.safe_dump(self.model_dump(mode="json"), sort_keys=False, allow_unicode=True)

    @classmethod
    def from_dict(cls, data: Any, *, source: str = "<dict>") -> TaxonomySpec:
        """Validate parsed YAML/JSON.

        Raises:
            ConfigError: the data is not a taxonomy spec; the message names the field.
        """
        if not isinstance(data, dict):
            raise ConfigError(
                f"{source}: expected a mapping with 'name' and 'labels' (see docs/custom_taxonomy.md), "
                f"got {type(data).__name__}."
            )
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or '(top level)'}: {err['msg']}" for err in exc.errors()
            )
            raise ConfigError(f"{source} is not a valid taxonomy spec: {problems}") from exc


@dataclass(frozen=True)
class LabelledText:
    """One training example."""

    text: str
    label: str


def load_spec(path: str | Path) -> TaxonomySpec:
    """Read a taxonomy spec YAML file.

    Raises:
        ConfigError: the file is missing, not YAML, or not a valid spec.
    """
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(
            f"Taxonomy spec {path} does not exist. Write a YAML file with 'name' and 'labels' "
            "(each with a 'description'); see docs/custom_taxonomy.md."
        ) from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"Taxonomy spec {path} is not valid YAML: {exc}") from exc
    return TaxonomySpec.from_dict(data, source=str(path))


def read_examples(
    path: str | Path,
    spec: TaxonomySpec,
    *,
    text_column: str = "text",
    label_column: str = "label",
) -> list[LabelledText]:
    """Read labelled examples and check their labels against ``spec``.

    Rows with an empty text or label are skipped (an unlabelled row is not an error).

    Raises:
        InputError: the file or a column is missing, or a label is not one of the spec's.
    """
    path = Path(path)
    table = read_table(path, what="Examples file")
    missing = [c for c in (text_column, label_column) if c not in table.columns]
    if missing:
        raise InputError(
            f"Examples file {path} has no column {missing[0]!r}; its columns are {list(table.columns)}. "
            "Name the columns with --text-column / --label-column."
        )
    texts = table[text_column].astype(str).str.strip()
    labels = table[label_column].fillna("").astype(str).str.strip()
    keep = (texts != "") & (labels != "")
    return check_labels([LabelledText(t, y) for t, y in zip(texts[keep], labels[keep], strict=True)], spec, str(path))


def check_labels(examples: Sequence[LabelledText], spec: TaxonomySpec, source: str) -> list[LabelledText]:
    """Return ``examples`` if every label is one of the spec's.

    Raises:
        InputError: naming the unknown labels and the spec's labels.
    """
    known = set(spec.label_names)
    unknown = sorted({e.label for e in examples} - known)
    if unknown:
        raise InputError(
            f"{source}: label(s) {unknown[:10]} are not in taxonomy {spec.name!r}, whose labels are "
            f"{spec.label_names}. Fix the labels or add them to the spec."
        )
    return list(examples)
