"""The topic embedding space (issue 16): base MiniLM without the sentiment directions by default,
its fingerprint, and models kept to the space they were fitted in."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
from factories import FakeEncoder, topic_corpus

from feedback_nlp.errors import BundleError
from feedback_nlp.settings import get_settings
from feedback_nlp.topics import deploy, space
from feedback_nlp.topics.embeddings import encoder_fingerprint
from feedback_nlp.topics.model import TopicConfig, TopicModel


class _Pipeline:
    """What the topic space needs of a pipeline: its encoder and manifest."""

    def __init__(self) -> None:
        self.encoder = FakeEncoder(dimension=384)
        self.manifest = {"encoder": {"sha256": "fake", "max_seq_length": 128}, "files": {}}

    def embed(self, texts):  # noqa: ANN001, ANN201
        return self.encoder.encode(texts)


#: The real base encoder, before the fixture below replaces it.
REAL_BASE_ENCODER = space._base_encoder


@pytest.fixture(autouse=True)
def _fake_base_encoder(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):  # noqa: ANN202
    """The base MiniLM replaced by another fake encoder (no model load in unit tests)."""
    monkeypatch.setattr(space, "_base_encoder", lambda: FakeEncoder(dimension=384, seed="base"))
    monkeypatch.setenv("FEEDBACK_NLP_TOPIC_MODEL_DIR", str(tmp_path / "deployed"))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_the_default_space_is_base_minilm_without_sentiment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FEEDBACK_NLP_TOPIC_SPACE", raising=False)
    assert space.default_space_name() == space.BASE_NO_SENTIMENT == space.DEFAULT_SPACE
    assert space.topic_space(_Pipeline()).name == space.BASE_NO_SENTIMENT
    monkeypatch.setenv("FEEDBACK_NLP_TOPIC_SPACE", "pipeline")
    assert space.topic_space(_Pipeline()).name == space.PIPELINE


def test_the_shipped_sentiment_directions_are_orthonormal() -> None:
    directions, digest = space.load_directions()
    assert directions.shape[1] == 384 and 3 <= directions.shape[0] <= 30
    np.testing.assert_allclose(directions @ directions.T, np.eye(len(directions)), atol=1e-4)
    assert digest == hashlib.sha256(space.DIRECTIONS_FILE.read_bytes()).hexdigest()


def test_embeddings_of_the_default_space_have_no_sentiment_component() -> None:
    s = space.topic_space(_Pipeline(), space.BASE_NO_SENTIMENT)
    X = s.embed(["refund not received", "love the new app", "hold times on the phone"])
    assert X.shape == (3, 384)
    np.testing.assert_allclose(np.linalg.norm(X, axis=1), 1.0, atol=1e-5)
    assert np.abs(X @ s.directions.T).max() < 1e-5


@pytest.mark.parametrize("vectors", [np.zeros((0, 384), dtype=np.float32), np.zeros((0,), dtype=np.float32)])
def test_no_texts_give_an_empty_matrix(vectors: np.ndarray) -> None:
    s = space.topic_space(_Pipeline(), space.BASE_NO_SENTIMENT)
    assert s.embed([]).shape[0] == 0
    assert s.from_encoder(vectors).shape == (0, vectors.shape[1] if vectors.ndim == 2 else 0)


def test_each_space_has_its_own_fingerprint() -> None:
    pipeline = _Pipeline()
    prints = {name: space.topic_space(pipeline, name).fingerprint for name in space.SPACES}
    assert len(set(prints.values())) == 3
    assert prints[space.PIPELINE] == encoder_fingerprint(pipeline.manifest)


def test_an_unknown_space_is_refused() -> None:
    with pytest.raises(BundleError, match="Unknown topic space"):
        space.topic_space(_Pipeline(), "bert-large")


def test_a_model_is_loaded_in_the_space_it_was_fitted_in(tmp_path: Path) -> None:
    pipeline = _Pipeline()
    s = space.topic_space(pipeline, space.BASE_NO_SENTIMENT)
    texts, _ = topic_corpus(("delivery", "refund", "app"), 30)
    model, _ = TopicModel.fit(texts, s.embed(texts), embed=s.embed, config=TopicConfig(min_topic_size=10))
    model.manifest["space"] = s.name
    model.save(tmp_path / "m", encoder=s.fingerprint)
    loaded = deploy.load_for(pipeline, tmp_path / "m")
    assert loaded.space_name == space.BASE_NO_SENTIMENT
    assert [a.topic for a in loaded.assign(s.embed(texts))] == [a.topic for a in model.assign(s.embed(texts))]


def test_predictions_carry_topics_assigned_in_the_topic_space(tmp_path: Path, fake_pipeline) -> None:  # noqa: ANN001
    """A deployed model of the base space is attached, and the pipeline hands it texts: each
    prediction's topic is the one the model gives the text's topic-space vector, never one
    computed from the classifier's own vectors (a 64-d fake here, not even the same size)."""
    s = space.topic_space(fake_pipeline, space.BASE_NO_SENTIMENT)
    texts, groups = topic_corpus(("delivery", "refund", "app"), 30)
    model, _ = TopicModel.fit(texts, s.embed(texts), embed=s.embed, config=TopicConfig(min_topic_size=10))
    model.manifest["space"] = s.name
    model.save(tmp_path / "m", encoder=s.fingerprint)
    deploy.deploy(tmp_path / "m", fake_pipeline)
    try:
        attached = deploy.attach_deployed(fake_pipeline)
        assert attached is not None and fake_pipeline.topic_model is attached
        predictions = fake_pipeline.predict_texts(texts[:12], kind="survey")
    finally:
        fake_pipeline.use_topics(None)
    expected = attached.assign(s.embed(texts[:12]))
    got = [p.topic.id if p.topic else -1 for p in predictions]
    assert got == [a.topic for a in expected]
    assert sum(t >= 0 for t in got) >= 10  # topics are there, not left out
    # Texts of one group share a topic.
    by_group: dict[str, set[int]] = {}
    for topic, group in zip(got, groups[:12], strict=True):
        by_group.setdefault(group, set()).add(topic)
    assert all(len(ids - {-1}) == 1 for ids in by_group.values())


