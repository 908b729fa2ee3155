"""Topic models: BERTopic on the topic space's embeddings, seeded names, capped outliers, safe files.

fit:     embeddings (cached; the space is feedback_nlp/topics/space.py's) -> BERTopic (UMAP + HDBSCAN,
         seed topics as zero-shot topics, c-TF-IDF with KeyBERT-style words) -> outliers folded into
         their nearest topic until at most ``max_outlier_share`` stay unassigned -> names about
         things (naming.py) -> centroids
assign:  an embedding's nearest topic centroid (cosine), unassigned below ``min_similarity``
update:  new texts near a topic join it; the rest are clustered and merged in with
         ``BERTopic.merge_models``: existing topics keep their ids and names, new ones are flagged
save:    BERTopic's safetensors serialisation, our centroids (safetensors) and a manifest with
         file hashes, the space's fingerprint, the corpus fingerprint and the topic table
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import shutil
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from feedback_nlp.errors import BundleError, InputError
from feedback_nlp.storage.artifacts import atomic_dir, sha256_file, sha256_text
from feedback_nlp.topics.manifest import READABLE_TOPICS_FORMATS, TOPICS_FORMAT, CorpusInfo, TopicManifest, UpdateRecord
from feedback_nlp.topics.naming import (
    CONTENT_FREE_NAMES,
    acceptable_name,
    clean_candidates,
    content_free_name,
    content_tokens,
    inflections,
    representation_text,
    vectorizer_stop_words,
    words_of,
)
from feedback_nlp.topics.stages import StageClock

if TYPE_CHECKING:
    from bertopic import BERTopic

logger = logging.getLogger(__name__)

MANIFEST = "manifest.json"
CENTROIDS_FILE = "centroids.safetensors"
NAMING_ASPECT = "KeyBERT"
#: Files ``topics fit`` and ``topics update`` write beside a model; saving over it keeps them.
ASSIGNMENTS_GLOB = "assignments*.jsonl"
BERTOPIC_DIR = "bertopic"
OUTLIER = -1
OUTLIER_LABEL = "unassigned"

EmbedFn = Callable[[Sequence[str]], np.ndarray]

#: BERTopic's warnings that say nothing a user can act on: we recompute representations with our
#: own topic assignments on purpose, and we save without its embedding model on purpose (the
#: model is loaded with its space's encoder, ``feedback_nlp.topics.deploy.load_for``).
QUIET_BERTOPIC_WARNINGS = (
    "Using a custom list of topic assignments",
    "saving a BERTopic model without explicitly defining an embedding model",
)


class _QuietBERTopic(logging.Filter):
    """Drops :data:`QUIET_BERTOPIC_WARNINGS` from BERTopic's logger."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not any(quiet in message for quiet in QUIET_BERTOPIC_WARNINGS)


def _quiet_bertopic() -> None:
    bertopic_logger = logging.getLogger("BERTopic")
    if not any(isinstance(f, _QuietBERTopic) for f in bertopic_logger.filters):
        bertopic_logger.addFilter(_QuietBERTopic())


_quiet_bertopic()


#: The languages, besides English, whose stop words c-TF-IDF leaves out: the commonest in European
#: feedback. Their lists are spaCy's (``spacy.lang.<code>.stop_words``, shipped with spaCy itself,
#: no model needed); without them a Dutch or Spanish cluster was named "ik niet / krijg ik".
STOP_WORD_LANGUAGES = ("nl", "de", "es", "fr", "it", "pt")
#: Words of those lists that are also English words feedback names things with ("car" is French
#: for "because", "sim" Portuguese for "yes"): they stay available to names.
# fmt: off
ENGLISH_HOMOGRAPHS = frozenset({
    "later", "state", "man", "war", "come", "men", "local", "door", "final", "son", "different", "car",
    "non", "total", "stop", "sea", "sent", "press", "possible", "fine", "certain", "male",
    "mayor", "era", "usa", "solo", "premier", "plus", "suit", "net", "favor", "zero", "pure", "relative",
    "hat", "bent", "tag", "nova", "tale", "bat", "tend", "diverse", "comment", "gross", "bin", "min",
    "logo", "sin", "grande", "cent", "eventual", "sue", "tel", "ton", "fin", "vale", "ore", "prof",
    "lang", "toe", "par", "dies", "mon", "dell", "hare", "seize", "tens", "nun", "nuns", "sept", "dire",
    "dice", "elk", "hem", "hue", "lange", "sim", "mag", "mil", "valor", "marche", "font", "fare",
    "tempo", "circa", "casa", "gran", "primera", "bravo", "dan", "ben", "allen", "sara", "otto", "ali",
    "sean", "mine", "don", "bien", "super", "top",
})
# fmt: on


def _foreign_stop_words() -> set[str]:
    """The stop words of :data:`STOP_WORD_LANGUAGES` from spaCy, less :data:`ENGLISH_HOMOGRAPHS`
    (none when spaCy is missing: names in those languages then keep their stop words)."""
    import importlib

    words: set[str] = set()
    for code in STOP_WORD_LANGUAGES:
        try:
            module = importlib.import_module(f"spacy.lang.{code}.stop_words")
        except ImportError:  # pragma: no cover (spaCy is a dependency)
            logger.warning("spaCy's %s stop words are missing; topic names may hold them", code)
            continue
        # Elided forms ("dell'", "qu'") are words to the tokenizer without their apostrophe.
        words |= {w.lower().strip("'’") for w in module.STOP_WORDS}
    return {w for w in words if w} - ENGLISH_HOMOGRAPHS


def _stop_words() -> list[str]:
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    # Words every piece of feedback uses; in a topic name they say nothing.
    # fmt: off
    feedback_words = {
        "need", "needs", "want", "wants", "know", "just", "use", "using", "used", "possible", "help",
        "did", "does", "don't", "doesn't", "didn't", "isn't", "won't", "can't", "i'm", "i've", "it's",
        "get", "got", "like", "way", "make", "thing", "things", "really", "tell", "think", "able",
        "going", "let", "ok", "okay", "yes", "hi", "hello", "thanks", "thank", "please",
    }
    # fmt: on
    return sorted(set(ENGLISH_STOP_WORDS) | feedback_words | _foreign_stop_words())


STOP_WORDS = _stop_words()
#: What c-TF-IDF leaves out: the stop words plus placeholders, swear words and evaluative words
#: (``feedback_nlp.topics.naming``), so topic words and bigrams are the things talked about.
VECTORIZER_STOP_WORDS = vectorizer_stop_words(STOP_WORDS)
#: The name of a topic none of whose words may name it.
FALLBACK_LABEL = "other feedback"
#: How far down a topic's ranked words a seed name's word must appear (see :func:`_leading_words`).
SEED_WORD_RANK = 5
#: The least share of a topic's texts that must use a word of a seed name for the topic to take
#: that name (see :func:`_texts_support`): a diffuse cluster of 100 unrelated tweets, 9 of them
#: about an account, is no "log-in and account access" (on real tweets the seed-named topics had
#: 45-59% of their texts using the seed's words).
SEED_TEXT_SHARE = 0.25
#: Words of a seed name that say only that something went wrong; they never tie it to a topic.
GENERIC_SEED_WORDS = frozenset({"problem", "problems", "issue", "issues", "error", "errors", "failure", "failures"})

#: The stages of a fit, as :class:`~feedback_nlp.topics.stages.StageClock` names them.
REDUCE, CLUSTER, REPRESENT, NAME = "reduce (UMAP)", "cluster (HDBSCAN)", "represent (c-TF-IDF, KeyBERT words)", "name"
FIT_STAGES = (REDUCE, CLUSTER, REPRESENT, NAME)


