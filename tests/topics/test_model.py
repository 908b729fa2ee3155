"""Tests for feedback_nlp.topics.model and .embeddings: fit, assign, save/load, update, the cache.

Every model here is fitted on synthetic groups of texts (``factories.topic_corpus``) embedded by
the bag-of-words ``FakeEncoder``, so texts of one group are close and the groups are known.
The expensive fits are module-scoped (UMAP's numba compile happens once per session).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import shutil
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from factories import TOPIC_VOCABULARY, FakeEncoder, topic_corpus
from sklearn.metrics import normalized_mutual_info_score

from feedback_nlp.errors import BundleError, InputError
from feedback_nlp.settings import get_settings
from feedback_nlp.topics.embeddings import EmbeddingCache, encoder_fingerprint, text_key
from feedback_nlp.topics.model import (
    CENTROIDS_FILE,
    MANIFEST,
    OUTLIER,
    OUTLIER_LABEL,
    TOPICS_FORMAT,
    TopicConfig,
    TopicModel,
    corpus_fingerprint,
)

SEEDS = ["delivery delay", "refund or return"]
GROUPS = ("delivery", "refund", "app", "staff")
FINGERPRINT = hashlib.sha256(b"fake encoder for topic tests").hexdigest()
CONFIG = TopicConfig(min_topic_size=10)


@pytest.fixture(autouse=True)
def _isolated_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # noqa: ANN202
    """Caches and the deployed topic model live under tmp_path, never in the user's folders."""
    monkeypatch.setenv("FEEDBACK_NLP_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("FEEDBACK_NLP_TOPIC_MODEL_DIR", str(tmp_path / "deployed-topics"))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@dataclass
class Fitted:
    encoder: FakeEncoder
    texts: list[str]
    groups: list[str]
    X: np.ndarray
    model: TopicModel
    topics: list[int]  # fit's topic per text

    def topic_of(self, group: str) -> int:
        """The topic most of ``group``'s texts were assigned to by fit."""
        counts = Counter(t for t, g in zip(self.topics, self.groups, strict=True) if g == group and t != OUTLIER)
        return counts.most_common(1)[0][0]


def _fit(per_group: int = 40, *, seeds: list[str] = SEEDS, config: TopicConfig = CONFIG) -> Fitted:
    encoder = FakeEncoder()
    texts, groups = topic_corpus(GROUPS, per_group)
    X = encoder.encode(texts)
    model, assignments = TopicModel.fit(texts, X, embed=encoder.encode, seeds=seeds, config=config)
    return Fitted(encoder, texts, groups, X, model, [a.topic for a in assignments])


@pytest.fixture(scope="module")
def fitted() -> Fitted:
    """4 groups x 40 texts, fitted with two seed names."""
    return _fit()


@pytest.fixture(scope="module")
def saved(fitted: Fitted, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fitted model saved once; copy it before changing anything in it."""
    return fitted.model.save(
        tmp_path_factory.mktemp("topic-models") / "model", encoder=FINGERPRINT, extra={"source": "tests"}
    )


def test_loading_without_an_encoder_does_not_warn_about_one(saved: Path, caplog: pytest.LogCaptureFixture) -> None:
    # `topics show` reads a model without an encoder; BERTopic's warning that none is given is noise.
    with caplog.at_level(logging.WARNING):
        model = TopicModel.load(saved, encoder=FINGERPRINT)
    assert model.topics
    assert not [r for r in caplog.records if r.name == "BERTopic"], caplog.text


def _copy(saved: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(saved, tmp_path / "copy"))


# -- fit ---------------------------------------------------------------------------------------


def test_fit_finds_one_topic_per_group(fitted: Fitted) -> None:
    assert 3 <= len(fitted.model.topics) <= 6, fitted.model.topic_table()
    assert len(fitted.topics) == len(fitted.texts)
    assert {t.id for t in fitted.model.topics} >= set(fitted.topics) - {OUTLIER}
    assert all(t.id >= 0 for t in fitted.model.topics)
    # Each topic's count is the number of fitted texts assigned to it.
    counts = Counter(fitted.topics)
    assert {t.id: t.count for t in fitted.model.topics} == {t.id: counts[t.id] for t in fitted.model.topics}


def test_fit_recovers_the_synthetic_groups(fitted: Fitted) -> None:
    score = normalized_mutual_info_score(fitted.groups, fitted.topics)
    assert score > 0.8, (score, Counter(zip(fitted.groups, fitted.topics, strict=True)))
    # The four groups land in four different topics.
    assert len({fitted.topic_of(g) for g in GROUPS}) == len(GROUPS)


def test_fit_leaves_at_most_the_allowed_share_unassigned(fitted: Fitted) -> None:
    share = sum(t == OUTLIER for t in fitted.topics) / len(fitted.topics)
    assert share <= CONFIG.max_outlier_share


ZERO_SHOT = {"min_topic_size": 10, "seed_min_similarity": 0.55}


@pytest.fixture(scope="module")
def with_outliers() -> dict[float, Fitted]:
    """Zero-shot seed topics on, under three outlier caps."""
    return {cap: _fit(config=TopicConfig(**ZERO_SHOT, max_outlier_share=cap)) for cap in (0.15, 0.02, 0.0)}


@pytest.mark.parametrize("cap", [0.15, 0.02, 0.0])
def test_fit_honours_the_outlier_cap(cap: float, with_outliers: dict[float, Fitted]) -> None:
    run = with_outliers[cap]
    unassigned = sum(t == OUTLIER for t in run.topics)
    assert unassigned <= int(np.floor(cap * len(run.texts)))
    assert normalized_mutual_info_score(run.groups, run.topics) > 0.8
    if cap < 0.15:  # texts folded in join their own group's topic
        loose = with_outliers[0.15]
        folded = [i for i, (a, b) in enumerate(zip(loose.topics, run.topics, strict=True)) if a == OUTLIER != b]
        left = sum(t == OUTLIER for t in loose.topics)
        assert len(folded) >= left - int(np.floor(cap * len(run.texts))), "a tight cap folds in what the loose one left"
        assert all(run.topics[i] == run.topic_of(run.groups[i]) for i in folded)


def test_reduce_outliers_folds_the_most_similar_first_down_to_the_cap() -> None:
    from feedback_nlp.topics.model import _reduce_outliers

    centroids = np.eye(3, dtype=np.float32)[:2]  # topics 5 and 7 along x and y
    # Ten texts on topics, ten outliers with falling similarity to topic 7 (y).
    on_topic = [[1, 0, 0]] * 5 + [[0, 1, 0]] * 5
    outliers = [[0, np.cos(a), np.sin(a)] for a in np.linspace(0.1, 1.4, 10)]
    X = np.asarray(on_topic + outliers, dtype=np.float32)
    topics = np.array([5] * 5 + [7] * 5 + [OUTLIER] * 10)
    reduced = _reduce_outliers(X, topics, [5, 7], centroids, max_share=0.25)  # 5 of 20 may stay
    np.testing.assert_array_equal(reduced[:10], topics[:10])
    assert reduced[10:].tolist() == [7] * 5 + [OUTLIER] * 5, "the five closest folded, into their nearest topic"
    assert _reduce_outliers(X, topics, [5, 7], centroids, max_share=0.0)[10:].tolist() == [7] * 10
    np.testing.assert_array_equal(_reduce_outliers(X, topics, [5, 7], centroids, max_share=1.0), topics)


def test_reduce_outliers_folds_or_keeps_identical_texts_together() -> None:
    from feedback_nlp.topics.model import _reduce_outliers

    centroids = np.eye(3, dtype=np.float32)[:2]
    on_topic = [[1, 0, 0]] * 10
    # Twelve copies of one text, then eight others a little farther from topic 7.
    copies = [[0, np.cos(0.3), np.sin(0.3)]] * 12
    others = [[0, np.cos(a), np.sin(a)] for a in np.linspace(0.6, 1.4, 8)]
    X = np.asarray(on_topic + copies + others, dtype=np.float32)
    topics = np.array([5] * 10 + [OUTLIER] * 20)
    # 30 texts, at most 4 (15%) may stay: 16 must fold, and the cap falls inside no group here...
    reduced = _reduce_outliers(X, topics, [5, 7], centroids, max_share=0.15)
    assert len(set(reduced[10:22].tolist())) == 1
    # ...but with 9 allowed to stay (30%), 11 must fold: the cap falls inside the copies, all 12 fold.
    reduced = _reduce_outliers(X, topics, [5, 7], centroids, max_share=0.3)
    assert reduced[10:22].tolist() == [7] * 12 and reduced[22:].tolist() == [OUTLIER] * 8


def test_identical_texts_share_one_topic_in_a_fit() -> None:
    """250 copies of one text beside other groups: all in one topic or all unassigned, never split."""
    encoder = FakeEncoder()
    texts, _ = topic_corpus(("delivery", "refund", "app"), 30)
    same = "my parcel never arrived"
    corpus = texts + [same] * 250
    model, assignments = TopicModel.fit(corpus, encoder.encode(corpus), embed=encoder.encode, config=CONFIG)
    fates = {(a.topic, a.confidence) for text, a in zip(corpus, assignments, strict=True) if text == same}
    assert len(fates) == 1, fates
    assert sum(a.topic == OUTLIER for a in assignments) <= int(0.15 * len(corpus))


def test_share_fate_takes_the_commonest_assigned_topic() -> None:
    from feedback_nlp.topics.model import _share_fate

    X = np.asarray([[1, 0]] * 5 + [[0, 1]] * 3, dtype=np.float32)
    assert _share_fate(X, np.array([-1, 2, 2, 3, -1, -1, -1, -1])).tolist() == [2] * 5 + [-1] * 3


def test_a_fit_that_finds_no_cluster_says_what_to_try() -> None:
    """30 unrelated texts and --min-topic-size 15: HDBSCAN finds nothing; the fit says so (it used
    to crash in BERTopic's save with KeyError: 0)."""
    encoder = FakeEncoder()
    rng = np.random.default_rng(5)
    letters = list("abcdefghijklmnopqrstuvwxyz")
    texts = [" ".join("".join(rng.choice(letters, 7)) for _ in range(6)) for _ in range(30)]
    with pytest.raises(InputError, match=r"no topics found in 30 texts .*try --min-topic-size 5"):
        TopicModel.fit(texts, encoder.encode(texts), embed=encoder.encode, config=TopicConfig(min_topic_size=15))


def test_too_few_texts_are_refused_before_any_work() -> None:
    from feedback_nlp.topics.model import check_fit_size

    with pytest.raises(InputError, match=r"at least 30 texts .* got 12\. Give more feedback or try --min-topic-size 2"):
        check_fit_size(12, TopicConfig(min_topic_size=15))
    check_fit_size(30, TopicConfig(min_topic_size=15))


def test_bertopics_warnings_that_say_nothing_to_users_are_silenced(fitted: Fitted, tmp_path: Path, caplog) -> None:  # noqa: ANN001
    with caplog.at_level(logging.WARNING, logger="BERTopic"):
        fitted.model.save(tmp_path / "m", encoder=FINGERPRINT)
        logging.getLogger("BERTopic").warning("Using a custom list of topic assignments may lead to errors")
        logging.getLogger("BERTopic").warning("something else")
    messages = [r.getMessage() for r in caplog.records if r.name == "BERTopic"]
    assert messages == ["something else"]


@pytest.fixture(scope="module")
def fitted_small() -> Fitted:
    """4 groups x 20 texts (under 100 texts), fitted with two seed names."""
    return _fit(20)


NAMING_CASES = [
    pytest.param("fitted_small", id="80-texts"),
    pytest.param("fitted", id="160-texts"),
]


@pytest.mark.parametrize("run_name", NAMING_CASES)
def test_fit_names_the_delivery_topic_from_its_seed(run_name: str, request: pytest.FixtureRequest) -> None:
    run: Fitted = request.getfixturevalue(run_name)
    topic = run.model._by_id[run.topic_of("delivery")]
    assert (topic.label, topic.seeded) == ("delivery delay", True), run.model.topic_table()
    # The other seed names a topic only if one is close to it: never a topic of another group.
    for other in run.model.topics:
        if other.seeded and other.id != topic.id:
            assert other.label == "refund or return" and other.id == run.topic_of("refund")


@pytest.mark.parametrize("run_name", NAMING_CASES)
def test_each_group_topic_is_named_with_its_own_words(run_name: str, request: pytest.FixtureRequest) -> None:
    run: Fitted = request.getfixturevalue(run_name)
    names = {group: run.model.label(run.topic_of(group)) for group in GROUPS}
    missing = {
        g: label for g, label in names.items() if not set(re.findall(r"[a-z]+", label)) & set(TOPIC_VOCABULARY[g])
    }
    assert not missing, f"labels without a word of their group: {missing} (all: {names})"


def test_a_topic_of_bare_praise_is_named_for_what_it_is() -> None:
    """Answers like "Great, thank you" name no thing; the topic says they are praise without details."""
    encoder = FakeEncoder()
    texts, groups = topic_corpus(("delivery", "refund", "praise"), 40, filler_words=0)
    model, assignments = TopicModel.fit(texts, encoder.encode(texts), embed=encoder.encode, config=CONFIG)
    topics = [a.topic for a in assignments]
    praise = Counter(t for t, g in zip(topics, groups, strict=True) if g == "praise" and t != OUTLIER)
    assert model.label(praise.most_common(1)[0][0]) == "general praise, no details", model.topic_table()


@pytest.fixture(scope="module")
def praise_twice() -> Fitted:
    """Two groups, and bare praise in two sets of words: clusters that name nothing in two forms."""
    encoder = FakeEncoder()
    texts, groups = topic_corpus(("delivery", "refund", "praise", "praise_other_words"), 40, filler_words=0)
    X = encoder.encode(texts)
    model, assignments = TopicModel.fit(texts, X, embed=encoder.encode, config=CONFIG)
    return Fitted(encoder, texts, groups, X, model, [a.topic for a in assignments])


def test_clusters_that_name_nothing_the_same_way_are_one_topic(praise_twice: Fitted) -> None:
    run = praise_twice
    praise = [t for t in run.model.topics if t.label.startswith("general praise")]
    assert [t.label for t in praise] == ["general praise, no details"], run.model.topic_table()
    [topic] = praise
    assert (run.model.row_topics == topic.id).sum() >= 2, "the topic keeps a centroid for each cluster"
    for group in ("praise", "praise_other_words"):
        counts = Counter(t for t, g in zip(run.topics, run.groups, strict=True) if g == group)
        assert counts[topic.id] >= 0.9 * 40, (group, counts)
    assert topic.count == run.topics.count(topic.id)
    # Assigned again, each cluster's texts go back to the topic through their own centroid.
    again = run.model.assign(run.X)
    praised = [i for i, g in enumerate(run.groups) if g.startswith("praise")]
    assert sum(again[i].topic == topic.id for i in praised) >= 0.95 * len(praised)
    assert all(again[i].confidence > 0.5 for i in praised if again[i].topic == topic.id)


def test_a_topic_of_several_centroids_survives_save_and_load(praise_twice: Fitted, tmp_path: Path) -> None:
    run = praise_twice
    run.model.save(tmp_path / "m", encoder=FINGERPRINT)
    loaded = TopicModel.load(tmp_path / "m", encoder=FINGERPRINT, embed=run.encoder.encode)
    np.testing.assert_array_equal(loaded.row_topics, run.model.row_topics)
    np.testing.assert_array_equal(loaded.row_keys, run.model.row_keys)
    assert loaded.assign(run.X) == run.model.assign(run.X)


def test_update_adds_new_answers_that_name_nothing_to_that_topic(praise_twice: Fitted) -> None:
    """Bare praise in a third set of words is a new centroid of the praise topic, not a new topic."""
    run = praise_twice
    texts = [
        f"{a} {b} {c}"
        for a in ("nice", "happy", "pleased")
        for b in ("fab", "cool", "super")
        for c in ("glad", "kudos", "terrific")
    ]
    delivery, _ = topic_corpus(("delivery",), 27, seed=5)
    batch = texts + delivery
    model, assignments = run.model.update(batch, run.encoder.encode(batch), embed=run.encoder.encode)
    [praise] = [t for t in model.topics if t.label.startswith("general praise")]
    assert not any(t.is_new for t in model.topics if "praise" in t.label), model.topic_table()
    assert sum(a.topic == praise.id for a in assignments[: len(texts)]) >= 0.9 * len(texts), model.topic_table()
    assert len(model.row_topics) > len(run.model.row_topics), "the new cluster kept its own centroid"
    assert min(model.row_keys[len(run.model.row_keys) :]) > max(run.model.row_keys), "row keys are never reused"


def test_a_format_1_model_loads_with_a_centroid_a_topic(saved: Path, tmp_path: Path, fitted: Fitted) -> None:
    from safetensors.numpy import load_file, save_file

    old = _copy(saved, tmp_path)
    tensors = load_file(str(old / CENTROIDS_FILE))
    save_file({"centroids": tensors["centroids"], "mean": tensors["mean"]}, str(old / CENTROIDS_FILE))
    manifest = json.loads((old / MANIFEST).read_text())
    manifest["format"] = 1
    manifest["files"][CENTROIDS_FILE] = hashlib.sha256((old / CENTROIDS_FILE).read_bytes()).hexdigest()
    (old / MANIFEST).write_text(json.dumps(manifest))
    loaded = TopicModel.load(old, encoder=FINGERPRINT, embed=fitted.encoder.encode)
    assert loaded.row_topics.tolist() == [t.id for t in loaded.topics]
    assert loaded.assign(fitted.X) == fitted.model.assign(fitted.X)


def test_zero_shot_seeds_keep_their_closest_texts_assigned(with_outliers: dict[float, Fitted]) -> None:
    """With zero-shot seed topics on, a text that matches a seed name best must not end up unassigned."""
    run = with_outliers[0.15]
    best = [i for i, t in enumerate(run.texts) if {"delivery", "delay"} <= set(t.split())]
    assert best, "the corpus has texts holding both seed words"
    unassigned = [run.texts[i] for i in best if run.topics[i] == OUTLIER]
    assert not unassigned, f"{len(unassigned)} of {len(best)} texts holding both seed words are unassigned"


BERTOPIC_STYLE = re.compile(r"^-?\d+_|_")


def test_labels_are_readable_and_unique(fitted: Fitted) -> None:
    labels = [t.label for t in fitted.model.topics]
    assert len(labels) == len(set(labels)), labels
    for label in labels:
        assert label and label == label.strip(), repr(label)
        assert not BERTOPIC_STYLE.search(label), label
        assert re.search(r"[a-z]", label), label
        assert len(label) <= 80, label
        assert label != OUTLIER_LABEL
        for part in label.split(" / "):
            words = part.removesuffix(")").split()
            assert words and len(words) == len(set(words)), f"a word repeated in {label!r}"
    assert all(fitted.model.label(t.id) == t.label for t in fitted.model.topics)
    assert fitted.model.label(OUTLIER) == OUTLIER_LABEL


def test_fit_with_too_few_texts_names_the_option() -> None:
    encoder = FakeEncoder()
    texts, _ = topic_corpus(GROUPS, 4)  # 16 texts, min_topic_size 10 needs 20
    with pytest.raises(InputError, match="--min-topic-size") as info:
        TopicModel.fit(texts, encoder.encode(texts), embed=encoder.encode, config=CONFIG)
    assert "20" in str(info.value) and "16" in str(info.value)


def test_fit_rejects_embeddings_that_do_not_match_the_texts() -> None:
    encoder = FakeEncoder()
    texts, _ = topic_corpus(GROUPS, 10)
    with pytest.raises(InputError, match="one per text"):
        TopicModel.fit(texts, encoder.encode(texts[:-1]), embed=encoder.encode, config=CONFIG)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"min_topic_size": 1},
        {"max_outlier_share": 1.5},
        {"max_outlier_share": -0.1},
        {"max_topic_share": 0.0},
        {"max_topic_share": 1.5},
    ],
)
def test_config_rejects_bad_values(kwargs: dict) -> None:
    with pytest.raises(InputError, match=next(iter(kwargs))):
        TopicConfig(**kwargs)