def test_a_model_of_another_space_without_its_encoder_refuses_classifier_vectors(fake_pipeline) -> None:  # noqa: ANN001
    s = space.topic_space(fake_pipeline, space.BASE)
    texts, _ = topic_corpus(("delivery", "refund", "app"), 30)
    model, _ = TopicModel.fit(texts, s.embed(texts), embed=s.embed, config=TopicConfig(min_topic_size=10))
    model.manifest["space"] = s.name
    model.embed = None
    with pytest.raises(BundleError, match="cannot place the classifier's embeddings"):
        model.assign_texts(texts[:2], fake_pipeline.embed(texts[:2]))


def test_a_model_from_before_spaces_is_in_the_pipeline_space(tmp_path: Path) -> None:
    pipeline = _Pipeline()
    texts, _ = topic_corpus(("delivery", "refund", "app"), 30)
    model, _ = TopicModel.fit(texts, pipeline.embed(texts), embed=pipeline.embed, config=TopicConfig(min_topic_size=10))
    model.save(tmp_path / "old", encoder=encoder_fingerprint(pipeline.manifest))
    assert deploy.load_for(pipeline, tmp_path / "old").space_name == space.PIPELINE
    # Claimed to be in another space, its fingerprint no longer matches: refused.
    model.manifest["space"] = space.BASE
    model.save(tmp_path / "claims", encoder=encoder_fingerprint(pipeline.manifest))
    with pytest.raises(BundleError, match="other encoder"):
        deploy.load_for(pipeline, tmp_path / "claims")


