"""Builders for tests: a hash-based fake encoder and a tiny, real model bundle on disk.

The bundle is written the way ``Trainer._write`` writes one (``new_bundle``, ``heads.save``,
the taxonomy as JSON, a README and a manifest), so loading it goes through the same checks as
a trained bundle, only with a fake encoder and forty hand-written texts.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from feedback_nlp.encoders.spans import SegmentedVectors
from feedback_nlp.heads.heads import TaskHeads
from feedback_nlp.heads.linear import MultiLabelHead, SoftmaxHead
from feedback_nlp.settings import Settings
from feedback_nlp.storage.bundle import new_bundle
from feedback_nlp.storage.loading import CARD_FILE, TAXONOMY_FILE
from feedback_nlp.taxonomy.keywords import KeywordMatcher
from feedback_nlp.taxonomy.labels import SENTIMENT_LABELS, Taxonomy
from feedback_nlp.taxonomy.records import LabelScore, Prediction
from feedback_nlp.text import prepare_texts
from feedback_nlp.train.data import TrainingTable

_WORD = re.compile(r"\w+")


class FakeEncoder:
    """Deterministic bag-of-words embeddings: each lower-cased word is a fixed random vector.

    A word's vector is a standard normal draw seeded by ``sha256(seed:word)``; a text's embedding
    is the sum over its words, L2-normalised (all zeros for a text without words). Texts that
    share words are close, so "love"/"great" and "terrible"/"late" are linearly separable.

    Args:
        dimension: embedding length.
        seed: mixed into every word's hash; a different seed gives a different "model".
    """

    def __init__(self, dimension: int = 64, seed: str = "feedback-nlp-tests") -> None:
        self.dimension = dimension
        self.seed = seed
        self.weights_sha256 = hashlib.sha256(f"fake-encoder:{seed}:{dimension}".encode()).hexdigest()
        self.location = "fake:hash-bag-of-words"
        self.max_seq_length: int | None = None
        #: Lanes gain nothing from copies of a fake (lanes tests ask for them explicitly).
        self.copyable_per_thread = False
        self.calls: list[list[str]] = []
        self.segmented_calls: list[list[list[str]]] = []
        self.side: Any = None
        self._cache: dict[str, np.ndarray] = {}

    def _word(self, word: str) -> np.ndarray:
        vector = self._cache.get(word)
        if vector is None:
            digest = hashlib.sha256(f"{self.seed}:{word}".encode()).digest()
            rng = np.random.default_rng(int.from_bytes(digest[:8], "little"))
            vector = rng.standard_normal(self.dimension)
            self._cache[word] = vector
        return vector

    def trainable_model(self) -> None:
        """Bag-of-words vectors: nothing to fine-tune."""
        return None

    def encode(self, texts: Sequence[str], **_: Any) -> np.ndarray:
        """Embed ``texts`` as float32, shape (len(texts), dimension); every call is recorded."""
        texts = list(texts)
        self.calls.append(texts)
        return self._vectors(texts)

    def _vectors(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dimension), dtype=np.float64)
        for row, text in enumerate(texts):
            for word in _WORD.findall(text.lower()):
                out[row] += self._word(word)
            norm = np.linalg.norm(out[row])
            if norm > 0:
                out[row] /= norm
        return out.astype(np.float32)

    def encode_segmented(self, segmented: Sequence[Sequence[str]], *, side: bool = False) -> SegmentedVectors:
        """Bag-of-words vectors of each text (its segments joined) and of each segment; recorded
        in :attr:`segmented_calls` (a bag of words has no context, so pooling is exact here).
        With ``side`` and a side encoder attached, its vectors of the joined texts."""
        self.segmented_calls.append([list(segments) for segments in segmented])
        joined = [" ".join(segments) for segments in segmented]
        texts = self._vectors(joined)
        segments = self._vectors([segment for segments in segmented for segment in segments])
        side_vectors = self.side.encode(joined) if side and self.side is not None else None
        return SegmentedVectors(texts, segments, side_vectors)

    def attach_side(self, side: Any) -> int:  # noqa: ANN401
        """Attach any encoder as the side one (a fake shares nothing but claims every layer)."""
        self.side = side
        return 0 if side is None else 6


# (text, sentiment, journey stage, touchpoints or None for "unknown")
TINY_EXAMPLES: list[tuple[str, str, str, list[str] | None]] = [
    # positive
    ("I love the app, it is great", "positive", "usage", ["mobile_app"]),
    ("Great staff at the store, lovely people, love it", "positive", "usage", ["in_person"]),
    ("The delivery was fast and great, love it", "positive", "onboarding", ["delivery"]),
    ("Love the new dress, great quality fabric", "positive", "usage", ["product"]),
    ("Great live chat, the agent solved my problem, love it", "positive", "support", ["chat"]),
    ("Excellent website, checkout was easy and great", "positive", "purchase", ["website"]),
    ("Thanks for the quick refund, great and lovely", "positive", "billing", ["billing"]),
    ("Saw your advert and love the offer, great promotion", "positive", "awareness", ["marketing"]),
    ("I would recommend you to everyone, love this company", "positive", "retention", []),
    ("Great prices and lovely plans, excellent choice to compare", "positive", "consideration", ["product"]),
    ("Love the weather today, great sunshine", "positive", "none", []),
    ("Got a promo code by email, great and lovely", "positive", "awareness", ["marketing", "email"]),
    ("Your team replied on twitter, great help, love it", "positive", "support", ["social_media"]),
    ("Thanks a lot, love it, great", "positive", "none", None),
    # negative
    ("Terrible app, it crashes all the time, awful", "negative", "usage", ["mobile_app"]),
    ("The delivery was late, terrible courier", "negative", "onboarding", ["delivery"]),
    ("Awful, I was charged twice on my bill, terrible", "negative", "billing", ["billing"]),
    ("I called three times and was on hold for an hour, terrible", "negative", "support", ["phone"]),
    ("Rude staff at the branch, awful and terrible", "negative", "support", ["in_person"]),
    ("The website login is broken, terrible", "negative", "usage", ["website"]),
    ("Terrible quality, the fabric ripped, awful", "negative", "usage", ["product"]),
    ("I emailed support and never got an answer, awful", "negative", "support", ["email"]),
    ("Cancelling my account, terrible, switching to a competitor", "negative", "retention", []),
    ("Checkout failed and my order was lost, terrible", "negative", "purchase", ["website"]),
    ("The parcel arrived late and damaged, awful", "negative", "onboarding", ["delivery"]),
    ("Hidden fees on the invoice, terrible and awful", "negative", "billing", ["billing"]),
    ("Terrible football match last night, awful", "negative", "none", []),
    ("Messaged on twitter and nobody replied, terrible", "negative", "support", ["social_media"]),
    ("Awful advert, terrible spam offer", "negative", "awareness", ["marketing"]),
    ("Terrible prices, awful plans compared to others", "negative", "consideration", []),
    # neutral
    ("How do I change my delivery address?", "neutral", "onboarding", ["delivery"]),
    ("What are the prices of your plans?", "neutral", "consideration", []),
    ("Is the card available in blue?", "neutral", "consideration", ["product"]),
    ("I would like to book a room for two nights", "neutral", "purchase", ["product"]),
    ("Where is my invoice for March?", "neutral", "billing", ["billing"]),
    ("Can I renew my subscription next month?", "neutral", "retention", []),
    ("How do I set up the app on my phone?", "neutral", "onboarding", ["mobile_app"]),
    ("The football match is on Saturday", "neutral", "none", []),
    ("It is raining in the city today", "neutral", "none", []),
    ("Heard about you from a newsletter", "neutral", "awareness", ["marketing"]),
    ("Please call me back about my complaint", "neutral", "support", ["phone"]),
    ("Order placed online, delivery expected next week", "neutral", "purchase", ["website", "delivery"]),
    ("I use the account every day for transfers", "neutral", "usage", ["product"]),
]


def fake_settings(**overrides: Any) -> Settings:
    """Settings that accept the fake encoder and ignore ``FEEDBACK_NLP_*`` variables that
    would change what the tests load (taxonomy, encoder hash)."""
    values: dict[str, Any] = {"encoder_sha256": FakeEncoder().weights_sha256, "taxonomy_path": None}
    values.update(overrides)
    return Settings(**values)


def encoder_input(text: str, kind: str = "review") -> str:
    """What the encoder sees for a training text: the pipeline's own preparation."""
    return prepare_texts([text], [kind])[0]


