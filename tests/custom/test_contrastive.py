"""SetFit-style contrastive fine-tuning on the real MiniLM encoder (a few steps, tiny data)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from feedback_nlp.custom import (
    ContrastiveOptions,
    FitOptions,
    LabelledText,
    TaxonomySpec,
    fit_custom_taxonomy,
    load_custom_classifier,
)
from feedback_nlp.custom.classifier import CONTRASTIVE, LAYERS_FILE
from feedback_nlp.custom.contrastive import balanced_batch
from feedback_nlp.errors import ConfigError


def test_balanced_batch_gives_every_chosen_label_a_pair() -> None:
    y = np.array(["a"] * 10 + ["b"] * 3 + ["c"] * 1)
    rng = np.random.default_rng(0)
    for _ in range(20):
        batch = balanced_batch(y, 8, rng)
        assert len(set(batch)) == len(batch)
        counts = {label: int((y[batch] == label).sum()) for label in set(y[batch])}
        assert all(count >= 2 for label, count in counts.items() if label != "c")
    many = np.repeat(np.arange(20).astype(str), 3)
    batch = balanced_batch(many, 8, rng)
    assert len(batch) <= 8 and len(set(many[batch])) == 4


def test_contrastive_options_are_checked() -> None:
    with pytest.raises(ConfigError, match="between 1 and 6"):
        ContrastiveOptions(layers=7)
    with pytest.raises(ConfigError, match="steps must be"):
        ContrastiveOptions(steps=0)


@pytest.fixture(scope="module")
def minilm():  # noqa: ANN201
    from feedback_nlp.encoders.minilm import SentenceEncoder
    from feedback_nlp.settings import MINILM_SHA256, get_settings

    encoder = SentenceEncoder(get_settings().encoder, expected_sha256=MINILM_SHA256, batch_size=16)
    encoder.set_precision("float32")
    return encoder


def test_contrastive_fit_saves_its_layers_and_leaves_the_encoder_alone(minilm, tmp_path: Path) -> None:  # noqa: ANN001
    spec = TaxonomySpec.model_validate(
        {
            "name": "mini",
            "labels": {
                "delivery": {"description": "the parcel or its delivery"},
                "billing": {"description": "charges, invoices and refunds"},
            },
        }
    )
    examples = [LabelledText(t, "delivery") for t in ("parcel is late", "courier lost my box", "no delivery yet")] + [
        LabelledText(t, "billing") for t in ("charged twice", "where is my refund", "wrong invoice")
    ]
    probe = ["my parcel has not arrived", "I was billed twice"]
    before = minilm.encode(probe)
    options = FitOptions(contrastive=ContrastiveOptions(layers=1, steps=2, batch_size=6))
    classifier = fit_custom_taxonomy(spec, examples, encoder=minilm, options=options)
    np.testing.assert_array_equal(minilm.encode(probe), before)  # fitted on a copy
    assert classifier.method == CONTRASTIVE
    assert classifier.layer_weights and all(".layer.5." in name for name in classifier.layer_weights)
    assert not np.allclose(classifier.encoder.encode(probe), before)  # the copy did learn
    folder = classifier.save(tmp_path / "clf")
    assert (folder / LAYERS_FILE).is_file()
    loaded = load_custom_classifier(folder, encoder=minilm)
    np.testing.assert_allclose(loaded.predict_proba(probe), classifier.predict_proba(probe), atol=1e-4)
    np.testing.assert_array_equal(minilm.encode(probe), before)
