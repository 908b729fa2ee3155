"""The taxonomy: the packaged default matches shared/TAXONOMY.md; custom files load or fail cleanly."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from feedback_nlp.errors import ConfigError
from feedback_nlp.settings import PROJECT_ROOT
from feedback_nlp.taxonomy.labels import NO_STAGE, SENTIMENT_LABELS, Taxonomy, load_taxonomy

STAGES = [
    "awareness",
    "consideration",
    "purchase",
    "onboarding",
    "usage",
    "billing",
    "support",
    "retention",
    "none",
]
TOUCHPOINTS = [
    "website",
    "mobile_app",
    "phone",
    "email",
    "chat",
    "social_media",
    "in_person",
    "delivery",
    "billing",
    "product",
    "marketing",
]
TAXONOMY_MD = PROJECT_ROOT.parent / "shared" / "TAXONOMY.md"


def _default_data() -> dict:
    return Taxonomy.default().model_dump(mode="json")


def _write(path: Path, data: object) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def _table_labels(markdown: str, heading: str) -> list[str]:
    """First-column labels of the table under ``## <heading>``."""
    section = markdown.split(f"## {heading}", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| *([a-z_]+) *\|", section, flags=re.MULTILINE)
    return [row for row in rows if row != "label"]


# --------------------------------------------------------------------------- default


def test_taxonomy_default_has_nine_stages_in_order() -> None:
    assert Taxonomy.default().stage_labels == STAGES


def test_taxonomy_default_has_eleven_touchpoints_in_order() -> None:
    assert Taxonomy.default().touchpoint_labels == TOUCHPOINTS


def test_taxonomy_default_sentiment_and_version() -> None:
    taxonomy = Taxonomy.default()
    assert list(taxonomy.sentiment) == list(SENTIMENT_LABELS) == ["negative", "neutral", "positive"]
    assert (taxonomy.name, taxonomy.version) == ("default-cx", 1)
    assert NO_STAGE in taxonomy.journey_stages


@pytest.mark.skipif(not TAXONOMY_MD.is_file(), reason="shared/TAXONOMY.md not found")
@pytest.mark.parametrize(
    ("heading", "attribute"),
    [
        ("Sentiment", "sentiment"),
        ("Journey stage", "stage_labels"),
        ("Touchpoints", "touchpoint_labels"),
    ],
)
def test_taxonomy_default_matches_taxonomy_md(heading: str, attribute: str) -> None:
    expected = _table_labels(TAXONOMY_MD.read_text(encoding="utf-8"), heading)
    assert expected, f"no table found under '## {heading}'"
    assert list(getattr(Taxonomy.default(), attribute)) == expected


def test_taxonomy_default_every_touchpoint_has_keywords() -> None:
    for label, spec in Taxonomy.default().touchpoints.items():
        assert spec.description, label
        assert spec.keywords, label
        assert all(k == k.lower() for k in spec.keywords), label


def test_taxonomy_fingerprint_is_stable_and_sensitive() -> None:
    a, b = Taxonomy.default(), Taxonomy.default()
    assert a.fingerprint == b.fingerprint
    assert re.fullmatch(r"[0-9a-f]{16}", a.fingerprint)
    data = _default_data()
    data["touchpoints"]["phone"]["keywords"].append("landline")
    assert Taxonomy.from_dict(data).fingerprint != a.fingerprint


def test_stage_cues_count_in_the_fingerprint_only_when_present() -> None:
    data = _default_data()
    without = dict(data, stage_cues={})
    del without["stage_cues"]
    # A taxonomy file from before stage cues (no key) and one with none given hash alike, and
    # as they did before the field existed, so older bundles keep matching their manifests.
    assert Taxonomy.from_dict(without).fingerprint == Taxonomy.from_dict(dict(without, stage_cues={})).fingerprint
    assert Taxonomy.from_dict(data).fingerprint != Taxonomy.from_dict(without).fingerprint
    old_bundle = PROJECT_ROOT / "models" / "finetune-mapped"  # written before stage cues existed
    if (old_bundle / "manifest.json").is_file():
        manifest = json.loads((old_bundle / "manifest.json").read_text(encoding="utf-8"))
        assert Taxonomy.from_file(old_bundle / "taxonomy.yaml").fingerprint == manifest["taxonomy"]["fingerprint"]


def test_stage_cues_must_name_journey_stages() -> None:
    data = _default_data()
    data["stage_cues"] = {"checkout": ["basket"]}
    with pytest.raises(ConfigError, match=r"stage_cues names \['checkout'\]"):
        Taxonomy.from_dict(data)


def test_load_taxonomy_none_is_default() -> None:
    assert load_taxonomy(None) == Taxonomy.default()


# ---------------------------------------------------------------------------- custom


def test_taxonomy_from_file_custom_loads(tmp_path: Path) -> None:
    data = {
        "name": "acme",
        "version": 3,
        "sentiment": {"negative": "bad", "neutral": "meh", "positive": "good"},
        "journey_stages": {"buying": "buying things", "repair": "fixing things", "none": "no stage"},
        "touchpoints": {
            "workshop": {"description": "the repair workshop", "keywords": ["workshop", "repair shop"]},
            "hotline": {"description": "the phone hotline"},
        },
    }
    taxonomy = load_taxonomy(_write(tmp_path / "acme.yaml", data))
    assert taxonomy.name == "acme" and taxonomy.version == 3
    assert taxonomy.stage_labels == ["buying", "repair", "none"]
    assert taxonomy.touchpoint_labels == ["workshop", "hotline"]
    assert taxonomy.touchpoints["hotline"].keywords == []
    assert taxonomy.topic_seeds == []
    assert taxonomy.fingerprint != Taxonomy.default().fingerprint


def test_taxonomy_from_file_round_trips_default(tmp_path: Path) -> None:
    assert Taxonomy.from_file(_write(tmp_path / "t.yaml", _default_data())) == Taxonomy.default()


def _without_none_stage(data: dict) -> None:
    del data["journey_stages"]["none"]


def _wrong_sentiment(data: dict) -> None:
    data["sentiment"] = {"bad": "x", "neutral": "y", "good": "z"}


def _extra_sentiment(data: dict) -> None:
    data["sentiment"]["mixed"] = "both"


def _one_stage(data: dict) -> None:
    data["journey_stages"] = {"none": "no stage"}


def _no_touchpoints(data: dict) -> None:
    data["touchpoints"] = {}


def _version_zero(data: dict) -> None:
    data["version"] = 0


def _no_name(data: dict) -> None:
    del data["name"]


def _touchpoint_without_description(data: dict) -> None:
    data["touchpoints"]["phone"] = {"keywords": ["phone"]}


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (_without_none_stage, "must include 'none'"),
        (_wrong_sentiment, "sentiment labels are fixed"),
        (_extra_sentiment, "sentiment labels are fixed"),
        (_one_stage, "at least two journey stages"),
        (_no_touchpoints, "at least one touchpoint"),
        (_version_zero, "version"),
        (_no_name, "name"),
        (_touchpoint_without_description, "description"),
    ],
)
def test_taxonomy_from_file_invalid_raises_config_error(tmp_path: Path, edit, message: str) -> None:  # noqa: ANN001
    data = _default_data()
    edit(data)
    path = _write(tmp_path / "bad.yaml", data)
    with pytest.raises(ConfigError, match=message) as info:
        Taxonomy.from_file(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize(
    "text",
    [
        "name: [unclosed\n",
        "journey_stages:\n  a: b\n c: d\n",
    ],
)
def test_taxonomy_from_file_bad_yaml_raises_config_error(tmp_path: Path, text: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid YAML"):
        Taxonomy.from_file(path)


@pytest.mark.parametrize("text", ["", "- just\n- a list\n", "42\n"])
def test_taxonomy_from_file_not_a_mapping_raises_config_error(tmp_path: Path, text: str) -> None:
    path = tmp_path / "odd.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match="not a valid taxonomy"):
        Taxonomy.from_file(path)


def test_taxonomy_from_file_missing_raises_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="FEEDBACK_NLP_TAXONOMY_PATH"):
        load_taxonomy(tmp_path / "absent.yaml")