@dataclass
class TopicConfig:
    """How topics are found. The defaults suit a few hundred to a few hundred thousand short texts.

    Attributes:
        min_topic_size: the smallest cluster HDBSCAN calls a topic.
        seed_min_similarity: with a value, texts at least this close (cosine, corpus mean
            removed) to a seed name join that seed topic before clustering (BERTopic's zero-shot
            topics). Off by default: on BANKING77 it merged distinct intents into coarse seed
            topics (docs/topics.md); names come from ``seed_name_similarity`` instead.
        seed_name_similarity: a discovered topic whose centroid is at least this close to a
            seed name takes that name (each seed names one topic, the closest), so common topics
            keep the same human name from fit to fit.
        max_outlier_share: at most this share of texts stays unassigned after outlier reduction.
        max_topic_share: at fit, no cluster may hold more than this share of the corpus (HDBSCAN's
            ``max_cluster_size``; never below twice ``min_topic_size``; ``None``: no cap). Without
            it, some UMAP seeds collapsed long complaint narratives into a few giant topics; the
            cap stopped that without changing the good fits, and a tighter one gave finer topics
            and a lower NMI (docs/topics.md). Updates do not cap: a batch may bring one new theme.
        merge_similarity: in updates, a new cluster whose centroid is at least this close to an
            existing topic joins it (``BERTopic.merge_models``' ``min_similarity``).
        n_neighbors, n_components: UMAP's neighbourhood and output size.
        label_words: words or phrases in a discovered topic's name.
        verbose: BERTopic logs each step (reduction, clustering, representation) as it goes.
        random_state: seeds UMAP, so a fit is repeatable.
    """

    min_topic_size: int = 10
    verbose: bool = False
    seed_min_similarity: float | None = None
    seed_name_similarity: float = 0.4
    max_outlier_share: float = 0.15
    max_topic_share: float | None = 0.4
    merge_similarity: float = 0.7
    n_neighbors: int = 15
    n_components: int = 5
    label_words: int = 3
    random_state: int = 42

    def __post_init__(self) -> None:
        if self.min_topic_size < 2:
            raise InputError(f"min_topic_size must be at least 2, got {self.min_topic_size}")
        if not 0.0 <= self.max_outlier_share <= 1.0:
            raise InputError(f"max_outlier_share must be within [0, 1], got {self.max_outlier_share}")
        if self.max_topic_share is not None and not 0.0 < self.max_topic_share <= 1.0:
            raise InputError(f"max_topic_share must be within (0, 1] or None, got {self.max_topic_share}")


@dataclass
class Topic:
    """One topic of a fitted model."""

    id: int
    label: str
    count: int
    seeded: bool = False
    is_new: bool = False
    words: list[str] = field(default_factory=list)


@dataclass
class Assignment:
    """The topic of one text."""

    topic: int
    label: str
    confidence: float


class _Embedder:
    """Hands BERTopic our embedding function (for seed names and KeyBERT-style word scoring)."""

    def __new__(cls, embed: EmbedFn) -> Any:
        from bertopic.backend import BaseEmbedder

        class PipelineEmbedder(BaseEmbedder):
            def embed(self, documents: Sequence[str], verbose: bool = False) -> np.ndarray:
                return np.asarray(embed(list(documents)), dtype=np.float32)

        return PipelineEmbedder()


