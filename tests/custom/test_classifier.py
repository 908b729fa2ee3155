"""Custom taxonomies: zero-shot and few-shot fits, predictions, and the safe save/load round trip."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from factories import FakeEncoder

from feedback_nlp.custom import (
    FitOptions,
    LabelledText,
    TaxonomySpec,
    fit_custom_taxonomy,
    load_custom_classifier,
)
from feedback_nlp.custom.classifier import FEW_SHOT, ZERO_SHOT
from feedback_nlp.custom.zeroshot import ZERO_SHOT_TEMPERATURE, label_centres
from feedback_nlp.errors import BundleError, ConfigError, InputError

SPEC = TaxonomySpec.model_validate(
    {
        "name": "shop",
        "labels": {
            "delivery": {"description": "parcel courier delivery arrived late shipping"},
            "billing": {"description": "invoice charged twice bill payment refund money"},
            "app": {"description": "app crashes login screen phone update"},
        },
    }
)

HELD_OUT = [
    ("my parcel delivery arrived late", "delivery"),
    ("the courier lost the parcel", "delivery"),
    ("I was charged twice on the invoice", "billing"),
    ("refund my money for the bill", "billing"),
    ("the app crashes on the login screen", "app"),
    ("after the update the app crashes", "app"),
]

EXAMPLES = [
    LabelledText("parcel never arrived, courier late", "delivery"),
    LabelledText("shipping took weeks, parcel late", "delivery"),
    LabelledText("delivery was late again", "delivery"),
    LabelledText("courier left my parcel outside", "delivery"),
    LabelledText("charged twice for one bill", "billing"),
    LabelledText("wrong invoice amount, refund please", "billing"),
    LabelledText("payment taken twice, money gone", "billing"),
    LabelledText("the bill shows a charge I never made", "billing"),
    LabelledText("app crashes when I open it", "app"),
    LabelledText("cannot login on my phone", "app"),
    LabelledText("the update broke the app screen", "app"),
    LabelledText("login screen freezes in the app", "app"),
]


@pytest.fixture
def encoder() -> FakeEncoder:
    return FakeEncoder()


def _accuracy(classifier, pairs) -> float:  # noqa: ANN001
    predicted = classifier.predict([t for t, _ in pairs])
    return float(np.mean([p == y for p, (_, y) in zip(predicted, pairs, strict=True)]))


def test_zero_shot_predicts_from_descriptions_alone(encoder: FakeEncoder) -> None:
    classifier = fit_custom_taxonomy(SPEC, encoder=encoder)
    assert classifier.method == ZERO_SHOT
    assert classifier.labels == ["delivery", "billing", "app"]
    assert _accuracy(classifier, HELD_OUT) == 1.0
    proba = classifier.predict_proba([t for t, _ in HELD_OUT])
    assert proba.shape == (len(HELD_OUT), 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-5)
    assert classifier.head.temperature_ == ZERO_SHOT_TEMPERATURE


def test_one_text_in_one_result_out(encoder: FakeEncoder) -> None:
    classifier = fit_custom_taxonomy(SPEC, encoder=encoder)
    assert classifier.predict("the courier was late") == "delivery"
    assert classifier.predict_proba("the courier was late").shape == (3,)
    assert classifier.predict([]) == []


def test_label_centres_push_down_a_description_close_to_everything() -> None:
    hub = np.array([1.0, 0.0, 0.0])
    other = np.array([0.0, 1.0, 0.0])
    reference = np.array([[0.9, 0.1, 0.4], [0.8, 0.0, 0.6], [0.7, 0.3, 0.6]])
    reference /= np.linalg.norm(reference, axis=1, keepdims=True)
    centres = label_centres(np.vstack([hub, other]), reference)
    assert centres[0] > 0 > centres[1]
    assert centres.sum() == pytest.approx(0.0, abs=1e-6)
    # Without reference texts the other labels' descriptions serve; still zero-mean.
    assert label_centres(np.eye(3), None).sum() == pytest.approx(0.0, abs=1e-6)


def test_zero_shot_with_unlabelled_texts_records_them(encoder: FakeEncoder) -> None:
    classifier = fit_custom_taxonomy(SPEC, encoder=encoder, unlabelled=[t for t, _ in HELD_OUT])
    assert classifier.report.reference_texts == len(HELD_OUT)
    assert _accuracy(classifier, HELD_OUT) == 1.0


def test_few_shot_fits_on_examples_and_calibrates(encoder: FakeEncoder) -> None:
    classifier = fit_custom_taxonomy(SPEC, EXAMPLES, encoder=encoder, options=FitOptions(seed=1))
    assert classifier.method == FEW_SHOT
    assert classifier.report.examples == {"delivery": 4, "billing": 4, "app": 4}
    assert classifier.head.temperature_ != 1.0  # fitted on cross-validated predictions
    assert _accuracy(classifier, HELD_OUT) == 1.0
    assert list(classifier.head.classes_) == SPEC.label_names


def test_few_shot_description_keeps_a_label_without_examples_alive(encoder: FakeEncoder) -> None:
    partial = [e for e in EXAMPLES if e.label != "app"]
    with_descriptions = fit_custom_taxonomy(SPEC, partial, encoder=encoder)
    assert with_descriptions.predict("the app crashes on the login screen") == "app"
    without = fit_custom_taxonomy(SPEC, partial, encoder=encoder, options=FitOptions(description_weight=0.0))
    assert "app" not in without.predict([t for t, _ in HELD_OUT])


def test_inline_spec_examples_make_a_few_shot_fit(encoder: FakeEncoder) -> None:
    data = SPEC.model_dump()
    data["labels"]["app"]["examples"] = ["my phone app will not open"]
    spec = TaxonomySpec.model_validate(data)
    classifier = fit_custom_taxonomy(spec, encoder=encoder)
    assert classifier.method == FEW_SHOT and classifier.report.examples["app"] == 1


def test_unknown_example_label_is_refused(encoder: FakeEncoder) -> None:
    with pytest.raises(InputError, match=r"'shipping'.*not in taxonomy 'shop'.*delivery"):
        fit_custom_taxonomy(SPEC, [LabelledText("late", "shipping")], encoder=encoder)


def test_contrastive_needs_examples(encoder: FakeEncoder) -> None:
    from feedback_nlp.custom import ContrastiveOptions

    with pytest.raises(ConfigError, match="needs labelled examples"):
        fit_custom_taxonomy(SPEC, encoder=encoder, options=FitOptions(contrastive=ContrastiveOptions(steps=1)))
    with pytest.raises(ConfigError, match="MiniLM sentence encoder"):
        fit_custom_taxonomy(
            SPEC, EXAMPLES, encoder=encoder, options=FitOptions(contrastive=ContrastiveOptions(steps=1))
        )


@pytest.mark.parametrize("examples", [None, EXAMPLES], ids=["zero-shot", "few-shot"])
def test_save_and_load_give_the_same_probabilities(examples, encoder: FakeEncoder, tmp_path: Path) -> None:  # noqa: ANN001
    classifier = fit_custom_taxonomy(SPEC, examples, encoder=encoder)
    folder = classifier.save(tmp_path / "clf")
    assert sorted(p.name for p in folder.iterdir()) == ["head.safetensors", "manifest.json", "taxonomy.yaml"]
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["kind"] == "custom-classifier" and manifest["labels"] == SPEC.label_names
    assert manifest["encoder"]["sha256"] == encoder.weights_sha256
    loaded = load_custom_classifier(folder, encoder=FakeEncoder())
    texts = [t for t, _ in HELD_OUT]
    np.testing.assert_allclose(loaded.predict_proba(texts), classifier.predict_proba(texts), atol=1e-6)
    assert loaded.method == classifier.method and loaded.version.startswith("shop:")


def test_load_refuses_a_changed_file(encoder: FakeEncoder, tmp_path: Path) -> None:
    folder = fit_custom_taxonomy(SPEC, EXAMPLES, encoder=encoder).save(tmp_path / "clf")
    spec_file = folder / "taxonomy.yaml"
    spec_file.write_text(spec_file.read_text(encoding="utf-8").replace("parcel", "box"), encoding="utf-8")
    with pytest.raises(BundleError, match="taxonomy.yaml"):
        load_custom_classifier(folder, encoder=encoder)


def test_load_refuses_another_encoder(encoder: FakeEncoder, tmp_path: Path) -> None:
    folder = fit_custom_taxonomy(SPEC, EXAMPLES, encoder=encoder).save(tmp_path / "clf")
    with pytest.raises(BundleError, match="refit the classifier"):
        load_custom_classifier(folder, encoder=FakeEncoder(seed="another model"))


def test_load_refuses_a_pipeline_bundle_and_an_empty_folder(tiny_bundle: Path, tmp_path: Path) -> None:
    with pytest.raises(BundleError, match="not a custom classifier"):
        load_custom_classifier(tiny_bundle, encoder=FakeEncoder())
    with pytest.raises(BundleError, match="taxonomy fit"):
        load_custom_classifier(tmp_path, encoder=FakeEncoder())


def test_save_replaces_an_existing_classifier(encoder: FakeEncoder, tmp_path: Path) -> None:
    folder = fit_custom_taxonomy(SPEC, encoder=encoder).save(tmp_path / "clf")
    fit_custom_taxonomy(SPEC, EXAMPLES, encoder=encoder).save(folder)
    assert load_custom_classifier(folder, encoder=encoder).method == FEW_SHOT
    assert not any(p.name.startswith(".clf") for p in tmp_path.iterdir())
    shutil.rmtree(folder)


def test_saved_manifest_is_typed_and_a_bundle_loader_refuses_the_folder(encoder: FakeEncoder, tmp_path: Path) -> None:
    from feedback_nlp.custom.classifier import ClassifierManifest
    from feedback_nlp.storage.artifacts import BundleManifest

    classifier = fit_custom_taxonomy(SPEC, EXAMPLES, encoder=encoder)
    assert classifier.version == "shop:unsaved"
    folder = classifier.save(tmp_path / "clf")
    manifest = ClassifierManifest.read(folder)
    assert classifier.manifest == manifest and classifier.version == f"shop:{manifest.version}"
    assert manifest.labels == SPEC.label_names and manifest.method == FEW_SHOT
    assert manifest.taxonomy.fingerprint == SPEC.fingerprint
    assert set(manifest.files) == {"head.safetensors", "taxonomy.yaml"}
    raw = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest.to_json() == raw  # nothing added or lost on the way back
    with pytest.raises(BundleError, match="'custom-classifier' folder, not a model bundle"):
        BundleManifest.read(folder)
