"""The taxonomy: sentiment labels (fixed), journey stages and touchpoints (replaceable)."""

from __future__ import annotations

import hashlib
import json
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, Field, field_validator, model_validator

from feedback_nlp.errors import ConfigError


class Sentiment(StrEnum):
    """The three sentiment labels; fixed across taxonomies."""

    NEGATIVE = "negative"
    NEUTRAL = "neutral"
    POSITIVE = "positive"


SENTIMENT_LABELS: tuple[str, ...] = tuple(s.value for s in Sentiment)

#: The journey-stage label that means "no stage can be told from the text".
NO_STAGE = "none"


class TouchpointSpec(BaseModel):
    """One touchpoint: what it covers, and words that name it explicitly."""

    description: str
    keywords: list[str] = Field(default_factory=list)


class Taxonomy(BaseModel):
    """Journey stages, touchpoints and topic seeds, with a version.

    Examples:
        >>> taxonomy = Taxonomy.default()
        >>> taxonomy.stage_labels[:2]
        ['awareness', 'consideration']
    """

    name: str
    version: int = Field(ge=1)
    sentiment: dict[str, str]
    journey_stages: dict[str, str]
    touchpoints: dict[str, TouchpointSpec]
    topic_seeds: list[str] = Field(default_factory=list)
    #: Phrases that name a stage's activity explicitly (stage -> phrases); optional. A stage head
    #: trained with ``heads.stage_cue_features`` reads their hits beside the embedding.
    stage_cues: dict[str, list[str]] = Field(default_factory=dict)

    @field_validator("sentiment")
    @classmethod
    def _sentiment_is_fixed(cls, value: dict[str, str]) -> dict[str, str]:
        if sorted(value) != sorted(SENTIMENT_LABELS):
            raise ValueError(f"sentiment labels are fixed to {list(SENTIMENT_LABELS)}, got {sorted(value)}")
        return value

    @model_validator(mode="after")
    def _has_labels(self) -> Taxonomy:
        if len(self.journey_stages) < 2:
            raise ValueError("a taxonomy needs at least two journey stages")
        if NO_STAGE not in self.journey_stages:
            raise ValueError(f"journey_stages must include '{NO_STAGE}' for texts with no stage")
        if not self.touchpoints:
            raise ValueError("a taxonomy needs at least one touchpoint")
        unknown = sorted(set(self.stage_cues) - set(self.journey_stages))
        if unknown:
            raise ValueError(
                f"stage_cues names {unknown}, which are not journey stages; expected some of {self.stage_labels}"
            )
        return self

    @property
    def stage_labels(self) -> list[str]:
        """Journey-stage labels in file order."""
        return list(self.journey_stages)

    @property
    def touchpoint_labels(self) -> list[str]:
        """Touchpoint labels in file order."""
        return list(self.touchpoints)

    @property
    def fingerprint(self) -> str:
        """A short hash of the labels and descriptions; a bundle records it. A taxonomy without
        stage cues hashes as it did before they existed, so older bundles still load."""
        data = self.model_dump(mode="json")
        if not data["stage_cues"]:
            del data["stage_cues"]
        blob = json.dumps(data, sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:16]

    @classmethod
    def from_file(cls, path: str | Path) -> Taxonomy:
        """Read a taxonomy YAML file.

        Raises:
            ConfigError: the file is missing or is not a valid taxonomy.
        """
        path = Path(path)
        try:
            data: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise ConfigError(
                f"Taxonomy file {path} does not exist. Point FEEDBACK_NLP_TAXONOMY_PATH at a "
                "YAML file shaped like feedback_nlp/taxonomy/default_taxonomy.yaml."
            ) from exc
        except yaml.YAMLError as exc:
            raise ConfigError(f"Taxonomy file {path} is not valid YAML: {exc}") from exc
        return cls.from_dict(data, source=str(path))

    @classmethod
    def from_dict(cls, data: Any, *, source: str = "<dict>") -> Taxonomy:
        """Build a taxonomy from parsed YAML/JSON data."""
        try:
            return cls.model_validate(data)
        except ValueError as exc:
            raise ConfigError(f"{source} is not a valid taxonomy: {exc}") from exc

    @classmethod
    def default(cls) -> Taxonomy:
        """The packaged default taxonomy (shared/TAXONOMY.md, version 1)."""
        text = resources.files("feedback_nlp.taxonomy").joinpath("default_taxonomy.yaml")
        return cls.from_dict(yaml.safe_load(text.read_text(encoding="utf-8")), source="default")


def load_taxonomy(path: str | Path | None = None) -> Taxonomy:
    """Load the taxonomy at ``path``, or the packaged default when ``path`` is None."""
    return Taxonomy.default() if path is None else Taxonomy.from_file(path)