# -- assign ------------------------------------------------------------------------------------


def test_assign_puts_a_new_delivery_text_in_the_delivery_topic(fitted: Fitted) -> None:
    [a] = fitted.model.assign(fitted.encoder.encode(["the courier lost my parcel and the delivery was late"]))
    assert a.topic == fitted.topic_of("delivery")
    assert a.label == fitted.model.label(a.topic)
    assert 0.0 <= a.confidence <= 1.0 and a.confidence > fitted.model.min_similarity - 1e-6


def test_assign_leaves_an_unrelated_text_unassigned(fitted: Fitted) -> None:
    [a] = fitted.model.assign(fitted.encoder.encode(["zebra quantum violin orbit"]))
    assert (a.topic, a.label, a.confidence) == (OUTLIER, OUTLIER_LABEL, 0.0)


def test_assign_agrees_with_fit_on_the_fitted_texts(fitted: Fitted) -> None:
    assigned = [a.topic for a in fitted.model.assign(fitted.X)]
    agree = np.mean([a == b for a, b in zip(assigned, fitted.topics, strict=True)])
    assert agree >= 0.9, Counter(zip(fitted.topics, assigned, strict=True))
    assert all(0.0 <= a.confidence <= 1.0 for a in fitted.model.assign(fitted.X))