class TopicModel:
    """A fitted topic model: topics with stable ids and names, centroids, and the BERTopic model.

    Build one with :meth:`fit` or :meth:`load`; classify embeddings with :meth:`assign`.

    Examples:
        >>> model, assignments = TopicModel.fit(texts, X, embed=pipeline.embed, seeds=seeds)  # doctest: +SKIP
        >>> model.assign(X[:1])[0].label  # doctest: +SKIP
        'delivery delay'
    """

    def __init__(
        self,
        bertopic: BERTopic | None,
        topics: list[Topic],
        centroids: np.ndarray,
        *,
        min_similarity: float,
        config: TopicConfig,
        mean: np.ndarray | None = None,
        manifest: dict[str, Any] | None = None,
        embed: EmbedFn | None = None,
        row_topics: np.ndarray | Sequence[int] | None = None,
        row_keys: np.ndarray | Sequence[int] | None = None,
    ) -> None:
        self.bertopic = bertopic
        #: Texts -> embeddings in the space the model was fitted in (see :meth:`assign_texts`).
        self.embed = embed
        self.topics = sorted(topics, key=lambda t: t.id)
        self.centroids = np.asarray(centroids, dtype=np.float32)
        #: The fitted corpus' mean embedding, taken off every embedding (see :meth:`center`).
        self.mean = (
            np.zeros(self.centroids.shape[1], dtype=np.float32) if mean is None else np.asarray(mean, np.float32)
        )
        #: The topic of each centroid row: a topic may have several (the clusters of answers that
        #: name nothing, merged into one topic; see :func:`_name_topics`). One a topic by default.
        self.row_topics = np.asarray(
            [t.id for t in self.topics] if row_topics is None else row_topics, dtype=np.int64
        ).reshape(-1)
        #: The cluster id each row had when it was found (BERTopic's topic id): new ids come after all of them.
        self.row_keys = self.row_topics.copy() if row_keys is None else np.asarray(row_keys, dtype=np.int64)
        if self.centroids.shape[0] != len(self.row_topics) or len(self.row_keys) != len(self.row_topics):
            raise ValueError(
                f"{self.centroids.shape[0]} centroids for {len(self.row_topics)} row topics "
                f"and {len(self.row_keys)} row keys"
            )
        if set(self.row_topics.tolist()) != {t.id for t in self.topics}:
            raise ValueError("every topic needs a centroid and every centroid a topic")
        self.min_similarity = float(min_similarity)
        self.config = config
        self.manifest = manifest or {}
        self._by_id = {t.id: t for t in self.topics}

    # -- fitting -----------------------------------------------------------------------------

    @classmethod
    def fit(
        cls,
        texts: Sequence[str],
        embeddings: np.ndarray,
        *,
        embed: EmbedFn,
        seeds: Sequence[str] = (),
        config: TopicConfig | None = None,
        clock: StageClock | None = None,
    ) -> tuple[TopicModel, list[Assignment]]:
        """Fit topics on ``texts`` (normalised, redacted) and their ``embeddings`` in the topic space.

        Returns the model and each text's assignment, in order. ``clock`` times the stages
        (:data:`FIT_STAGES`) and may show them as a progress bar.

        Raises:
            InputError: fewer texts than two topics' worth, or embeddings that do not match.
        """
        config = config or TopicConfig()
        clock = clock or StageClock()
        raw_embeddings = _unit(np.asarray(embeddings, dtype=np.float32))
        _check_corpus(texts, raw_embeddings, config)
        mean = raw_embeddings.mean(axis=0)
        embeddings = _unit(raw_embeddings - mean)

        def centered_embed(batch: Sequence[str]) -> np.ndarray:
            return _unit(_unit(np.asarray(embed(batch), dtype=np.float32)) - mean)

        # c-TF-IDF counts words in the texts without placeholders, handles or links (older stored
        # data may still hold `@user` or `[EMAIL]`); the embeddings are the texts' own.
        shown = [representation_text(t) for t in texts]
        with clock.stage(REPRESENT):  # what UMAP and HDBSCAN leave of BERTopic's fit
            # The KeyBERT-style naming words are computed once, after outlier reduction below: the
            # words of BERTopic's first assignments were thrown away (on 5,000 texts their
            # embeddings took 25 of the fit's 93 s; docs/topics.md, Scale).
            bertopic, raw = _fit_bertopic(
                shown,
                embeddings,
                centered_embed,
                seeds,
                config,
                max_cluster_size=_max_cluster_size(len(texts), config),
                clock=clock,
                represent=False,
            )
        seeded_names = _seeded_names(bertopic, seeds)
        # Identical texts (the same vector) share one fate, whatever HDBSCAN made of each copy.
        topics_arr = _share_fate(embeddings, np.asarray(raw, dtype=int))
        # Seed topics can be tiny (one text close to a seed name): below min_topic_size a topic
        # is not a topic; its texts go back to the outliers and find their topic below.
        sizes = {t: int((topics_arr == t).sum()) for t in set(topics_arr.tolist())}
        dropped = np.array([t != OUTLIER and sizes[t] < config.min_topic_size for t in topics_arr], dtype=bool)
        topics_arr = np.where(dropped, OUTLIER, topics_arr)
        seeded_names = {t: name for t, name in seeded_names.items() if sizes.get(t, 0) >= config.min_topic_size}
        # BERTopic numbers topics 0..k-1 (-1 for outliers); keep its ids.
        ids = sorted(t for t in set(topics_arr.tolist()) if t != OUTLIER)
        if not ids:
            raise _no_topics_found(len(texts), config)
        centroids = _centroids(embeddings, topics_arr, ids)
        if dropped.any() and ids:
            # Their texts were close to a seed, not noise: they join the nearest kept topic.
            nearest = (embeddings[dropped] @ centroids.T).argmax(axis=1)
            topics_arr[dropped] = np.asarray(ids)[nearest]
            centroids = _centroids(embeddings, topics_arr, ids)
        topics_arr = _reduce_outliers(embeddings, topics_arr, ids, centroids, config.max_outlier_share)
        centroids = _centroids(embeddings, topics_arr, ids)
        min_similarity = _inference_threshold(embeddings, centroids, float((topics_arr == OUTLIER).mean()))
        with clock.stage(REPRESENT):
            _refresh_representations(bertopic, shown, topics_arr, config)
        with clock.stage(NAME):

            def members(topic: int) -> list[str]:
                return [texts[int(i)] for i in np.flatnonzero(topics_arr == topic)]

            if seeds:
                seeded_names.update(
                    _names_from_seeds(
                        centroids,
                        ids,
                        seeds,
                        centered_embed,
                        config.seed_name_similarity,
                        taken=seeded_names,
                        words_of=lambda t: _leading_words(bertopic, t),
                        texts_of=members,
                    )
                )
            seeded_names = {
                t: name
                for t, name in seeded_names.items()
                if _shares_words(name, _leading_words(bertopic, t))
                and _texts_support(name, members(t))
                and acceptable_name(name)
            }
            topics, merged_into = _name_topics(bertopic, ids, topics_arr, seeded_names, config.label_words, texts)
        if merged_into:
            topics_arr = np.array([merged_into.get(int(t), int(t)) for t in topics_arr], dtype=int)
        model = cls(
            bertopic,
            topics,
            centroids,
            min_similarity=min_similarity,
            config=config,
            mean=mean,
            embed=embed,
            row_topics=[merged_into.get(t, t) for t in ids],
            row_keys=ids,
        )
        model.manifest = {"corpus": {"n_texts": len(texts), "fingerprint": corpus_fingerprint(texts)}}
        _sync_bertopic(model)
        return model, model._assignments(embeddings, topics_arr)

    def update(
        self, texts: Sequence[str], embeddings: np.ndarray, *, embed: EmbedFn
    ) -> tuple[TopicModel, list[Assignment]]:
        """Fold a new batch into the model without refitting from scratch.

        Texts close to an existing topic join it. The rest are clustered on their own; each new
        cluster close to an existing topic (``merge_similarity``) is merged into it, the others
        become new topics, flagged ``is_new``, with ids after the existing ones
        (``BERTopic.merge_models``). Existing topics keep their ids and names.
        """
        embeddings = self.center(embeddings)
        if len(texts) != embeddings.shape[0]:
            raise InputError(f"{len(texts)} texts but {embeddings.shape[0]} embeddings; give one per text")
        sims = embeddings @ self.centroids.T if len(self.topics) else np.zeros((len(texts), 0))
        nearest = sims.argmax(axis=1) if sims.shape[1] else np.zeros(len(texts), dtype=int)
        best = sims.max(axis=1) if sims.shape[1] else np.full(len(texts), -1.0)
        ids = self.row_topics  # the topic of each centroid row
        assigned = np.where(best >= self.min_similarity, ids[nearest] if len(ids) else OUTLIER, OUTLIER)
        rest = np.flatnonzero(assigned == OUTLIER)
        topics = [Topic(**{**asdict(t), "is_new": False}) for t in self.topics]
        centroids = self.centroids
        row_topics, row_keys = list(self.row_topics.tolist()), list(self.row_keys.tolist())
        bertopic = self.bertopic
        if len(rest) >= 2 * self.config.min_topic_size and bertopic is not None:
            sub_texts = [representation_text(texts[int(i)]) for i in rest]
            # A batch may bring a single new theme: without allow_single_cluster HDBSCAN calls one
            # dense group noise, and the new topic would never appear.
            fresh, raw = _fit_bertopic(
                sub_texts, embeddings[rest], lambda b: self.center(embed(b)), (), self.config, allow_single_cluster=True
            )
            raw_arr = _share_fate(embeddings[rest], np.asarray(raw, dtype=int))
            fresh_ids = sorted(t for t in set(raw_arr.tolist()) if t != OUTLIER)
            if fresh_ids:
                fresh_centroids = _centroids(embeddings[rest], raw_arr, fresh_ids)
                _set_topic_embeddings(fresh, fresh_ids, fresh_centroids, has_outliers=bool((raw_arr == OUTLIER).any()))
                bertopic = _merge(bertopic, fresh, self.config.merge_similarity)
                next_id = max([t.id for t in topics] + row_keys, default=-1) + 1
                similarity = fresh_centroids @ centroids.T if len(topics) else np.zeros((len(fresh_ids), 0))
                mapping: dict[int, int] = {}
                new_rows = []
                for row, fresh_id in enumerate(fresh_ids):
                    if similarity.shape[1] and similarity[row].max() >= self.config.merge_similarity:
                        mapping[fresh_id] = int(ids[int(similarity[row].argmax())])
                        continue
                    members = rest[raw_arr == fresh_id]
                    words = _topic_words(fresh, fresh_id)
                    name = topic_name(
                        _naming_words(fresh, fresh_id), words, self.config.label_words, [texts[int(i)] for i in members]
                    )
                    twin = _content_free_twin(name, topics)
                    if twin is not None:  # more answers that name nothing: another centroid of that topic
                        mapping[fresh_id] = twin.id
                    else:
                        mapping[fresh_id] = next_id
                        topics.append(
                            Topic(next_id, _unique_label(name, topics), len(members), is_new=True, words=words)
                        )
                    new_rows.append(fresh_centroids[row])
                    row_topics.append(mapping[fresh_id])
                    row_keys.append(next_id)
                    next_id += 1
                for i, raw_topic in zip(rest, raw_arr, strict=True):
                    if raw_topic != OUTLIER:
                        assigned[i] = mapping[int(raw_topic)]
                if new_rows:
                    centroids = np.vstack([centroids, np.asarray(new_rows, dtype=np.float32)])
            # What clustering left unassigned but `assign` would place (new topics included) is
            # placed; then, as in fit, the rest joins its nearest topic down to the cap.
            left = np.flatnonzero(assigned == OUTLIER)
            if len(left):
                sims_left = embeddings[left] @ centroids.T
                close = sims_left.max(axis=1) >= self.min_similarity
                assigned[left[close]] = np.asarray(row_topics)[sims_left.argmax(axis=1)[close]]
            assigned = _reduce_outliers(embeddings, assigned, row_topics, centroids, self.config.max_outlier_share)
        counts = {t.id: t.count for t in topics}
        for topic in assigned[assigned != OUTLIER]:
            counts[int(topic)] = counts.get(int(topic), 0) + 1
        for t in topics:
            t.count = counts[t.id] if not t.is_new else int((assigned == t.id).sum())
        model = TopicModel(
            bertopic,
            topics,
            centroids,
            min_similarity=self.min_similarity,
            config=self.config,
            mean=self.mean,
            manifest=dict(self.manifest),
            embed=embed,
            row_topics=row_topics,
            row_keys=row_keys,
        )
        recorded = TopicManifest.parse(self.manifest)
        corpus = recorded.corpus or CorpusInfo()
        model.manifest["corpus"] = CorpusInfo(
            n_texts=corpus.n_texts + len(texts),
            fingerprint=sha256_text(corpus.fingerprint + corpus_fingerprint(texts)),
        ).model_dump()
        update = UpdateRecord(
            at=datetime.now(UTC).isoformat(timespec="seconds"),
            n_texts=len(texts),
            new_topics=[t.id for t in topics if t.is_new],
        )
        model.manifest["updates"] = [u.model_dump(exclude_unset=True) for u in [*recorded.updates, update]]
        _sync_bertopic(model)
        return model, model._assignments(embeddings, assigned)

    # -- inference ---------------------------------------------------------------------------

    def assign(self, embeddings: np.ndarray) -> list[Assignment]:
        """Each embedding's topic: the nearest centroid, or unassigned below ``min_similarity``.

        ``confidence`` is the cosine similarity to that centroid, clipped to [0, 1].
        """
        embeddings = self.center(embeddings)
        if embeddings.shape[0] == 0 or not self.topics:
            return [Assignment(OUTLIER, OUTLIER_LABEL, 0.0) for _ in range(embeddings.shape[0])]
        sims = embeddings @ self.centroids.T
        nearest, best = sims.argmax(axis=1), sims.max(axis=1)
        ids = np.where(best >= self.min_similarity, self.row_topics[nearest], OUTLIER)
        return self._assignments(embeddings, ids)

    def calibrate(self, embeddings: np.ndarray, outlier_share: float) -> None:
        """Set the similarity below which a text stays unassigned so that ``embeddings`` (the
        corpus the model will be used on) leave ``outlier_share`` of their texts unassigned.

        :meth:`fit` sets it on the texts it was fitted on, where every text is a little closer to
        the centroids than new ones are. A model fitted on a sample of a larger corpus is
        calibrated on the whole of it (``reports.build.fit_on``), so the corpus gets the fit's
        outlier share rather than more.
        """
        self.min_similarity = _inference_threshold(self.center(embeddings), self.centroids, outlier_share)

    def assign_texts(self, texts: Sequence[str], pipeline_embeddings: np.ndarray) -> list[Assignment]:
        """Each text's topic, in the space the model was fitted in.

        ``pipeline_embeddings`` are the classifier's own vectors for ``texts``: a model fitted in
        the ``pipeline`` space uses them as they are; a model of any other space (the base
        MiniLM by default) embeds ``texts`` in its own space first, since the classifier's
        vectors are not comparable with its centroids.

        Raises:
            BundleError: the model is of another space and has no embedding function (load it
                with :func:`feedback_nlp.topics.deploy.load_for`).
        """
        if self.space_name == "pipeline":
            return self.assign(pipeline_embeddings)
        if self.embed is None:
            raise BundleError(
                f"This topic model was fitted in the {self.space_name!r} space and cannot place the "
                "classifier's embeddings; load it with feedback_nlp.topics.deploy.load_for(pipeline), "
                "which gives it that space's encoder."
            )
        if len(texts) == 0:
            return []
        return self.assign(np.asarray(self.embed(list(texts)), dtype=np.float32))

    def center(self, embeddings: np.ndarray) -> np.ndarray:
        """Unit embeddings less the fitted corpus' mean, renormalised.

        Fine-tuned sentence embeddings crowd into a narrow cone (any two texts have a cosine
        near 0.8), which makes fixed similarity thresholds meaningless; measured from the
        corpus mean, unrelated texts are near 0 again.
        """
        x = np.asarray(embeddings, dtype=np.float32)
        if x.ndim != 2:
            raise InputError(f"expected a 2-d array of embeddings, got shape {x.shape}")
        if x.shape[0] == 0:
            return x
        return _unit(_unit(x) - self.mean)

    def label(self, topic_id: int) -> str:
        """The human name of ``topic_id`` (``unassigned`` for -1)."""
        return OUTLIER_LABEL if topic_id == OUTLIER else self._by_id[topic_id].label

    def _assignments(self, embeddings: np.ndarray, topic_ids: np.ndarray) -> list[Assignment]:
        topic_ids = np.asarray(topic_ids, dtype=np.int64)
        # Each text's similarity to its topic: to the nearest of that topic's centroids.
        similarity = np.full(len(topic_ids), -1.0, dtype=np.float32)
        for centroid, topic in zip(self.centroids, self.row_topics, strict=True):
            members = np.flatnonzero(topic_ids == topic)
            if len(members):
                similarity[members] = np.maximum(similarity[members], embeddings[members] @ centroid)
        out = []
        for topic, value in zip(topic_ids.tolist(), similarity.tolist(), strict=True):
            if topic == OUTLIER:
                out.append(Assignment(OUTLIER, OUTLIER_LABEL, 0.0))
            else:
                out.append(Assignment(topic, self.label(topic), round(min(max(value, 0.0), 1.0), 4)))
        return out

    # -- files -------------------------------------------------------------------------------

    def save(self, target: str | Path, *, encoder: str, extra: dict[str, Any] | None = None) -> Path:
        """Write the model to ``target`` atomically (an existing model there is replaced, its assignments files kept).

        Args:
            target: the folder.
            encoder: the pipeline's :func:`~feedback_nlp.topics.embeddings.encoder_fingerprint`.
            extra: more manifest entries (the command and its input, say).
        """
        from safetensors.numpy import save_file

        target = Path(target)
        with atomic_dir(target, replaces=(MANIFEST, "topic model")) as staging:
            if self.bertopic is not None:
                self.bertopic.save(
                    str(staging / BERTOPIC_DIR),
                    serialization="safetensors",
                    save_ctfidf=self.bertopic.c_tf_idf_ is not None,
                    save_embedding_model=False,
                )
            save_file(
                {
                    "centroids": self.centroids,
                    "mean": self.mean,
                    "row_topics": self.row_topics,
                    "row_keys": self.row_keys,
                },
                str(staging / CENTROIDS_FILE),
            )
            manifest = TopicManifest.parse(
                {
                    **self.manifest,
                    **(extra or {}),
                    "format": TOPICS_FORMAT,
                    "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
                    "encoder": encoder,
                    "config": asdict(self.config),
                    "min_similarity": self.min_similarity,
                    "topics": [asdict(t) for t in self.topics],
                    "files": _hash_tree(staging),
                },
                source=f"the manifest of topic model {target}",
            )
            manifest.write(staging)
            if target.is_dir() and self.manifest.get("updates"):
                # An updated model: the assignments written by its fit and earlier updates describe
                # texts it still holds, so they move into the new folder untouched (anything else
                # goes). A fresh fit has other topic ids: the old assignments go with the old model.
                for extra_file in target.glob(ASSIGNMENTS_GLOB):
                    if extra_file.is_file() and not (staging / extra_file.name).exists():
                        shutil.copy2(extra_file, staging / extra_file.name)
            for path in [staging, *staging.rglob("*")]:
                path.chmod(0o755 if path.is_dir() else 0o644)
        self.manifest = manifest.to_json()
        return target

    @classmethod
    def load(cls, path: str | Path, *, encoder: str | None = None, embed: EmbedFn | None = None) -> TopicModel:
        """Load a saved model, checking its files and, when given, the encoder it was fitted on.

        Raises:
            BundleError: not a topic model folder, a damaged or changed file, another format,
                or an encoder other than ``encoder``.
        """
        from safetensors.numpy import load_file

        path = Path(path)
        manifest_path = path / MANIFEST
        if not manifest_path.is_file():
            raise BundleError(
                f"Expected a topic model at {path} (a folder with {MANIFEST}), found none. "
                "Fit one with `feedback-nlp topics fit INPUT -o DIR --deploy`, "
                "or deploy a fitted one with `feedback-nlp topics deploy DIR`."
            )
        try:
            data = json.loads(manifest_path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise BundleError(f"{manifest_path} is not valid JSON ({exc}); the topic model is damaged.") from exc
        found_format = data.get("format") if isinstance(data, dict) else None
        if found_format not in READABLE_TOPICS_FORMATS:
            raise BundleError(
                f"{path} has topic model format {found_format!r}; this version reads formats "
                f"{', '.join(map(str, READABLE_TOPICS_FORMATS))}. Refit it with `feedback-nlp topics fit`."
            )
        manifest = TopicManifest.parse(data, source=str(manifest_path))
        if manifest.min_similarity is None:
            raise BundleError(
                f"{manifest_path} records no min_similarity (expected the number the model was fitted with); "
                "the topic model is damaged. Refit it with `feedback-nlp topics fit`."
            )
        expected = manifest.files
        actual = _hash_tree(path, exclude={MANIFEST})
        for name, digest in expected.items():
            if name not in actual:
                raise BundleError(f"Topic model file {path / name} is missing; the folder is incomplete. Refit it.")
            if actual[name] != digest:
                raise BundleError(
                    f"Topic model file {path / name} has changed since it was saved (sha256 mismatch); "
                    "refit the model or restore the file."
                )
        if encoder is not None and manifest.encoder != encoder:
            raise BundleError(
                f"Topic model {path} was fitted on other encoder embeddings ({str(manifest.encoder)[:12]}...) "
                f"than the loaded pipeline's ({encoder[:12]}...); refit it with `feedback-nlp topics fit`."
            )
        tensors = load_file(str(path / CENTROIDS_FILE))
        centroids = tensors["centroids"]
        bertopic = None
        if (path / BERTOPIC_DIR).is_dir():
            from bertopic import BERTopic

            bertopic_logger = logging.getLogger("BERTopic")
            level = bertopic_logger.level
            if embed is None:
                # Listing or reading topics needs no encoder; BERTopic would warn that none is given.
                bertopic_logger.setLevel(logging.ERROR)
            try:
                bertopic = BERTopic.load(str(path / BERTOPIC_DIR), embedding_model=_Embedder(embed) if embed else None)
            finally:
                bertopic_logger.setLevel(level)
        known = set(TopicConfig.__dataclass_fields__)
        config = TopicConfig(**{k: v for k, v in manifest.config.items() if k in known})
        topics = [Topic(**t) for t in manifest.topics]
        return cls(
            bertopic,
            topics,
            centroids,
            min_similarity=manifest.min_similarity,
            config=config,
            mean=tensors.get("mean"),
            manifest=manifest.to_json(),
            embed=embed,
            row_topics=tensors.get("row_topics"),
            row_keys=tensors.get("row_keys"),
        )

    @property
    def space_name(self) -> str:
        """The embedding space the model was fitted in (``feedback_nlp.topics.space``); models
        from before issue 16 name none and were fitted on the pipeline's encoder."""
        return TopicManifest.parse(self.manifest).space or "pipeline"

    def topic_table(self) -> list[dict[str, Any]]:
        """The topics as rows: id, label, count, seeded, is_new, words."""
        return [asdict(t) for t in self.topics]


# -- helpers ----------------------------------------------------------------------------------


def corpus_fingerprint(texts: Sequence[str]) -> str:
    """sha256 over the texts' hashes, order-independent: the same corpus gives the same value."""
    digest = hashlib.sha256()
    for key in sorted(sha256_text(t) for t in texts):
        digest.update(key.encode())
    return digest.hexdigest()


def _unit(x: np.ndarray) -> np.ndarray:
    if x.ndim != 2:
        raise InputError(f"expected a 2-d array of embeddings, got shape {x.shape}")
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.maximum(norms, 1e-12)


def _check_corpus(texts: Sequence[str], embeddings: np.ndarray, config: TopicConfig) -> None:
    if len(texts) != embeddings.shape[0]:
        raise InputError(f"{len(texts)} texts but {embeddings.shape[0]} embeddings; give one per text")
    check_fit_size(len(texts), config)


def check_fit_size(n_texts: int, config: TopicConfig) -> None:
    """Refuse a corpus too small to hold two topics of ``config.min_topic_size`` texts, before
    anything is embedded or fitted.

    Raises:
        InputError: fewer than twice ``min_topic_size`` texts; the message names a size that fits.
    """
    needed = 2 * config.min_topic_size
    if n_texts < needed:
        raise InputError(
            f"Fitting topics needs at least {needed} texts (twice --min-topic-size {config.min_topic_size}), "
            f"got {n_texts}. Give more feedback"
            + (f" or try --min-topic-size {smaller_topic_size(n_texts)}" if n_texts >= 4 else "")
            + "."
        )


def smaller_topic_size(n_texts: int, current: int | None = None) -> int:
    """A ``--min-topic-size`` to suggest for ``n_texts`` texts: a sixth of them, and a third of
    ``current`` when given (at least 2).

    >>> smaller_topic_size(30), smaller_topic_size(30, 15), smaller_topic_size(120, 15), smaller_topic_size(5)
    (5, 5, 5, 2)
    """
    size = max(2, n_texts // 6)
    if current is not None:
        size = min(size, max(2, current // 3))
    return size


def _no_topics_found(n_texts: int, config: TopicConfig) -> InputError:
    """The error of a fit in which HDBSCAN found no cluster at all."""
    if config.min_topic_size > 2:
        hint = f"try --min-topic-size {smaller_topic_size(n_texts, config.min_topic_size)}, or give more feedback"
    else:
        hint = "give more feedback, or texts that share more themes"
    return InputError(
        f"no topics found in {n_texts} texts with --min-topic-size {config.min_topic_size} "
        f"(every text was left unassigned); {hint}."
    )


def _max_cluster_size(n: int, config: TopicConfig) -> int:
    """HDBSCAN's ``max_cluster_size`` for a fit on ``n`` texts (0: no cap)."""
    if config.max_topic_share is None:
        return 0
    return max(int(config.max_topic_share * n), 2 * config.min_topic_size)


def _fit_bertopic(
    texts: list[str],
    embeddings: np.ndarray,
    embed: EmbedFn,
    seeds: Sequence[str],
    config: TopicConfig,
    *,
    allow_single_cluster: bool = False,
    max_cluster_size: int = 0,
    clock: StageClock | None = None,
    represent: bool = True,
) -> tuple[BERTopic, list[int]]:
    """BERTopic fitted on ``embeddings``; ``represent=False`` leaves out the KeyBERT-style naming
    words (c-TF-IDF words only), for a caller that recomputes them anyway."""
    from bertopic import BERTopic
    from hdbscan import HDBSCAN
    from sklearn.feature_extraction.text import CountVectorizer
    from umap import UMAP

    n = len(texts)
    n_neighbors = max(2, min(config.n_neighbors, n - 1))
    zero_shot = bool(seeds) and config.seed_min_similarity is not None
    umap_model = UMAP(
        n_neighbors=n_neighbors,
        n_components=min(config.n_components, max(2, n - 2)),
        min_dist=0.0,
        metric="cosine",
        random_state=config.random_state,
        low_memory=True,
        # The exact neighbours, found here with one matrix product per block: UMAP's own search
        # (NNDescent, or numba-compiled pairwise distances below 4,096 texts) spent most of the
        # reduction compiling and searching (76.6 CPU s against 21.2 on 6,000 texts,
        # docs/topics.md, Scale). Zero-shot seed topics need UMAP's search index (BERTopic
        # transforms the texts left after them), so they keep UMAP's own search.
        precomputed_knn=(None, None, None) if zero_shot else (*exact_cosine_neighbors(embeddings, n_neighbors), None),
    )
    hdbscan_model = HDBSCAN(
        min_cluster_size=config.min_topic_size,
        metric="euclidean",
        cluster_selection_method="eom",
        prediction_data=False,
        allow_single_cluster=allow_single_cluster,
        max_cluster_size=max_cluster_size,
    )
    if clock is not None:
        # BERTopic calls these itself: each is timed as its own stage, inside the caller's.
        for method in ("fit", "transform", "fit_transform"):
            setattr(umap_model, method, clock.wrap(REDUCE, getattr(umap_model, method)))
        for method in ("fit", "fit_predict"):
            setattr(hdbscan_model, method, clock.wrap(CLUSTER, getattr(hdbscan_model, method)))
    # min_df=1: c-TF-IDF fits the vectorizer on one document per topic, so min_df counts topics
    # and 2 would drop every word that belongs to a single topic, the very words that name it.
    # The tokenizer drops swear words, evaluative words and filler in every form (plurals, "fkn",
    # "amazingggg"); the stop words take the rest. Words of any script count ("für", "está").
    vectorizer = CountVectorizer(
        stop_words=VECTORIZER_STOP_WORDS, ngram_range=(1, 2), min_df=1, tokenizer=content_tokens, token_pattern=None
    )
    model = BERTopic(
        embedding_model=_Embedder(embed),
        umap_model=umap_model,
        hdbscan_model=hdbscan_model,
        vectorizer_model=vectorizer,
        # Topic words stay c-TF-IDF's (what co-occurs); names come from KeyBERT-style words,
        # the candidates closest to the topic's own texts.
        representation_model=_naming_representation(config) if represent else None,
        zeroshot_topic_list=(list(seeds) or None) if config.seed_min_similarity is not None else None,
        zeroshot_min_similarity=config.seed_min_similarity if config.seed_min_similarity is not None else 0.7,
        calculate_probabilities=False,
        verbose=config.verbose,
    )
    with warnings.catch_warnings():
        # UMAP warns that a model given its neighbours cannot transform new texts: ours never do.
        warnings.filterwarnings("ignore", message=r"precomputed_knn\[2\]", category=UserWarning)
        try:
            topics, _ = model.fit_transform(texts, embeddings)
        except ValueError as exc:
            if "empty vocabulary" not in str(exc):
                raise
            raise InputError(
                f"None of the {n} texts holds a word a topic could be named by (only emoji, numbers, links, "
                "stop words, swear words or words of feeling); fit topics on feedback that says what it is about."
            ) from None
    return model, [int(t) for t in topics]


def exact_cosine_neighbors(embeddings: np.ndarray, k: int, *, block: int = 1024) -> tuple[np.ndarray, np.ndarray]:
    """Each unit row's ``k`` nearest rows by cosine distance, itself first, and those distances.

    Blocks of ``block`` rows at a time, so memory stays at ``block`` x n similarities. UMAP takes
    the result as ``precomputed_knn`` (indices int64, distances float32, ascending).

    >>> x = np.array([[1, 0], [0.8, 0.6], [0, 1]], dtype=np.float32)
    >>> idx, dist = exact_cosine_neighbors(x, 2)
    >>> idx.tolist(), dist.astype(float).round(2).tolist()
    ([[0, 1], [1, 0], [2, 1]], [[0.0, 0.2], [0.0, 0.2], [0.0, 0.4]])
    """
    x = np.ascontiguousarray(embeddings, dtype=np.float32)
    n = x.shape[0]
    k = min(k, n)
    indices = np.empty((n, k), dtype=np.int64)
    distances = np.empty((n, k), dtype=np.float32)
    for start in range(0, n, block):
        stop = min(start + block, n)
        sims = x[start:stop] @ x.T
        rows = np.arange(stop - start)
        sims[rows, rows + start] = np.inf  # itself first, even among exact duplicates
        part = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        order = np.argsort(-np.take_along_axis(sims, part, axis=1), axis=1, kind="stable")
        chosen = np.take_along_axis(part, order, axis=1)
        sims[rows, rows + start] = 1.0
        indices[start:stop] = chosen
        distances[start:stop] = np.clip(1.0 - np.take_along_axis(sims, chosen, axis=1), 0.0, 2.0)
    return indices, distances


def _seeded_names(bertopic: BERTopic, seeds: Sequence[str]) -> dict[int, str]:
    """Topic id -> seed name for the topics BERTopic created from the seed list."""
    mapping = getattr(bertopic, "_topic_id_to_zeroshot_topic_idx", None) or {}
    return {int(topic): seeds[int(index)] for topic, index in mapping.items() if int(index) < len(seeds)}


def _names_from_seeds(
    centroids: np.ndarray,
    ids: Sequence[int],
    seeds: Sequence[str],
    embed: EmbedFn,
    min_similarity: float,
    *,
    taken: dict[int, str],
    words_of: Callable[[int], list[str]] | None = None,
    texts_of: Callable[[int], Sequence[str]] | None = None,
) -> dict[int, str]:
    """Seed names for discovered topics whose centroid is close to one; closest pairs first, one topic per seed.

    With ``words_of``, a topic takes a seed's name only if its own words share one with the
    name (see :func:`_shares_words`): embeddings alone call a banking topic "size and fit".
    With ``texts_of``, also only if enough of its texts use a word of the name
    (:func:`_texts_support`).
    """
    seed_vectors = _unit(np.asarray(embed(list(seeds)), dtype=np.float32))
    sims = centroids @ seed_vectors.T
    used = set(taken.values())
    names: dict[int, str] = {}
    pairs = sorted(((sims[r, c], r, c) for r in range(len(ids)) for c in range(len(seeds))), reverse=True)
    for similarity, r, c in pairs:
        if similarity < min_similarity:
            break
        topic = int(ids[r])
        if topic in taken or topic in names or seeds[c] in used:
            continue
        if words_of is not None and not _shares_words(seeds[c], words_of(topic)):
            continue
        if texts_of is not None and not _texts_support(seeds[c], texts_of(topic)):
            continue
        names[topic] = seeds[c]
        used.add(seeds[c])
    return names


def _centroids(embeddings: np.ndarray, topics: np.ndarray, ids: Sequence[int]) -> np.ndarray:
    if not ids:
        return np.zeros((0, embeddings.shape[1]), dtype=np.float32)
    rows = [embeddings[topics == t].mean(axis=0) for t in ids]
    return _unit(np.asarray(rows, dtype=np.float32))


def _reduce_outliers(
    embeddings: np.ndarray, topics: np.ndarray, ids: Sequence[int], centroids: np.ndarray, max_share: float
) -> np.ndarray:
    """Fold outliers into their nearest topic, most similar first, until at most ``max_share`` remain.

    Identical texts (the same vector) are folded or left together: where the cap falls inside a
    group of copies, the whole group is folded, so no copy stays unassigned while another is placed.
    """
    topics = topics.copy()
    outliers = np.flatnonzero(topics == OUTLIER)
    if not len(ids) or not len(outliers):
        return topics
    keep = int(np.floor(max_share * len(topics)))  # outliers allowed to stay
    n_fold = max(0, len(outliers) - keep)
    if n_fold == 0:
        return topics
    unique, group = np.unique(embeddings[outliers], axis=0, return_inverse=True)
    group = group.reshape(-1)
    sims = unique @ centroids.T  # once per distinct vector: copies get the very same numbers
    nearest, best = sims.argmax(axis=1)[group], sims.max(axis=1)[group]
    order = np.lexsort((group, -best))  # most similar first; copies next to each other
    cut = n_fold
    while cut < len(order) and group[order[cut]] == group[order[cut - 1]]:
        cut += 1  # the cap fell inside a group of copies: fold the rest of it too
    fold = order[:cut]
    topics[outliers[fold]] = np.asarray(ids)[nearest[fold]]
    logger.info("outliers: %d of %d texts folded into topics, %d left", cut, len(topics), len(outliers) - cut)
    return topics


def _share_fate(embeddings: np.ndarray, topics: np.ndarray) -> np.ndarray:
    """``topics`` with every group of identical vectors in one topic: the commonest among the
    group's assigned copies (the lowest id on a tie), unassigned only if every copy was.

    >>> x = np.array([[1, 0], [1, 0], [1, 0], [0, 1]], dtype=np.float32)
    >>> _share_fate(x, np.array([-1, 3, 3, 2])).tolist()
    [3, 3, 3, 2]
    """
    topics = np.asarray(topics, dtype=int).copy()
    if len(topics) < 2:
        return topics
    _, group, counts = np.unique(embeddings, axis=0, return_inverse=True, return_counts=True)
    group = group.reshape(-1)
    for g in np.flatnonzero(counts > 1):
        rows = np.flatnonzero(group == g)
        labels = topics[rows]
        if (labels == labels[0]).all():
            continue
        assigned = labels[labels != OUTLIER]
        values, votes = np.unique(assigned, return_counts=True)
        topics[rows] = int(values[votes.argmax()])
    return topics


def _inference_threshold(embeddings: np.ndarray, centroids: np.ndarray, outlier_share: float) -> float:
    """The similarity to the nearest centroid below which a new text stays unassigned.

    Chosen so that the fitted corpus itself would leave ``outlier_share`` of its texts
    unassigned: new feedback that looks like the corpus gets the same rate.
    """
    if not len(centroids):
        return 1.0
    best = (embeddings @ centroids.T).max(axis=1)
    if outlier_share <= 0:
        return float(best.min()) - 1e-6
    return float(np.quantile(best, outlier_share))


def _naming_representation(config: TopicConfig) -> dict[str, Any]:
    """BERTopic's representation models: the KeyBERT-style words names come from."""
    from bertopic.representation import KeyBERTInspired

    return {NAMING_ASPECT: KeyBERTInspired(top_n_words=10, nr_repr_docs=5, random_state=config.random_state)}


def _refresh_representations(bertopic: BERTopic, texts: list[str], topics: np.ndarray, config: TopicConfig) -> None:
    """Recompute c-TF-IDF and the words of each topic (KeyBERT-style naming words included) for
    the assignments after outlier reduction."""
    bertopic.update_topics(
        texts,
        topics=topics.tolist(),
        representation_model=_naming_representation(config),
        vectorizer_model=bertopic.vectorizer_model,
    )


def _topic_words(bertopic: BERTopic, topic_id: int) -> list[str]:
    """A topic's c-TF-IDF words, best first."""
    words = bertopic.get_topic(topic_id) or []
    return [w for w, _ in words if isinstance(w, str) and w.strip()]


def _naming_words(bertopic: BERTopic, topic_id: int) -> list[str]:
    """The words a topic is named from: the KeyBERT-style aspect, else the c-TF-IDF words."""
    aspect = (getattr(bertopic, "topic_aspects_", None) or {}).get(NAMING_ASPECT, {}).get(topic_id)
    words = [w for w, _ in aspect or [] if isinstance(w, str) and w.strip()]
    return words or _topic_words(bertopic, topic_id)


def _leading_words(bertopic: BERTopic, topic_id: int) -> list[str]:
    """What a topic is mostly about: its first :data:`SEED_WORD_RANK` c-TF-IDF and naming words.

    A seed name must share a word with these, not with any of the topic's words: a topic of
    credit-report disputes has "credit card" ninth among its words, and is no "card problem".
    """
    return _topic_words(bertopic, topic_id)[:SEED_WORD_RANK] + _naming_words(bertopic, topic_id)[:SEED_WORD_RANK]


def _shares_words(name: str, words: Sequence[str]) -> bool:
    """Whether a seed name and a topic's words share a content word (compared on their first 5 letters).

    Words that say only that something went wrong (:data:`GENERIC_SEED_WORDS`: problem, issue,
    error, failure) do not count: "card problem" must share "card".

    >>> _shares_words("staff friendliness", ["friendly staff", "helpful"])
    True
    >>> _shares_words("size and fit", ["card", "top-up", "pending"])
    False
    >>> _shares_words("card problem", ["credit report", "problem", "dispute"])
    False
    """

    def roots(text: str) -> set[str]:
        return {
            w[:5]
            for w in re.findall(r"[a-z][a-z'-]+", text.lower())
            if w not in STOP_WORDS and w not in GENERIC_SEED_WORDS and len(w) > 2
        }

    topic_roots: set[str] = set()
    for word in words:
        topic_roots |= roots(word)
    return bool(roots(name) & topic_roots)


def _seed_roots(word: str) -> set[str]:
    """What a word is compared on when a seed name meets a topic's texts: the first 5 letters of
    it and of what it may inflect ("logged", "login" -> log; "sizes" -> size; "fitting" -> fit).

    >>> sorted(_seed_roots("logged"))
    ['log', 'logg', 'logge']
    """
    return {form[:5] for form in inflections(word.replace("'", "")) if len(form) >= 3}


def _texts_support(name: str, texts: Sequence[str]) -> bool:
    """Whether at least :data:`SEED_TEXT_SHARE` of a topic's ``texts`` use a content word of the
    seed ``name`` (compared by :func:`_seed_roots`; generic words such as "problem" do not count).

    >>> _texts_support("log-in and account access", ["can't log in", "account locked", "parcel late", "hi"])
    True
    >>> _texts_support("log-in and account access", ["parcel late", "game crashed", "bill", "fee", "my account"])
    False
    """
    if not texts:
        return False
    names = [w for w in re.findall(r"[a-z]+", name.lower()) if len(w) > 2 and w not in STOP_WORDS]
    roots = {root for w in names if w not in GENERIC_SEED_WORDS for root in _seed_roots(w)}
    if not roots:
        return False
    using = sum(any(roots & _seed_roots(w) for w in words_of(representation_text(t))) for t in texts)
    return using >= SEED_TEXT_SHARE * len(texts)


def _stem(word: str) -> str:
    """A crude singular: enough to see that 'rates' and 'rate' name the same thing."""
    word = word.replace("'", "")
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def _label_from_words(words: Sequence[str], n: int) -> str:
    """A readable name from a topic's ranked words and phrases: phrases first, nothing said twice.

    A candidate is skipped when every word in it (singular or plural) is already in the name,
    so 'exchange rate', 'rate exchange' and 'exchange rates' give one entry.

    >>> _label_from_words(["card", "card declined", "declined", "atm", "cash"], 3)
    'card declined / atm / cash'
    >>> _label_from_words(["exchange rate", "rate exchange", "exchange rates", "fee"], 3)
    'exchange rate / fee'
    """
    candidates = [re.sub(r"\s+", " ", w.strip().lower()) for w in words if w and w.strip()]
    # Phrases move ahead of the single words ranked up to two places before them.
    ranked = [w for _, w in sorted(enumerate(candidates), key=lambda iw: iw[0] - (2.5 if " " in iw[1] else 0))]
    chosen: list[str] = []
    covered: set[str] = set()
    for word in ranked:
        stems = {_stem(part) for part in word.split(" ")}
        if stems <= covered:
            continue
        # A phrase replaces a single word it contains.
        chosen = [c for c in chosen if not (" " not in c and _stem(c) in stems)]
        chosen.append(word)
        covered |= stems
        if len(chosen) == n:
            break
    return " / ".join(chosen) if chosen else "miscellaneous"


def topic_name(naming_words: Sequence[str], topic_words: Sequence[str], n: int, texts: Sequence[str] = ()) -> str:
    """A discovered topic's name: its KeyBERT-style words, then its c-TF-IDF words, each cleaned
    by :func:`~feedback_nlp.topics.naming.clean_candidates` (no placeholder, number, swear word
    or mood), phrases first, nothing said twice.

    A topic most of whose ``texts`` name no thing is named by what they do instead
    (:func:`~feedback_nlp.topics.naming.content_free_name`: "nothing to add", "general praise,
    no details"), whatever words c-TF-IDF found in the rest; ``other feedback`` when no word is
    left and the texts do not agree.

    >>> topic_name(["awful customer", "worst customer service", "hold"], ["user", "shit"], 3)
    'customer service / hold'
    >>> topic_name(["great", "love", "amazing"], ["user", "http"], 3)
    'other feedback'
    >>> topic_name(["great", "love", "amazing"], [], 3, texts=["Great, love it", "Amazing!"])
    'general praise, no details'
    """
    content_free = content_free_name(texts, STOP_WORDS)
    if content_free is not None:
        return content_free
    cleaned = clean_candidates([*naming_words, *topic_words], STOP_WORDS)
    label = _label_from_words(cleaned, n) if cleaned else FALLBACK_LABEL
    return label if label != "miscellaneous" else FALLBACK_LABEL


def _content_free_twin(label: str, topics: Sequence[Topic]) -> Topic | None:
    """The topic already named ``label`` when that is a name for answers that name nothing.

    Such answers cluster by their form ("None.", "No.", "Nothing"), so several clusters get the
    same name; they are one topic with a centroid each. (Merged into one centroid instead, a
    quarter of them were assigned elsewhere again: docs/topics.md.)

    >>> _content_free_twin("nothing to add", [Topic(0, "nothing to add", 3)])
    Topic(id=0, label='nothing to add', count=3, seeded=False, is_new=False, words=[])
    >>> _content_free_twin("parcel late", [Topic(0, "parcel late", 3)]) is None
    True
    """
    if label not in CONTENT_FREE_NAMES:
        return None
    return next((t for t in topics if t.label == label), None)


def _unique_label(label: str, topics: Sequence[Topic]) -> str:
    """``label``, numbered when another topic has it: "parcel late (2)"."""
    taken = {t.label for t in topics}
    if label not in taken:
        return label
    k = 2
    while f"{label} ({k})" in taken:
        k += 1
    return f"{label} ({k})"


def _name_topics(
    bertopic: BERTopic,
    ids: Sequence[int],
    topics: np.ndarray,
    seeded: dict[int, str],
    n_words: int,
    texts: Sequence[str],
) -> tuple[list[Topic], dict[int, int]]:
    """Name each cluster; clusters of answers that name nothing under the same name become one
    topic (the first, BERTopic's largest). Returns the topics and ``{merged cluster: its topic}``."""
    named: list[Topic] = []
    merged_into: dict[int, int] = {}
    for topic_id in ids:
        words = _topic_words(bertopic, topic_id)
        members = [texts[int(i)] for i in np.flatnonzero(topics == topic_id)]
        # Texts that name nothing are named for that, whatever seed their centroid lies near.
        free = content_free_name(members, STOP_WORDS)
        seed = None if free else seeded.get(topic_id)
        label = free or seed or topic_name(_naming_words(bertopic, topic_id), words, n_words)  # free: checked
        twin = _content_free_twin(label, named)
        if twin is not None:
            twin.count += len(members)
            merged_into[topic_id] = twin.id
            continue
        named.append(Topic(topic_id, _unique_label(label, named), len(members), seeded=seed is not None, words=words))
    return named, merged_into


def _set_topic_embeddings(bertopic: BERTopic, ids: Sequence[int], centroids: np.ndarray, *, has_outliers: bool) -> None:
    rows = centroids
    if has_outliers:
        rows = np.vstack([np.zeros((1, centroids.shape[1]), dtype=np.float32), centroids])
    bertopic.topic_embeddings_ = rows


def _sync_bertopic(model: TopicModel) -> None:
    """Make the BERTopic object agree with ours: names as custom labels, our centroids. BERTopic
    keeps a topic of several centroids as several topics with one name."""
    if model.bertopic is None:
        return
    known = sorted(model.bertopic.topic_labels_) if model.bertopic.topic_labels_ else []
    has_outliers = OUTLIER in known
    keys = model.row_keys.tolist()
    if [t for t in known if t != OUTLIER] == keys:
        labels = {key: model.label(topic) for key, topic in zip(keys, model.row_topics.tolist(), strict=True)}
        model.bertopic.set_topic_labels({**({OUTLIER: OUTLIER_LABEL} if has_outliers else {}), **labels})
        _set_topic_embeddings(model.bertopic, keys, model.centroids, has_outliers=has_outliers)


def _merge(base: BERTopic, fresh: BERTopic, min_similarity: float) -> BERTopic:
    from bertopic import BERTopic

    merged = BERTopic.merge_models([base, fresh], min_similarity=min_similarity, embedding_model=base.embedding_model)
    return merged


def _hash_tree(folder: Path, exclude: set[str] | None = None) -> dict[str, str]:
    exclude = exclude or {MANIFEST}
    out = {}
    for path in sorted(folder.rglob("*")):
        name = path.relative_to(folder).as_posix()
        if path.is_file() and name not in exclude:
            out[name] = sha256_file(path)
    return out