def touchpoint_matrix(rows: Sequence[list[str] | None], labels: Sequence[str]) -> np.ndarray:
    """1/0 per label, a whole row of NaN where the touchpoints are unknown."""
    matrix = np.zeros((len(rows), len(labels)), dtype=np.float32)
    for i, row in enumerate(rows):
        if row is None:
            matrix[i] = np.nan
        else:
            for label in row:
                matrix[i, list(labels).index(label)] = 1.0
    return matrix


def fit_tiny_heads(
    encoder: FakeEncoder,
    taxonomy: Taxonomy,
    *,
    examples: Sequence[tuple[str, str, str, list[str] | None]] = TINY_EXAMPLES,
    keyword_features: bool = True,
) -> TaskHeads:
    """Fit the three heads on ``examples`` embedded by ``encoder``."""
    texts = [encoder_input(text) for text, *_ in examples]
    X = encoder.encode(texts)
    X_tp = np.hstack([X, KeywordMatcher(taxonomy).features(texts)]) if keyword_features else X
    sentiment = SoftmaxHead(C=20.0).fit(X, [e[1] for e in examples])
    stage = SoftmaxHead(C=20.0).fit(X, [e[2] for e in examples])
    Y = touchpoint_matrix([e[3] for e in examples], taxonomy.touchpoint_labels)
    touchpoints = MultiLabelHead(C=20.0).fit(X_tp, Y, taxonomy.touchpoint_labels)
    return TaskHeads(sentiment, stage, touchpoints, keyword_features)