def test_deploy_refuses_a_model_of_another_encoder_and_keeps_the_deployed_one(tmp_path: Path) -> None:
    """Deployed, a model fitted on other embeddings made every `classify` and the service fail:
    `deploy` checks it against the pipeline first and leaves the working model in place."""
    pipeline = _Pipeline()
    texts, _ = topic_corpus(("delivery", "refund", "app"), 30)
    good, _ = TopicModel.fit(texts, pipeline.embed(texts), embed=pipeline.embed, config=TopicConfig(min_topic_size=10))
    good.manifest["space"] = space.PIPELINE
    good.save(tmp_path / "good", encoder=encoder_fingerprint(pipeline.manifest))
    deploy.deploy(tmp_path / "good", pipeline)
    before = (deploy.deployed_dir() / "manifest.json").read_bytes()
    # The same model saved for another classifier's encoder (another bundle's fingerprint).
    good.save(tmp_path / "other", encoder=hashlib.sha256(b"another bundle").hexdigest())
    with pytest.raises(BundleError, match=r"other encoder.*Not deployed: the deployed model at .* is unchanged"):
        deploy.deploy(tmp_path / "other", pipeline)
    assert (deploy.deployed_dir() / "manifest.json").read_bytes() == before
    assert deploy.load_for(pipeline).space_name == space.PIPELINE  # what the service loads still loads
    # A model of the base space checks against that space's fingerprint, not the classifier's.
    s = space.topic_space(pipeline, space.BASE_NO_SENTIMENT)
    base, _ = TopicModel.fit(texts, s.embed(texts), embed=s.embed, config=TopicConfig(min_topic_size=10))
    base.manifest["space"] = s.name
    base.save(tmp_path / "base", encoder=encoder_fingerprint(pipeline.manifest))  # saved with the wrong one
    with pytest.raises(BundleError, match="other encoder"):
        deploy.deploy(tmp_path / "base", pipeline)
    base.save(tmp_path / "base", encoder=s.fingerprint)
    assert deploy.deploy(tmp_path / "base", pipeline) == deploy.deployed_dir()


def test_nothing_deployed_yet_says_so_when_deploy_refuses(tmp_path: Path) -> None:
    pipeline = _Pipeline()
    texts, _ = topic_corpus(("delivery", "refund", "app"), 30)
    model, _ = TopicModel.fit(texts, pipeline.embed(texts), embed=pipeline.embed, config=TopicConfig(min_topic_size=10))
    model.save(tmp_path / "other", encoder="f" * 64)
    with pytest.raises(BundleError, match="Not deployed: nothing was deployed"):
        deploy.deploy(tmp_path / "other", pipeline)
    assert not deploy.is_deployed()


def test_a_held_model_lock_stops_a_second_writer_with_a_clear_error(tmp_path: Path) -> None:
    from filelock import FileLock

    folder = tmp_path / "model"
    held = FileLock(str(deploy.lock_path(folder)))
    with held, pytest.raises(BundleError, match=r"another feedback-nlp process has held its lock"):
        with deploy.model_lock(folder, timeout=0.1):
            pass
    with deploy.model_lock(folder, tmp_path / "other", folder, timeout=0.1):  # free again; a folder twice is fine
        pass


@pytest.mark.slow
def test_the_base_space_runs_on_the_classifier_backend_with_the_same_vectors() -> None:
    """The topic pass runs on the classifier's backend and precision (ONNX Runtime float32 on CPUs
    without bfloat16, PyTorch bfloat16 where it is native), and its vectors are the Hugging Face
    float32 model's within that precision's tolerance, so cached embeddings of one fingerprint
    do not depend on the machine (topic assignments: benchmarks/topic_precision.py)."""
    from feedback_nlp.encoders.minilm import SentenceEncoder, resolve_precision

    REAL_BASE_ENCODER.cache_clear()
    settings = get_settings()
    texts = ["my refund has not arrived after two weeks", "the app logs me out every time", "ok"]
    encoder = REAL_BASE_ENCODER()
    fast = encoder.encode(texts)
    reference = SentenceEncoder(settings.encoder, expected_sha256=settings.encoder_sha256 or None).encode(texts)
    assert encoder.precision in ("float32", "bfloat16")  # never int8
    if encoder.precision == "bfloat16":
        assert resolve_precision(settings.precision) == "bfloat16"
        assert (np.sum(fast * reference, axis=1) > 0.999).all()
    else:
        np.testing.assert_allclose(fast, reference, atol=1e-5)


def _export(path: Path, texts: list[str]) -> Path:
    import csv

    with path.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["id", "created_at", "text"])
        writer.writerows([i, f"2026-11-{1 + i % 28:02d}", text] for i, text in enumerate(texts))
    return path


EXPORT = [
    "Love the app, but the delivery took two weeks",
    "The refund never arrived. I called twice.",
    "Great staff at the branch",
    "?? Rude courier. Slow refund.",  # its segments leave "??" out
    "Great staff at the branch",
]