def test_assign_of_nothing_is_nothing(fitted: Fitted) -> None:
    assert fitted.model.assign(np.zeros((0, fitted.X.shape[1]), dtype=np.float32)) == []


# -- save / load -------------------------------------------------------------------------------


def test_save_load_round_trip_gives_identical_assignments(fitted: Fitted, saved: Path) -> None:
    loaded = TopicModel.load(saved, encoder=FINGERPRINT, embed=fitted.encoder.encode)
    assert loaded.topic_table() == fitted.model.topic_table()
    assert loaded.min_similarity == pytest.approx(fitted.model.min_similarity)
    assert loaded.assign(fitted.X) == fitted.model.assign(fitted.X)
    assert loaded.bertopic is not None


def test_manifest_describes_the_model(fitted: Fitted, saved: Path) -> None:
    manifest = json.loads((saved / MANIFEST).read_text(encoding="utf-8"))
    assert manifest["format"] == TOPICS_FORMAT
    assert manifest["encoder"] == FINGERPRINT
    assert manifest["corpus"] == {"n_texts": len(fitted.texts), "fingerprint": corpus_fingerprint(fitted.texts)}
    assert manifest["topics"] == fitted.model.topic_table()
    assert manifest["source"] == "tests"
    assert manifest["config"]["min_topic_size"] == CONFIG.min_topic_size
    files = manifest["files"]
    assert CENTROIDS_FILE in files and any(name.startswith("bertopic/") for name in files)
    on_disk = {p.relative_to(saved).as_posix() for p in saved.rglob("*") if p.is_file()} - {MANIFEST}
    assert set(files) == on_disk
    for name, digest in files.items():
        assert hashlib.sha256((saved / name).read_bytes()).hexdigest() == digest