def tiny_manifest(
    taxonomy: Taxonomy,
    *,
    encoder_sha256: str | None,
    name: str = "tiny",
    version: str = "20240101T000000Z",
    location: str = "fake:hash-bag-of-words",
) -> dict[str, Any]:
    """A manifest shaped like ``Trainer._manifest`` writes, with no metrics."""
    return {
        "name": name,
        "version": version,
        "taxonomy": {"name": taxonomy.name, "version": taxonomy.version, "fingerprint": taxonomy.fingerprint},
        "labels": {
            "sentiment": list(SENTIMENT_LABELS),
            "journey_stage": taxonomy.stage_labels,
            "touchpoints": taxonomy.touchpoint_labels,
        },
        "encoder": {
            "location": location,
            "sha256": encoder_sha256,
            "max_seq_length": 128,
            "fine_tuned_layers": 0,
        },
    }


def write_bundle(target: Path, heads: TaskHeads, taxonomy: Taxonomy, manifest: dict[str, Any]) -> Path:
    """Write a bundle exactly as ``Trainer._write`` does (without encoder layers or config)."""
    with new_bundle(target) as staging:
        heads.save(staging)
        (staging / TAXONOMY_FILE).write_text(
            json.dumps(taxonomy.model_dump(mode="json"), indent=2) + "\n", encoding="utf-8"
        )
        (staging / CARD_FILE).write_text(
            f"# Model card: {manifest['name']}:{manifest['version']}\n\nA test bundle.\n", encoding="utf-8"
        )
        (staging / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True), encoding="utf-8")
    return target


