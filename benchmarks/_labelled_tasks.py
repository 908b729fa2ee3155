"""Labelled tasks built from ``../shared/data`` for the custom-taxonomy and active-learning
benchmarks, and an embedding cache shared by their runs.

Not a benchmark itself. Tasks:

- ``hotel_stay``: NLU++ hotel messages, their multi-label intents grouped into five stages of a
  stay by fixed rules (:func:`hotel_stage`), the spec ``examples/custom_taxonomy/hotel_stay.yaml``.
  Messages whose intents name no stage (greetings, "yes", bare dates) are left out.
- ``support_requests``: Bitext customer-support requests (synthetic), their 11 categories,
  the spec ``examples/custom_taxonomy/support_requests.yaml``; ``per_label`` texts a category.
- ``tweet_sentiment``: TweetEval sentiment (negative / neutral / positive), real tweets.

Texts of the gold set are left out of every task (:func:`feedback_nlp.train.data.gold_key`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from _common import REPO_ROOT

SPEC_DIR = REPO_ROOT / "examples" / "custom_taxonomy"

_FACILITIES = {
    "restaurant",
    "swimming_pool",
    "parking",
    "pets",
    "accesibility",
    "wifi",
    "gym",
    "spa",
    "room_ammenities",
    "housekeeping",
    "room_service",
}


def hotel_stage(intents: Sequence[str]) -> str | None:
    """The stage of an NLU++ hotel message from its intents; None when no stage is named.

    The first rule that applies wins: a problem, then a change to or cancellation of an existing
    booking (or a refund), then check-in/out, then a new booking, then facilities and services.
    """
    found = set(intents)
    if found & {"wrong_notworking_notshowing", "lost_stolen"}:
        return "problem"
    if ("booking" in found and found & {"change", "cancel_close_leave_freeze", "existing"}) or "refund" in found:
        return "change_cancel"
    if found & {"check_in", "check_out"}:
        return "arrival_departure"
    if "booking" in found:
        return "booking"
    if found & _FACILITIES:
        return "amenities"
    return None


@dataclass
class Task:
    """Texts with one label each, and the spec naming and describing the labels."""

    name: str
    texts: list[str]
    labels: list[str]
    spec_path: Path | None
    about: str

    def label_counts(self) -> dict[str, int]:
        return dict(sorted(pd.Series(self.labels).value_counts().items()))


def _without_gold(frame: pd.DataFrame, data_dir: Path) -> pd.DataFrame:
    from feedback_nlp.train.data import gold_key
    from feedback_nlp.train.datasets import load_gold

    gold_path = data_dir / "gold" / "dev.jsonl"
    if not gold_path.exists():
        return frame
    keys = {gold_key(t) for t in load_gold(gold_path)["text"]}
    return frame[~frame["text"].map(gold_key).isin(keys)]


def hotel_stay_task(data_dir: Path) -> Task:
    from feedback_nlp.train.datasets import load_nlupp_hotels

    frame = _without_gold(load_nlupp_hotels(data_dir), data_dir)
    frame = frame.assign(label=[hotel_stage(i) for i in frame["intents"]]).dropna(subset=["label"])
    frame = frame.drop_duplicates(subset="text")
    return Task(
        "hotel_stay",
        frame["text"].tolist(),
        frame["label"].tolist(),
        SPEC_DIR / "hotel_stay.yaml",
        "NLU++ hotel messages, intents grouped into five stages of a stay",
    )


def support_requests_task(data_dir: Path, *, per_label: int = 150, seed: int = 0) -> Task:
    from feedback_nlp.train.datasets import load_bitext

    frame = _without_gold(load_bitext(data_dir), data_dir).drop_duplicates(subset="text")
    parts = [group.sample(n=min(per_label, len(group)), random_state=seed) for _, group in frame.groupby("category")]
    sample = pd.concat(parts)
    return Task(
        "support_requests",
        sample["text"].tolist(),
        sample["category"].tolist(),
        SPEC_DIR / "support_requests.yaml",
        f"Bitext support requests (synthetic), 11 categories, {per_label} a category",
    )


def tweet_sentiment_task(data_dir: Path, *, size: int = 3000, seed: int = 0) -> Task:
    from feedback_nlp.train.datasets import load_tweeteval

    frame = _without_gold(load_tweeteval(data_dir), data_dir).drop_duplicates(subset="text")
    frame = frame.sample(n=min(size, len(frame)), random_state=seed)
    names = {"0": "negative", "1": "neutral", "2": "positive"}
    return Task(
        "tweet_sentiment",
        frame["text"].tolist(),
        [names[v] for v in frame["native_label"]],
        None,
        f"TweetEval sentiment (real tweets), {size} sampled",
    )


def stratified_split(labels: Sequence[str], test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Positions of a stratified (pool, test) split."""
    from sklearn.model_selection import train_test_split

    positions = np.arange(len(labels))
    pool, test = train_test_split(positions, test_size=test_fraction, stratify=np.asarray(labels), random_state=seed)
    return np.sort(pool), np.sort(test)


def draw_per_label(labels: np.ndarray, pool: np.ndarray, k: int | None, rng: np.random.Generator) -> np.ndarray:
    """``k`` random pool positions per label (all a label has when fewer); ``None``: the whole pool."""
    if k is None:
        return pool
    picked = []
    for label in np.unique(labels[pool]):
        members = pool[labels[pool] == label]
        picked.append(rng.choice(members, size=min(k, len(members)), replace=False))
    return np.sort(np.concatenate(picked))


class CachedEncoder:
    """Wraps an encoder: each distinct text is encoded once per run (and once ever with a cache file).

    Has no ``.model`` on purpose: contrastive fine-tuning refuses it, so tuned runs always use
    the real encoder and never read base-encoder vectors from this cache.
    """

    def __init__(self, encoder: object, cache_file: Path | None = None) -> None:
        self.encoder = encoder
        self.weights_sha256 = getattr(encoder, "weights_sha256", None)
        self.location = getattr(encoder, "location", None)
        self.memory: dict[str, np.ndarray] = {}
        self.disk = None
        if cache_file is not None:
            from feedback_nlp.topics.embeddings import EmbeddingCache

            identity = hashlib.sha256(f"{self.weights_sha256}|{getattr(encoder, 'precision', '')}".encode()).hexdigest()
            self.disk = EmbeddingCache(cache_file, identity)
        self.encoded = 0

    def encode(self, texts: Sequence[str], **_: object) -> np.ndarray:
        missing = list(dict.fromkeys(t for t in texts if t not in self.memory))
        if missing:
            if self.disk is not None:
                vectors = self.disk.embed(missing, self._encode)
            else:
                vectors = self._encode(missing)
            self.memory.update(zip(missing, np.asarray(vectors, dtype=np.float32), strict=True))
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        return np.vstack([self.memory[t] for t in texts])

    def _encode(self, texts: Sequence[str]) -> np.ndarray:
        self.encoded += len(texts)
        return np.asarray(self.encoder.encode(list(texts)), dtype=np.float32)  # type: ignore[attr-defined]