def test_corpus_fingerprint_ignores_order_only() -> None:
    assert corpus_fingerprint(["a", "b"]) == corpus_fingerprint(["b", "a"])
    assert corpus_fingerprint(["a", "b"]) != corpus_fingerprint(["a", "c"])


def test_saved_folder_holds_no_pickles(saved: Path) -> None:
    files = [p for p in saved.rglob("*") if p.is_file()]
    assert not [p for p in files if p.suffix in {".pkl", ".pickle", ".joblib", ".bin", ".pt"}]
    for path in files:
        assert not path.read_bytes().startswith(b"\x80"), f"{path} looks pickled"
    assert list((saved / "bertopic").glob("*.safetensors")), "BERTopic's own files are safetensors"


def _append_byte(folder: Path) -> str:
    with (folder / CENTROIDS_FILE).open("ab") as fh:
        fh.write(b"\0")
    return "changed since it was saved"


def _remove_file(folder: Path) -> str:
    (folder / "bertopic" / "topics.json").unlink()
    return "missing"


def _other_format(folder: Path) -> str:
    manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    manifest["format"] = TOPICS_FORMAT + 1
    (folder / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    return f"format {TOPICS_FORMAT + 1}"


def _broken_manifest(folder: Path) -> str:
    (folder / MANIFEST).write_text("{not json", encoding="utf-8")
    return "not valid JSON"


def _no_manifest(folder: Path) -> str:
    (folder / MANIFEST).unlink()
    return "Expected a topic model"


@pytest.mark.parametrize("damage", [_append_byte, _remove_file, _other_format, _broken_manifest, _no_manifest])
def test_load_refuses_a_damaged_model(damage, saved: Path, tmp_path: Path) -> None:  # noqa: ANN001
    folder = _copy(saved, tmp_path)
    message = damage(folder)
    with pytest.raises(BundleError) as info:
        TopicModel.load(folder, encoder=FINGERPRINT)
    assert message in str(info.value)
    assert str(folder) in str(info.value)


def test_load_refuses_a_model_of_another_encoder(saved: Path) -> None:
    other = hashlib.sha256(b"another encoder").hexdigest()
    with pytest.raises(BundleError, match="other encoder") as info:
        TopicModel.load(saved, encoder=other)
    assert "refit" in str(info.value)
    TopicModel.load(saved, encoder=FINGERPRINT)  # the right one loads


def test_save_over_an_existing_model_replaces_it_whole(fitted: Fitted, saved: Path, tmp_path: Path) -> None:
    target = _copy(saved, tmp_path)
    (target / "stray.txt").write_text("left over", encoding="utf-8")
    fitted.model.save(target, encoder=FINGERPRINT)
    assert not (target / "stray.txt").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["copy"], "no staging or backup folder left behind"
    TopicModel.load(target, encoder=FINGERPRINT)


# -- update ------------------------------------------------------------------------------------


@dataclass
class Updated:
    texts: list[str]
    groups: list[str]
    X: np.ndarray
    model: TopicModel
    topics: list[int]


def _update(fitted: Fitted, groups: tuple[str, ...], seed: int) -> Updated:
    texts, names = topic_corpus(groups, 30, seed=seed)
    X = fitted.encoder.encode(texts)
    model, assignments = fitted.model.update(texts, X, embed=fitted.encoder.encode)
    return Updated(texts, names, X, model, [a.topic for a in assignments])


@pytest.fixture(scope="module")
def updated(fitted: Fitted) -> Updated:
    """A batch of 30 texts of a known group (delivery) and 30 of a new one (parking)."""
    return _update(fitted, ("delivery", "parking"), seed=11)


@pytest.fixture(scope="module")
def updated_two_new(fitted: Fitted) -> Updated:
    """A batch of two new groups (parking, billing), 30 texts each."""
    return _update(fitted, ("parking", "billing"), seed=12)


@pytest.mark.parametrize("batch", ["updated", "updated_two_new"])
def test_update_keeps_existing_topics(batch: str, fitted: Fitted, request: pytest.FixtureRequest) -> None:
    run: Updated = request.getfixturevalue(batch)
    old = {t.id: t for t in fitted.model.topics}
    kept = {t.id: t for t in run.model.topics if t.id in old}
    assert set(kept) == set(old)
    for topic_id, topic in kept.items():
        assert (topic.label, topic.seeded, topic.is_new) == (old[topic_id].label, old[topic_id].seeded, False)
        assert topic.count >= old[topic_id].count
    # The texts the model was fitted on keep their topics.
    assert run.model.assign(fitted.X) == fitted.model.assign(fitted.X)


def test_update_keeps_known_group_texts_in_their_topic(fitted: Fitted, updated: Updated) -> None:
    delivery = fitted.topic_of("delivery")
    before = [a.topic for a in fitted.model.assign(updated.X)]
    rows = [i for i, g in enumerate(updated.groups) if g == "delivery"]
    for i in rows:
        if before[i] != OUTLIER:
            assert updated.topics[i] == before[i], updated.texts[i]
        assert updated.topics[i] in (delivery, OUTLIER), (updated.texts[i], updated.topics[i])
    assert sum(updated.topics[i] == delivery for i in rows) >= len(rows) / 2


def test_update_finds_a_new_topic_for_a_new_group(fitted: Fitted, updated: Updated) -> None:
    new = [t for t in updated.model.topics if t.is_new]
    assert new, updated.model.topic_table()
    parking = Counter(t for t, g in zip(updated.topics, updated.groups, strict=True) if g == "parking")
    topic, n = parking.most_common(1)[0]
    assert topic in {t.id for t in new} and n >= 0.8 * 30


def test_update_adds_flagged_topics_for_new_groups(fitted: Fitted, updated_two_new: Updated) -> None:
    run = updated_two_new
    old_ids = {t.id for t in fitted.model.topics}
    new = {t.id: t for t in run.model.topics if t.is_new}
    assert len(new) >= 2, run.model.topic_table()
    assert min(new) > max(old_ids), "new topics get ids after the existing ones"
    labels = [t.label for t in run.model.topics]
    assert len(labels) == len(set(labels))
    for group in ("parking", "billing"):
        counts = Counter(t for t, g in zip(run.topics, run.groups, strict=True) if g == group)
        topic, n = counts.most_common(1)[0]
        assert topic in new and n >= 0.8 * 30, (group, counts)
        assert set(re.findall(r"[a-z]+", new[topic].label)) & set(TOPIC_VOCABULARY[group]), new[topic].label
        assert new[topic].count == sum(t == topic for t in run.topics)
    # New texts are now assigned to the new topics too.
    again = [a.topic for a in run.model.assign(run.X)]
    assert np.mean([a == b for a, b in zip(again, run.topics, strict=True)]) >= 0.8


def test_update_is_recorded_in_the_manifest(fitted: Fitted, updated_two_new: Updated, tmp_path: Path) -> None:
    run = updated_two_new
    manifest = run.model.manifest
    [entry] = manifest["updates"]
    assert entry["n_texts"] == len(run.texts)
    assert entry["new_topics"] == [t.id for t in run.model.topics if t.is_new]
    assert manifest["corpus"]["n_texts"] == len(fitted.texts) + len(run.texts)
    assert manifest["corpus"]["fingerprint"] != fitted.model.manifest["corpus"]["fingerprint"]
    assert "updates" not in fitted.model.manifest, "the original model is left as it was"
    # ... and survives a save and load, with the new topics.
    run.model.save(tmp_path / "m", encoder=FINGERPRINT)
    loaded = TopicModel.load(tmp_path / "m", encoder=FINGERPRINT, embed=fitted.encoder.encode)
    assert loaded.manifest["updates"][0]["new_topics"] == entry["new_topics"]
    assert loaded.topic_table() == run.model.topic_table()
    assert loaded.assign(run.X) == run.model.assign(run.X)


# -- the embedding cache -----------------------------------------------------------------------


def test_cache_embeds_each_text_once(tmp_path: Path) -> None:
    encoder = FakeEncoder()
    texts = ["late delivery", "friendly staff", "late delivery", "app crash"]
    cache = EmbeddingCache(tmp_path / "e" / "embeddings.sqlite", "fp-1")
    first = cache.embed(texts, encoder.encode)
    assert encoder.calls == [["late delivery", "friendly staff", "app crash"]]
    again = EmbeddingCache(tmp_path / "e" / "embeddings.sqlite", "fp-1").embed(texts, encoder.encode)
    assert len(encoder.calls) == 1, "cached texts are not encoded again"
    assert first.dtype == np.float32 and first.shape == (4, encoder.dimension)
    np.testing.assert_array_equal(first, again)
    # A new text among cached ones: only it is encoded.
    cache.embed([*texts, "refund please"], encoder.encode)
    assert encoder.calls[1:] == [["refund please"]]
    np.testing.assert_array_equal(first, FakeEncoder().encode(texts))


def test_cache_hands_freed_heap_back_after_each_chunk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A long topic pass returns each chunk's freed tensor pages (feedback_nlp.memory), as the
    classifier's large calls do."""
    from feedback_nlp.topics import embeddings

    released: list[int] = []
    monkeypatch.setattr(embeddings, "release_free_heap", lambda: released.append(1) or True)
    texts = [f"text {i}" for i in range(5)]
    EmbeddingCache(tmp_path / "embeddings.sqlite", "fp-1").embed(texts, FakeEncoder().encode, chunk_size=2)
    assert len(released) == 3  # chunks of 2, 2 and 1


def test_cache_is_keyed_by_encoder_fingerprint(tmp_path: Path) -> None:
    encoder = FakeEncoder()
    texts = ["late delivery", "friendly staff"]
    path = tmp_path / "embeddings.sqlite"
    EmbeddingCache(path, "fp-1").embed(texts, encoder.encode)
    other = FakeEncoder(seed="another model")
    vectors = EmbeddingCache(path, "fp-2").embed(texts, other.encode)
    assert other.calls == [texts], "another fingerprint recomputes"
    np.testing.assert_array_equal(vectors, other.encode(texts))
    assert EmbeddingCache(path, "fp-1").get([text_key(t) for t in texts]).keys() == {text_key(t) for t in texts}


def test_cache_reports_progress_and_handles_nothing(tmp_path: Path) -> None:
    encoder = FakeEncoder()
    cache = EmbeddingCache(tmp_path / "embeddings.sqlite", "fp")
    done: list[int] = []
    cache.embed([f"text {i}" for i in range(5)], encoder.encode, chunk_size=2, progress=done.append)
    assert sum(done) == 5
    assert cache.embed([], encoder.encode).shape[0] == 0


def test_encoder_fingerprint_follows_the_encoder() -> None:
    base = {"encoder": {"sha256": "abc", "max_seq_length": 128}, "files": {}}
    assert encoder_fingerprint(base) == encoder_fingerprint(json.loads(json.dumps(base)))
    for encoder in ({"sha256": "abd", "max_seq_length": 128}, {"sha256": "abc", "max_seq_length": 256}):
        assert encoder_fingerprint(base) != encoder_fingerprint({**base, "encoder": encoder})
    tuned = {**base, "files": {"encoder_layers.safetensors": "f00d"}}
    assert encoder_fingerprint(base) != encoder_fingerprint(tuned)
    # What the heads are does not matter: same encoder, same embeddings.
    assert encoder_fingerprint(base) == encoder_fingerprint({**base, "name": "other", "version": "2"})


# -- the pipeline ------------------------------------------------------------------------------


def test_pipeline_fills_topics_when_a_model_is_attached(fake_pipeline, fitted: Fitted) -> None:  # noqa: ANN001
    text = "My parcel delivery was late and the courier lost it. The staff were friendly, helpful and kind."
    assert fake_pipeline.topic_model is None
    fake_pipeline.use_topics(fitted.model)
    try:
        [prediction] = fake_pipeline.predict_texts([text], kind="review")
    finally:
        fake_pipeline.use_topics(None)
    assert prediction.topic is not None
    assert prediction.topic.label == fitted.model.label(prediction.topic.id)
    assert 0.0 <= prediction.topic.confidence <= 1.0
    assert len(prediction.segments) == 2
    first, second = (s.topic for s in prediction.segments)
    assert first is not None and first.id == fitted.topic_of("delivery")
    assert second is not None and second.id == fitted.topic_of("staff")
    assert first.label == fitted.model.label(first.id)


def test_pipeline_without_a_model_has_no_topics(fake_pipeline) -> None:  # noqa: ANN001
    assert fake_pipeline.topic_model is None
    [prediction] = fake_pipeline.predict_texts(["My parcel delivery was late. The staff were kind."], kind="review")
    assert prediction.topic is None
    assert all(s.topic is None for s in prediction.segments)


# -- the cap on a topic's share -----------------------------------------------------------------


def test_max_cluster_size_follows_the_share_but_never_below_two_topics() -> None:
    from feedback_nlp.topics.model import _max_cluster_size

    assert _max_cluster_size(3000, TopicConfig()) == 1200
    assert _max_cluster_size(50, TopicConfig(min_topic_size=10)) == 20
    assert _max_cluster_size(3000, TopicConfig(max_topic_share=None)) == 0  # HDBSCAN: no cap


def test_fit_caps_cluster_size_and_update_does_not(fitted: Fitted, monkeypatch: pytest.MonkeyPatch) -> None:
    """A fit on long narratives must not collapse into a few giant topics; an update must still be
    able to find one new theme that is most of its batch."""
    import hdbscan

    import feedback_nlp.topics.model as model_module

    made: list[dict] = []
    real = hdbscan.HDBSCAN

    def spy(**kwargs):  # type: ignore[no-untyped-def]
        made.append(kwargs)
        return real(**kwargs)

    monkeypatch.setattr(hdbscan, "HDBSCAN", spy)
    texts, groups = topic_corpus(GROUPS, 40)
    model, _ = model_module.TopicModel.fit(
        texts, fitted.encoder.encode(texts), embed=fitted.encoder.encode, seeds=SEEDS, config=CONFIG
    )
    assert made[-1]["max_cluster_size"] == int(0.4 * len(texts)) and not made[-1]["allow_single_cluster"]

    new_texts, _ = topic_corpus(("parking",), 30, seed=11)
    model.update(new_texts, fitted.encoder.encode(new_texts), embed=fitted.encoder.encode)
    assert made[-1]["max_cluster_size"] == 0 and made[-1]["allow_single_cluster"]


def test_a_fresh_fit_saved_over_a_model_leaves_the_old_assignments_behind(fitted: Fitted, tmp_path: Path) -> None:
    target = tmp_path / "model"
    fitted.model.save(target, encoder=FINGERPRINT)
    (target / "assignments-update-20260101T000000Z.jsonl").write_text('{"topic": 7}\n', encoding="utf-8")
    fitted.model.save(target, encoder=FINGERPRINT)  # a refit: its topic ids are not the old model's
    assert not list(target.glob("assignments-update-*.jsonl"))


def test_a_topic_model_is_never_saved_over_a_folder_of_other_files(fitted: Fitted, tmp_path: Path) -> None:
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep", encoding="utf-8")
    with pytest.raises(InputError, match="already holds other files"):
        fitted.model.save(tmp_path / "mine", encoder=FINGERPRINT)
    assert (tmp_path / "mine" / "notes.txt").read_text(encoding="utf-8") == "keep"