def build_tiny_bundle(
    target: Path,
    *,
    encoder: FakeEncoder | None = None,
    taxonomy: Taxonomy | None = None,
    encoder_sha256: str | None = "",
    keyword_features: bool = True,
) -> Path:
    """Fit heads on :data:`TINY_EXAMPLES` and write a bundle at ``target``.

    ``encoder_sha256`` goes into the manifest: the fake encoder's own hash by default (pass
    the settings :func:`fake_settings` returns to load it), ``None`` for no recorded hash.
    """
    encoder = encoder or FakeEncoder()
    taxonomy = taxonomy or Taxonomy.default()
    heads = fit_tiny_heads(encoder, taxonomy, keyword_features=keyword_features)
    sha = encoder.weights_sha256 if encoder_sha256 == "" else encoder_sha256
    manifest = tiny_manifest(taxonomy, encoder_sha256=sha)
    return write_bundle(Path(target), heads, taxonomy, manifest)


def check_contract(prediction: Prediction, taxonomy: Taxonomy | None = None) -> None:
    """Assert the invariants every prediction of the output contract must hold."""
    taxonomy = taxonomy or Taxonomy.default()
    sentiment = prediction.sentiment
    assert sentiment.label in SENTIMENT_LABELS
    probabilities = sentiment.probabilities
    assert probabilities is not None and list(probabilities) == list(SENTIMENT_LABELS)
    assert sum(probabilities.values()) == pytest.approx(1.0, abs=2e-4)
    assert all(0.0 <= p <= 1.0 for p in probabilities.values())
    assert sentiment.label == max(probabilities, key=probabilities.__getitem__)
    assert sentiment.score == pytest.approx(probabilities["positive"] - probabilities["negative"], abs=2e-4)
    assert prediction.journey_stage.label in taxonomy.stage_labels
    assert 1.0 / len(taxonomy.stage_labels) - 1e-4 <= prediction.journey_stage.confidence <= 1.0
    _check_touchpoints(prediction.touchpoints, taxonomy)
    assert prediction.segments, "every text has at least one segment"
    for segment in prediction.segments:
        assert segment.sentiment.label in SENTIMENT_LABELS
        assert segment.sentiment.probabilities is None
        assert -1.0 <= segment.sentiment.score <= 1.0
        assert 0 <= segment.start < segment.end
        _check_touchpoints(segment.touchpoints, taxonomy)
    starts = [s.start for s in prediction.segments]
    assert starts == sorted(starts)
    assert prediction.topic is None
    assert prediction.model_version


def _check_touchpoints(touchpoints: list[LabelScore], taxonomy: Taxonomy) -> None:
    labels = [t.label for t in touchpoints]
    assert len(labels) == len(set(labels))
    assert set(labels) <= set(taxonomy.touchpoint_labels)
    confidences = [t.confidence for t in touchpoints]
    assert confidences == sorted(confidences, reverse=True)
    assert all(0.0 <= c <= 1.0 for c in confidences)


# --- The HTTP service on a fake pipeline -------------------------------------------------------

from collections.abc import Iterator as _Iterator  # noqa: E402
from contextlib import contextmanager  # noqa: E402
from dataclasses import dataclass as _dataclass  # noqa: E402
from dataclasses import field as _field  # noqa: E402


@_dataclass
class Service:
    """A running app (TestClient) with one API key per scope."""

    client: object
    app: object
    keys: dict[str, str] = _field(default_factory=dict)

    def auth(self, scope: str = "admin") -> dict[str, str]:
        """Headers carrying the key for ``scope``."""
        return {"Authorization": f"Bearer {self.keys[scope]}"}


