"""Training configuration: one TOML file describes a run completely (spaCy style).

Dotted overrides on the command line (``--set heads.C=2.0``) change single values; the
resolved config is saved inside the bundle.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from feedback_nlp.errors import ConfigError

#: The heads counterfactual logit pairing can apply to.
PairedHead = Literal["sentiment", "stage", "touchpoints"]
PAIRED_HEADS: tuple[PairedHead, ...] = ("sentiment", "stage", "touchpoints")


class PathsConfig(BaseModel):
    """Where data comes from and where the bundle goes."""

    model_config = ConfigDict(extra="forbid")

    data_dir: Path | None = None  # None: the FEEDBACK_NLP_DATA_DIR setting
    output: Path = Path("models/default")
    taxonomy: Path | None = None  # None: the packaged default
    #: The gold set the bundle is evaluated on after training (never trained on): None for
    #: ``data_dir/gold/dev.jsonl``, a path for another (JSONL, .json or .csv, labels of the
    #: config's taxonomy), "" for no gold evaluation. Its texts are left out of training
    #: (``data.exclude_gold``); with "", the default gold set's still are.
    gold: str | None = None


class DataConfig(BaseModel):
    """Which datasets to train on and how to balance them."""

    model_config = ConfigDict(extra="forbid")

    sources: list[str] = Field(
        default_factory=lambda: [
            "tweeteval_sentiment",
            "womens_clothing_reviews",
            "mams",
            "banking77",
            "nlupp_banking",
            "nlupp_hotels",
            "bitext_support",
            "cfpb_complaints",
        ]
    )
    max_per_source: int = Field(default=6000, ge=100)
    eval_fraction: float = Field(default=0.15, gt=0.0, lt=0.5)
    exclude_gold: bool = True
    #: Train on the annotated CX corpus (``annotations/cx_corpus.jsonl``); calibration and
    #: thresholds then use its held-out share only.
    corpus: bool = False
    corpus_weight: float = Field(default=3.0, gt=0.0)
    #: Weigh corpus rows so sources count more evenly: ``(mean rows per source / rows of the
    #: source) ** corpus_source_balance`` (0: every row alike, 1: every source alike), scaled so
    #: the corpus keeps its total weight (train/corpus_data.py, measured in docs/results.md).
    corpus_source_balance: float = Field(default=0.0, ge=0.0, le=1.0)
    #: Labelling rounds of the corpus to train on (``annotations/cx_corpus.jsonl``'s ``round``);
    #: empty: every round.
    corpus_rounds: list[int] = Field(default_factory=list)
    #: Sources whose own labels (complaint flags, ratings, survey sentiment) add sentiment rows.
    native_sources: list[str] = Field(default_factory=list)
    native_max_per_source: int = Field(default=2000, ge=0)
    native_weight: float = Field(default=1.0, gt=0.0)
    #: General tweets (about nothing a company does) that teach stage ``none``.
    general_tweets: int = Field(default=300, ge=0)
    #: Mapped sources that give sentiment only: their stage and touchpoint mappings are dropped
    #: (TweetEval maps every tweet to stage ``none``, which taught "a tweet is about nothing").
    sentiment_only_sources: list[str] = Field(default_factory=list)
    #: Sources left out of every part of the table (leave-sources-out evaluation).
    exclude_sources: list[str] = Field(default_factory=list)
    #: Perturbed copies of each corpus training row (an emoji, a hashtag, a brand, a name or a
    #: place added or swapped; labels kept) that teach the heads invariance (train/augment.py).
    invariance_copies: int = Field(default=0, ge=0, le=5)
    #: The copies of texts that name a real brand (Monzo, Chase, ...) or a first name swap it for
    #: a made-up one instead of adding something (measured with heads.counterfactual_pairing in
    #: docs/results.md, "Counterfactual logit pairing"; off in the shipped recipe).
    invariance_swaps: bool = False
    #: A transcript's channel touchpoint (phone for a call, chat for a chat) is the record's, not the
    #: text's: serving adds it from the declared channel. True: the corpus rows leave it unknown
    #: to the touchpoint head unless the text names it, so the head does not learn "a dialogue turn
    #: is a phone call" (train/corpus_data.py, measured in docs/results.md).
    channel_from_record: bool = False
    #: Two-segment texts made of two labelled one-segment corpus texts; their segments' pooled
    #: vectors train the heads, and the bundle then pools segment vectors from each text's own
    #: pass (``segment_vectors = "pooled"``, one encoder pass per text; train/segment_pairs.py).
    #: 0: segments are encoded on their own, as before.
    segment_pairs: int = Field(default=0, ge=0)


class FinetuneConfig(BaseModel):
    """Multi-task fine-tuning of the encoder's top layers (0 layers: frozen encoder)."""

    model_config = ConfigDict(extra="forbid")

    layers: int = Field(default=3, ge=0, le=6)
    epochs: float = Field(default=1.0, ge=0.0)
    batch_size: int = Field(default=32, ge=1)
    learning_rate: float = Field(default=5e-5, gt=0.0)
    max_seq_length: int = Field(default=128, ge=16, le=512)
    max_examples: int = Field(default=24000, ge=0)
    #: Start from this bundle's fine-tuned layers (with ``epochs = 0`` they ship unchanged and
    #: only the heads are trained).
    from_bundle: Path | None = None


