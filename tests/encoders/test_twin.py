"""The classifier's pass with the topic space's upper layers beside it (encoders/twin.py), on the
shipped bundle and the packaged base MiniLM, PyTorch fast path, float32."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest
import torch
from factories import FakeEncoder

from feedback_nlp.encoders.twin import TwinTop, shared_lower_layers
from feedback_nlp.settings import Settings, default_model_dir

TEXTS = [
    ["Love the app,", "but the delivery took two weeks"],
    ["The staff at the branch were rude."],
    ["Checkout failed twice.", "Nobody answered the phone.", "I gave up."],
    ["word " * 150, "a tail that falls outside the window"],
]

SETTINGS = {"encoder_backend": "torch", "encoder_fast_path": True, "precision": "float32"}


@pytest.fixture(scope="module")
def bundle_encoder():  # noqa: ANN201
    from feedback_nlp.storage.loading import load_bundle

    return load_bundle(None, Settings(**SETTINGS)).encoder


@pytest.fixture(scope="module")
def base_encoder():  # noqa: ANN201
    from feedback_nlp.encoders.backends import build_encoder

    return build_encoder(Settings(**SETTINGS))


def test_the_shipped_bundle_shares_the_layers_it_did_not_fine_tune(bundle_encoder, base_encoder) -> None:  # noqa: ANN001
    manifest = json.loads((default_model_dir() / "manifest.json").read_text())
    tuned = manifest["encoder"]["fine_tuned_layers"]
    main, side = bundle_encoder.model[0].auto_model, base_encoder.model[0].auto_model
    depth = len(main.encoder.layer)
    assert 0 < tuned < depth
    assert shared_lower_layers(main, side) == depth - tuned
    assert shared_lower_layers(side, side) == depth
    changed = copy.deepcopy(side)
    with torch.no_grad():
        changed.encoder.layer[1].output.dense.bias += 1e-3
    assert shared_lower_layers(changed, side) == 1
    with torch.no_grad():
        changed.embeddings.LayerNorm.weight += 1e-3
    assert shared_lower_layers(changed, side) == 0


def test_the_side_vectors_are_the_side_encoders_and_the_main_ones_unchanged(bundle_encoder, base_encoder) -> None:  # noqa: ANN001
    want = bundle_encoder.encode_segmented(TEXTS)
    assert want.side is None
    assert bundle_encoder.attach_side(base_encoder) == 3
    try:
        got = bundle_encoder.encode_segmented(TEXTS, side=True)
        unasked = bundle_encoder.encode_segmented(TEXTS)
    finally:
        bundle_encoder.attach_side(None)
    np.testing.assert_allclose(got.texts, want.texts, atol=1e-5)
    np.testing.assert_allclose(got.segments, want.segments, atol=1e-5)
    assert unasked.side is None
    # The topic pass on its own gives the same vectors (the long text cut to the same window).
    alone = base_encoder.encode([" ".join(segments) for segments in TEXTS])
    assert got.side is not None and got.side.shape == alone.shape
    assert ((got.side * alone).sum(axis=1) > 0.9999).all()
    # ...and they are not the classifier's: its top layers are fine-tuned.
    assert ((got.side * got.texts).sum(axis=1) < 0.99).all()


def test_slices_of_the_layers_chain_to_the_whole_pass(bundle_encoder) -> None:  # noqa: ANN001
    fast = bundle_encoder._fast_path_model()
    ids, mask, types = bundle_encoder._padded(bundle_encoder._token_ids(["Short one.", "A longer text " * 8]))
    whole = fast.token_states(ids, mask, types)
    lower = fast.run_layers(fast.embed_tokens(ids, types), mask, 0, 2)
    chained = fast.run_layers(lower, mask, 2).float()
    real = mask.bool()
    torch.testing.assert_close(chained[real], whole[real], atol=1e-5, rtol=1e-5)
    with pytest.raises(ValueError, match="layer slice"):
        fast.run_layers(lower, mask, 4, 2)


def test_a_side_is_attached_only_where_layers_can_be_shared(bundle_encoder, base_encoder) -> None:  # noqa: ANN001
    # The same model shares every layer: its side vectors are its own text vectors.
    assert bundle_encoder.attach_side(bundle_encoder) == 6
    try:
        same = bundle_encoder.encode_segmented(TEXTS[:2], side=True)
    finally:
        bundle_encoder.attach_side(None)
    np.testing.assert_allclose(same.side, same.texts, atol=1e-5)
    # Another precision, or the Hugging Face path, shares nothing: nothing is attached.
    other = copy.deepcopy(base_encoder)
    other.set_precision("bfloat16")
    assert bundle_encoder.attach_side(other) == 0
    other.set_precision("float32")
    other.use_fast_path(False)
    assert bundle_encoder.attach_side(other) == 0
    assert bundle_encoder.encode_segmented(TEXTS[:1], side=True).side is None
    assert bundle_encoder.attach_side(None) == 0


def test_twin_refuses_encoders_of_another_dtype(bundle_encoder, base_encoder) -> None:  # noqa: ANN001
    from feedback_nlp.encoders.fastpath import BertFastPath

    main = bundle_encoder._fast_path_model()
    side = BertFastPath(base_encoder.model[0].auto_model, torch.bfloat16)
    with pytest.raises(ValueError, match="one dtype and depth"):
        TwinTop(main, side, 3)
    with pytest.raises(ValueError, match="shared layers"):
        TwinTop(main, base_encoder._fast_path_model(), 0)


# -- ONNX Runtime: one graph with both top stacks ------------------------------------------------


@pytest.fixture(scope="module")
def onnx_pair(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    """The bundle's encoder and the released model on ONNX Runtime float32, one export cache."""
    pytest.importorskip("onnxruntime", reason="onnxruntime is not installed (pip install -e .)")
    from feedback_nlp.encoders.backends import build_encoder
    from feedback_nlp.storage.loading import load_bundle

    settings = Settings(encoder_backend="onnx", cache_dir=tmp_path_factory.mktemp("cache"))
    return load_bundle(None, settings).encoder, build_encoder(settings)