@pytest.fixture
def pooled_pipeline(tiny_bundle: Path, settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # noqa: ANN001, ANN201
    from feedback_nlp.storage.loading import load_bundle

    monkeypatch.setenv("FEEDBACK_NLP_CACHE_DIR", str(tmp_path / "cache"))
    get_settings.cache_clear()
    pipeline = load_bundle(tiny_bundle, settings, encoder=FakeEncoder())
    pipeline.segment_vectors = "pooled"
    return pipeline


@pytest.fixture
def base(monkeypatch: pytest.MonkeyPatch) -> FakeEncoder:
    """One fake base MiniLM for the whole test, so its calls can be counted."""
    encoder = FakeEncoder(dimension=384, seed="base")
    monkeypatch.setattr(space, "_base_encoder", lambda: encoder)
    return encoder


def _classified(pipeline, tmp_path: Path, s: space.TopicSpace):  # noqa: ANN001, ANN202
    from feedback_nlp.topics.corpus import corpus_from_file

    export = _export(tmp_path / "export.csv", EXPORT)
    return corpus_from_file(str(export), pipeline, kind="review", classify=True, space=s, progress=False)


def test_the_classifiers_pass_caches_the_topic_vectors_of_what_it_reads(
    pooled_pipeline,
    base: FakeEncoder,
    tmp_path: Path,  # noqa: ANN001
) -> None:
    from feedback_nlp.topics.corpus import embed_corpus

    s = space.topic_space(pooled_pipeline, space.BASE_NO_SENTIMENT)
    corpus = _classified(pooled_pipeline, tmp_path, s)
    # The side encoder ran inside the classifier's passes: on every distinct text, joined from its segments.
    side_texts = [text for call in base.calls for text in call]
    assert len(side_texts) == 4 and not base.segmented_calls
    assert pooled_pipeline.side_output is None and pooled_pipeline.encoder.side is None  # detached after
    base.calls.clear()
    X = embed_corpus(corpus, pooled_pipeline, space=s, progress=False)
    # Only the text encoded as segments that leave characters out is embedded again.
    assert base.calls == [[corpus.model_inputs[3]]]
    np.testing.assert_allclose(X, s.embed(corpus.model_inputs), atol=1e-5)
    # Read again with every topic vector cached: the side layers are not run at all.
    base.calls.clear()
    _classified(pooled_pipeline, tmp_path, s)
    assert base.calls == []


def test_nothing_is_shared_for_a_bundle_whose_segments_are_encoded_alone(
    pooled_pipeline,
    base: FakeEncoder,
    tmp_path: Path,  # noqa: ANN001
) -> None:
    from feedback_nlp.topics.corpus import embed_corpus, topic_pass_in_classifier

    pooled_pipeline.segment_vectors = "separate"
    s = space.topic_space(pooled_pipeline, space.BASE_NO_SENTIMENT)
    with topic_pass_in_classifier(pooled_pipeline, s) as shared:
        assert shared == 0
    corpus = _classified(pooled_pipeline, tmp_path, s)
    assert base.calls == []
    embed_corpus(corpus, pooled_pipeline, space=s, progress=False)
    assert sorted(t for call in base.calls for t in call) == sorted(set(corpus.model_inputs))
    with topic_pass_in_classifier(pooled_pipeline, space.topic_space(pooled_pipeline, space.PIPELINE)) as shared:
        assert shared == 0


def test_a_failed_attach_leaves_the_topic_pass_on_its_own(
    pooled_pipeline,
    base: FakeEncoder,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,  # noqa: ANN001
) -> None:
    from feedback_nlp.topics.corpus import topic_pass_in_classifier

    def broken(side):  # noqa: ANN001, ANN202
        raise RuntimeError("the twin export failed")

    monkeypatch.setattr(pooled_pipeline.encoder, "attach_side", broken)
    with (
        caplog.at_level("WARNING"),
        topic_pass_in_classifier(pooled_pipeline, space.topic_space(pooled_pipeline, space.BASE)) as shared,
    ):
        assert shared == 0 and pooled_pipeline.side_output is None
    assert "the twin export failed" in caplog.text