class HeadsConfig(BaseModel):
    """The linear heads fitted on the (fine-tuned) embeddings."""

    model_config = ConfigDict(extra="forbid")

    C_sentiment: float = Field(default=1.0, gt=0.0)
    C_stage: float = Field(default=1.0, gt=0.0)
    C_touchpoints: float = Field(default=1.0, gt=0.0)
    #: "balanced" weighs rare stages up (better macro-F1 on the training mix, more `none` and
    #: `awareness` on new sources); "none" keeps the data's priors; "sqrt-balanced" weighs each
    #: stage by the square root of its balanced weight and leaves `none` at 1, so rare stages
    #: count more while `none` keeps the rate the data gives it (docs/results.md).
    stage_class_weight: Literal["balanced", "sqrt-balanced", "none"] = "balanced"
    keyword_features: bool = True
    #: The stage head also reads which of the taxonomy's ``stage_cues`` a text contains
    #: (measured in docs/results.md, "Stage cues and weights").
    stage_cue_features: bool = False
    #: The three text heads also read a tf-idf block of words and word pairs found in the
    #: training texts of at least ``ngram_min_sources`` sources (feedback_nlp/heads/ngrams.py),
    #: scaled by ``ngram_scale`` against the unit-length embedding (docs/results.md, "Word n-grams
    #: beside the embedding").
    ngram_features: bool = False
    ngram_scale: float = Field(default=0.5, gt=0.0)
    ngram_min_sources: int = Field(default=3, ge=1)
    ngram_min_df: int = Field(default=3, ge=1)
    #: Counterfactual logit pairing: each head is also penalised for the mean squared change of
    #: its logits between a corpus text and its invariance copy (data.invariance_copies), weighted
    #: ``strength`` against its L2 penalty (feedback_nlp/train/pairing.py). 0: off, the copies
    #: are plain extra rows.
    counterfactual_pairing: float = Field(default=0.0, ge=0.0)
    #: Which heads pairing applies to (segment heads follow their text head).
    counterfactual_pairing_heads: list[PairedHead] = Field(default_factory=lambda: list(PAIRED_HEADS))
    #: Touchpoint thresholds tuned on the held-out rows and on out-of-fold probabilities of the
    #: annotated training rows, from this many extra touchpoint heads each fitted without one fold
    #: (feedback_nlp/train/heads_fit.py, ThresholdFolds). 0: the held-out rows alone.
    threshold_folds: int = Field(default=0, ge=0)

    @field_validator("threshold_folds")
    @classmethod
    def _folds(cls, value: int) -> int:
        if value == 1:
            raise ValueError("threshold_folds must be 0 (off) or at least 2, got 1")
        return value


class TrainingConfig(BaseModel):
    """A whole training run."""

    model_config = ConfigDict(extra="forbid")

    name: str = "default"
    seed: int = 42
    paths: PathsConfig = Field(default_factory=PathsConfig)
    data: DataConfig = Field(default_factory=DataConfig)
    finetune: FinetuneConfig = Field(default_factory=FinetuneConfig)
    heads: HeadsConfig = Field(default_factory=HeadsConfig)


def _apply_override(data: dict[str, Any], dotted: str) -> None:
    if "=" not in dotted:
        raise ConfigError(f"Override '{dotted}' should look like section.key=value")
    key, raw = dotted.split("=", 1)
    try:
        value: Any = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw  # a bare string such as a path
    node = data
    *parents, leaf = key.strip().split(".")
    for part in parents:
        node = node.setdefault(part, {})
    node[leaf] = value


def load_config(path: Path | None, overrides: list[str] | None = None) -> TrainingConfig:
    """Read a TOML config (or the defaults when ``path`` is None) and apply dotted overrides."""
    data: dict[str, Any] = {}
    if path is not None:
        try:
            data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise ConfigError(
                f"Training config {path} does not exist; give one with --config (the shipped recipe is "
                "training/configs/default.toml, relative to the checkout)"
            ) from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"Training config {path} is not valid TOML: {exc}") from exc
    for override in overrides or []:
        _apply_override(data, override)
    try:
        return TrainingConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"Invalid training config {path}: {exc}") from exc