def test_onnx_runs_the_side_encoder_in_the_classifiers_graph(onnx_pair) -> None:  # noqa: ANN001
    main, base = onnx_pair
    want = main.encode_segmented(TEXTS)
    assert main.attach_side(base) == 3
    try:
        got = main.encode_segmented(TEXTS, side=True)
    finally:
        main.attach_side(None)
    np.testing.assert_allclose(got.texts, want.texts, atol=1e-5)
    np.testing.assert_allclose(got.segments, want.segments, atol=1e-5)
    alone = base.encode([" ".join(segments) for segments in TEXTS])
    assert got.side is not None and ((got.side * alone).sum(axis=1) > 0.9999).all()
    assert main.encode_segmented(TEXTS[:1], side=True).side is None  # detached


def test_onnx_shares_nothing_with_an_encoder_that_is_not_the_released_model(onnx_pair) -> None:  # noqa: ANN001
    main, base = onnx_pair
    assert base.attach_side(main) == 0  # the side has fine-tuned layers of its own
    assert base.attach_side(base) == 0  # nothing fine-tuned here: the graphs are the same already
    assert main.attach_side(FakeEncoder()) == 0


def test_the_first_fine_tuned_layer_is_read_from_the_layers_file(tmp_path) -> None:  # noqa: ANN001
    from safetensors.numpy import save_file

    from feedback_nlp.encoders.finetune import first_fine_tuned_layer

    weight = np.zeros(2, dtype=np.float32)
    save_file(
        {"encoder.layer.4.output.dense.bias": weight, "encoder.layer.5.output.dense.bias": weight}, tmp_path / "a"
    )
    save_file({"encoder.layer.5.output.dense.bias": weight, "embeddings.LayerNorm.bias": weight}, tmp_path / "b")
    assert first_fine_tuned_layer(tmp_path / "a") == 4
    assert first_fine_tuned_layer(tmp_path / "b") == 0
    assert first_fine_tuned_layer(default_model_dir() / "encoder_layers.safetensors") == 3