@contextmanager
def build_service(database_url: str, pipeline: object, **overrides: object) -> _Iterator[Service]:
    """Start the real app on ``database_url`` with ``pipeline``; keys for every scope."""
    from fastapi.testclient import TestClient

    from feedback_nlp.settings import Settings
    from feedback_nlp.storage.db import init_db, make_session_factory
    from feedback_nlp.storage.keys_repo import SCOPES, create_key
    from feedback_nlp_api.main import create_app

    settings = Settings(database_url=database_url, **overrides)  # type: ignore[arg-type]
    engine = init_db(database_url)
    keys = {}
    with make_session_factory(engine)() as session:
        for scope in SCOPES:
            keys[scope] = create_key(session, f"test-{scope}", [scope]).plaintext
    app = create_app(settings, pipeline=pipeline, engine=engine)  # type: ignore[arg-type]
    with TestClient(app, raise_server_exceptions=False) as client:
        yield Service(client=client, app=app, keys=keys)


# --- Synthetic corpora for topic models --------------------------------------------------------

#: Each group's own words; with :class:`FakeEncoder` texts of one group are close to each other.
TOPIC_VOCABULARY: dict[str, tuple[str, ...]] = {
    "delivery": ("delivery", "delay", "late", "courier", "parcel", "shipping"),
    "refund": ("refund", "return", "money", "back", "reimbursed", "returned"),
    "app": ("app", "crash", "login", "screen", "frozen", "update"),
    "staff": ("staff", "friendly", "helpful", "kind", "polite", "smiling"),
    "parking": ("parking", "car", "space", "park", "spaces", "lot"),
    "billing": ("invoice", "charged", "twice", "bill", "payment", "fee"),
    # Survey answers that praise without naming anything (every word is on the evaluative list).
    "praise": ("great", "excellent", "amazing", "lovely", "brilliant", "thank"),
    # The same kind of answer in other words: a second cluster that names nothing.
    "praise_other_words": ("good", "wonderful", "fantastic", "superb", "perfect", "thanks"),
}
#: Words every group uses.
FILLER_WORDS = ("the", "my", "was", "and", "today", "again", "very", "this", "week", "really", "so", "it")


def topic_corpus(
    groups: Sequence[str] = ("delivery", "refund", "app", "staff"),
    per_group: int = 40,
    *,
    seed: int = 0,
    group_words: int = 4,
    filler_words: int = 2,
) -> tuple[list[str], list[str]]:
    """Distinct short texts in topic groups, shuffled: each text is ``group_words`` words of its
    group's :data:`TOPIC_VOCABULARY` and ``filler_words`` of :data:`FILLER_WORDS`, in random order.

    Returns the texts and each text's group name. The same arguments give the same corpus.
    """
    rng = np.random.default_rng(seed)
    rows: list[tuple[str, str]] = []
    seen: set[str] = set()
    for group in groups:
        made = 0
        while made < per_group:
            words = [
                *rng.choice(TOPIC_VOCABULARY[group], group_words, replace=False),
                *rng.choice(FILLER_WORDS, filler_words, replace=False),
            ]
            rng.shuffle(words)
            text = " ".join(str(w) for w in words)
            if text in seen:
                continue
            seen.add(text)
            rows.append((text, group))
            made += 1
    order = rng.permutation(len(rows))
    return [rows[i][0] for i in order], [rows[i][1] for i in order]


def small_corpus_table() -> TrainingTable:
    """Four rows: two corpus training rows (sources a, b), a mapped row and a held-out corpus row;
    touchpoints phone and website."""
    frame = pd.DataFrame(
        {
            "text": ["Nobody answered the phone", "Great website, Priya in Bristol helped", "Mapped text", "Held out"],
            "source": ["a", "b", "c", "a"],
            "kind": ["survey", "review", "review", "survey"],
            "sentiment": ["negative", "positive", "neutral", "negative"],
            "journey_stage": ["support", "usage", None, "support"],
            "split": ["train", "train", "train", "eval"],
            "weight": [3.0, 3.0, 1.0, 3.0],
            "origin": ["corpus", "corpus", "mapped", "corpus"],
        }
    )
    touchpoints = np.array([[1, 0], [0, 1], [np.nan, np.nan], [1, 0]], dtype=np.float32)
    return TrainingTable(frame, touchpoints, ["phone", "website"], {})
