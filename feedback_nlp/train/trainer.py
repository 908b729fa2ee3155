"""Training: data -> (optional) encoder fine-tuning -> heads -> evaluation -> model bundle."""

from __future__ import annotations

import hashlib
import json
import logging
import platform
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import tomli_w
from safetensors.numpy import load_file, save, save_file
from tqdm.auto import tqdm

from feedback_nlp.encoders.finetune import MultiTaskTargets, apply_layer_weights, finetune_top_layers
from feedback_nlp.encoders.minilm import SentenceEncoder
from feedback_nlp.errors import ConfigError, DataError, InputError
from feedback_nlp.heads.heads import TaskHeads
from feedback_nlp.heads.linear import MultiLabelHead, SoftmaxHead
from feedback_nlp.heads.ngrams import WordNgrams, with_block
from feedback_nlp.pipeline import FeedbackPipeline, SegmentVectors
from feedback_nlp.settings import Settings, get_settings
from feedback_nlp.storage.artifacts import (
    MANIFEST,
    BundleManifest,
    EncoderInfo,
    TaskLabels,
    TaxonomyRef,
    check_replaceable,
)
from feedback_nlp.storage.bundle import new_bundle
from feedback_nlp.storage.model import CARD_FILE, ENCODER_LAYERS_FILE, TAXONOMY_FILE
from feedback_nlp.taxonomy.keywords import KeywordMatcher
from feedback_nlp.taxonomy.labels import SENTIMENT_LABELS, Taxonomy, load_taxonomy
from feedback_nlp.text import prepare_texts
from feedback_nlp.topics.embeddings import EmbeddingCache, fingerprint_of
from feedback_nlp.train.augment import augmented
from feedback_nlp.train.card import registered_version, render_card
from feedback_nlp.train.config import TrainingConfig
from feedback_nlp.train.corpus_data import channel_from_record, combine, corpus_table, exclusion_keys, native_table
from feedback_nlp.train.data import TrainingTable, build_training_table, gold_key
from feedback_nlp.train.evaluate import evaluate_frame, gold_file_info, labels_outside, read_gold
from feedback_nlp.train.heads_fit import (
    Features,
    FittedHeads,
    HeadOptions,
    HeadTargets,
    ThresholdFolds,
    fit_task_heads,
)
from feedback_nlp.train.metrics import single_label_report
from feedback_nlp.train.pairing import fit_pairing, pair_groups
from feedback_nlp.train.segment_pairs import draw_segment_pairs, pooled_segment_vectors, segment_rows

logger = logging.getLogger(__name__)

PINNED_PACKAGES = ["feedback-nlp", "torch", "sentence-transformers", "transformers", "scikit-learn", "spacy", "numpy"]


@dataclass
class TrainingResult:
    """What a run produced."""

    bundle: Path
    metrics: dict[str, Any] = field(default_factory=dict)


def _targets(table: TrainingTable, rows: np.ndarray, stages: list[str]) -> MultiTaskTargets:
    frame = table.frame.iloc[rows]
    sent_index = {label: i for i, label in enumerate(SENTIMENT_LABELS)}
    stage_index = {label: i for i, label in enumerate(stages)}
    return MultiTaskTargets(
        sentiment=np.array([sent_index.get(v, -1) if v else -1 for v in frame["sentiment"]]),
        stage=np.array([stage_index.get(v, -1) if v else -1 for v in frame["journey_stage"]]),
        touchpoints=table.touchpoints[rows],
    )


def encoder_inputs(frame: Any) -> list[str]:
    """The texts the encoder sees for training rows: the serving preparation (:func:`prepare_texts`)."""
    return prepare_texts(frame["text"], frame["kind"])


def head_inputs(
    X: np.ndarray, texts: list[str], config: TrainingConfig, taxonomy: Taxonomy
) -> tuple[np.ndarray, np.ndarray]:
    """What the touchpoint and stage heads read for ``X``, the vectors of the encoder inputs
    ``texts``: ``X`` with the keyword hits (touchpoints) or the stage-cue hits (stage) appended
    when the config's ``[heads]`` use them, as :meth:`FeedbackPipeline.touchpoint_input` and
    :meth:`FeedbackPipeline.stage_input` do at serving time."""
    X_tp = np.hstack([X, KeywordMatcher(taxonomy).features(texts)]) if config.heads.keyword_features else X
    X_stage = (
        np.hstack([X, KeywordMatcher.stage_cues(taxonomy).features(texts)]) if config.heads.stage_cue_features else X
    )
    return X_tp, X_stage


def fit_heads(
    X: np.ndarray,
    X_tp: np.ndarray,
    table: TrainingTable,
    config: TrainingConfig,
    stage_labels: list[str],
    X_stage: np.ndarray | None = None,
    *,
    texts: list[str] | None = None,
) -> tuple[TaskHeads, dict[str, Any]]:
    """Fit the heads on the train split; calibrate and tune thresholds on the eval split
    (:func:`~feedback_nlp.train.heads_fit.fit_task_heads` with the config's ``[heads]`` options).
    ``X_tp`` and ``X_stage`` come from :func:`head_inputs`. With ``heads.ngram_features``, the
    word n-gram vocabulary is fitted here, on the train split's texts and sources only, and its
    block appended to what each head reads; ``texts`` are the table's encoder inputs
    (:func:`encoder_inputs`, computed here when None).

    Raises:
        ValueError: the config's stage head reads stage cues but no ``X_stage`` was given.
    """
    if config.heads.stage_cue_features and X_stage is None:
        raise ValueError("heads.stage_cue_features is on: pass X_stage from head_inputs()")
    X_stage = X if X_stage is None else X_stage
    ngrams = None
    inputs: tuple[Features, Features, Features] = (X, X_tp, X_stage)
    if config.heads.ngram_features:
        texts = encoder_inputs(table.frame) if texts is None else texts
        ngrams = fit_ngrams(table, config, texts)
        block = ngrams.features(texts)
        inputs = (with_block(X, block), with_block(X_tp, block), with_block(X_stage, block))
    X_sentiment, X_tp_read, X_stage_read = inputs
    fitted = _fit(X_sentiment, X_tp_read, table, config, stage_labels, stage=True, X_stage=X_stage_read, embeddings=X)
    heads = fitted.task_heads(
        config.heads.keyword_features, stage_cue_features=config.heads.stage_cue_features, ngrams=ngrams
    )
    return heads, _report(fitted, table, heads.touchpoints)


def fit_ngrams(table: TrainingTable, config: TrainingConfig, texts: list[str]) -> WordNgrams:
    """The word n-gram vocabulary of the train split's ``texts`` (the table's encoder inputs, row
    for row), with the ``[heads]`` n-gram options."""
    train = (table.frame["split"] == "train").to_numpy()
    ngrams = WordNgrams.fit(
        [text for text, keep in zip(texts, train, strict=True) if keep],
        table.frame["source"].astype(str)[train].tolist(),
        min_sources=config.heads.ngram_min_sources,
        min_df=config.heads.ngram_min_df,
        scale=config.heads.ngram_scale,
    )
    logger.info("Word n-grams: %d terms found in %d or more sources", len(ngrams), config.heads.ngram_min_sources)
    return ngrams


def fit_segment_heads(
    X: np.ndarray, X_tp: np.ndarray, table: TrainingTable, config: TrainingConfig
) -> tuple[SoftmaxHead, MultiLabelHead, dict[str, Any]]:
    """The segment sentiment and touchpoint heads (no stage head: segments are given none), fitted
    as :func:`fit_heads` fits the text heads, on a table that includes segment-pair rows."""
    fitted = _fit(X, X_tp, table, config, [], stage=False, embeddings=X)
    if fitted.sentiment is None or fitted.touchpoints is None:
        raise ValueError("segment heads need sentiment and touchpoint labels")
    return fitted.sentiment, fitted.touchpoints, _report(fitted, table, fitted.touchpoints)


def _fit(
    X: Features,
    X_tp: Features,
    table: TrainingTable,
    config: TrainingConfig,
    stage_labels: list[str],
    *,
    stage: bool,
    X_stage: Features | None = None,
    embeddings: np.ndarray,
) -> FittedHeads:
    frame = table.frame
    # Rows may weigh differently (the annotated corpus above mapped and native labels).
    weight = frame["weight"].to_numpy(dtype=float) if "weight" in frame else np.ones(len(frame))
    options = HeadOptions(
        C_sentiment=config.heads.C_sentiment,
        C_stage=config.heads.C_stage,
        C_touchpoints=config.heads.C_touchpoints,
        stage_class_weight=None if config.heads.stage_class_weight == "none" else config.heads.stage_class_weight,
        seed=config.seed,
    )
    targets = HeadTargets(
        stage_labels=stage_labels,
        touchpoint_labels=table.touchpoint_labels,
        sentiment=frame["sentiment"].tolist(),
        journey_stage=frame["journey_stage"].tolist() if stage else None,
        touchpoints=table.touchpoints,
    )
    train = (frame["split"] == "train").to_numpy()
    held = (frame["split"] == "eval").to_numpy()
    # Counterfactual logit pairing: fit on transformed embedding columns, then fold the
    # transform into the weights (train/pairing.py); the heads then read plain embeddings.
    pairing = fit_pairing(table, embeddings, config.heads.counterfactual_pairing)
    paired = set(config.heads.counterfactual_pairing_heads) if pairing is not None else set()
    if pairing is not None:
        logger.info("Counterfactual logit pairing over %d invariance pairs: %s heads", pairing.pairs, sorted(paired))
        X_stage = X if X_stage is None else X_stage
        X_stage = pairing.apply(X_stage) if "stage" in paired else X_stage
        X = pairing.apply(X) if "sentiment" in paired else X
        X_tp = pairing.apply(X_tp) if "touchpoints" in paired else X_tp
    fitted = fit_task_heads(
        X,
        X_tp,
        targets,
        train,
        held,
        options=options,
        sample_weight=weight,
        X_stage=X_stage,
        threshold_folds=_threshold_folds(frame, train, config),
    )
    if pairing is not None:
        for name, head in (
            ("sentiment", fitted.sentiment),
            ("stage", fitted.stage),
            ("touchpoints", fitted.touchpoints),
        ):
            if head is not None and name in paired:
                pairing.fold(head)
    return fitted


def _threshold_folds(frame: Any, train: np.ndarray, config: TrainingConfig) -> ThresholdFolds | None:
    """The annotated training rows scored out of fold for the touchpoint thresholds (None when
    ``heads.threshold_folds`` is 0); a row and its invariance copies share a group."""
    if config.heads.threshold_folds == 0:
        return None
    annotated = train & (frame["origin"] == "corpus").to_numpy() if "origin" in frame else np.zeros(len(frame), bool)
    return ThresholdFolds(annotated, pair_groups(frame), folds=config.heads.threshold_folds, seed=config.seed)


def _report(fitted: FittedHeads, table: TrainingTable, touchpoints: MultiLabelHead) -> dict[str, Any]:
    report: dict[str, Any] = {}
    if "sentiment" in fitted.held_out:
        report["sentiment"] = fitted.held_out["sentiment"]
    if "journey_stage" in fitted.held_out:
        report["stage"] = fitted.held_out["journey_stage"]
    report["touchpoints_thresholds"] = dict(
        zip(table.touchpoint_labels, touchpoints.thresholds_.round(3).tolist(), strict=True)
    )
    return report


def held_out_by_source(table: TrainingTable, heads: TaskHeads, X: np.ndarray, texts: list[str]) -> dict[str, Any]:
    """Sentiment metrics per source on the held-out split (TweetEval macro-recall among them);
    ``texts`` are the table's encoder inputs, for heads that read word n-grams."""
    frame = table.frame
    out: dict[str, Any] = {}
    for source, rows in frame[(frame["split"] == "eval") & frame["sentiment"].notna()].groupby("source"):
        positions = rows.index.to_numpy()
        X_rows = X[positions]
        if heads.ngrams is not None:
            X_rows = heads.ngrams.beside(X_rows, [texts[i] for i in positions])
        predicted = heads.sentiment.predict(X_rows).tolist()
        report = single_label_report(rows["sentiment"].tolist(), predicted, list(SENTIMENT_LABELS))
        out[source] = {k: report[k] for k in ("n", "macro_f1", "accuracy", "macro_recall")}
    return out


def check_training_labels(table: TrainingTable, taxonomy: Taxonomy) -> None:
    """Check a training table's labels before any text is embedded: every known sentiment and stage
    is a label of ``taxonomy``, and the train split holds at least two of each (a head needs two).

    Raises:
        DataError: a source gives labels the taxonomy lacks, or a head would have fewer than two
            labels to learn; the message names the labels, the sources and what to do.
    """
    frame = table.frame
    train = (frame["split"] == "train").to_numpy()
    for column, allowed in (("sentiment", list(SENTIMENT_LABELS)), ("journey_stage", taxonomy.stage_labels)):
        known = frame[column].notna().to_numpy()
        bad = known & ~frame[column].isin(allowed).to_numpy()
        if bad.any():
            rows = frame[bad]
            raise DataError(
                f"{column}: {int(bad.sum())} training rows (sources {sorted(set(rows['source']))}) carry the label(s) "
                f"{sorted(set(map(str, rows[column])))}, which taxonomy {taxonomy.name} v{taxonomy.version} lacks; "
                f"expected one of {allowed}. Leave those sources out (data.exclude_sources) or use their taxonomy."
            )
        seen = sorted(set(frame.loc[known & train, column]))
        if len(seen) < 2:
            advice = (
                "The datasets' mappings and the annotated corpus give the default taxonomy's stages, so a custom "
                "taxonomy's stages get training rows only where a name is a default one (docs/taxonomy.md): name "
                "them as the default taxonomy does, or add sources that give them."
                if column == "journey_stage"
                else "Add sources with sentiment labels (data.sources, data.corpus, data.native_sources)."
            )
            raise DataError(
                f"{column}: the training rows hold {len(seen)} label(s) {seen} of taxonomy {taxonomy.name} "
                f"v{taxonomy.version}; a head needs at least two. {advice}"
            )


def _package_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in PINNED_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


class Trainer:
    """Runs one training config end to end and writes a model bundle.

    Args:
        config: the resolved training config.
        settings: paths and encoder settings (environment by default).
        gold_path: the gold set used for evaluation and model selection, never for training
            (default: ``paths.gold``, else ``data_dir/gold/dev.jsonl``).

    Attributes:
        gold_path: the gold set evaluated on; None when ``paths.gold`` is "".
        gold_skipped: after :meth:`gold_set`, why no gold evaluation is made (None when one is).
    """

    def __init__(self, config: TrainingConfig, settings: Settings | None = None, gold_path: Path | None = None) -> None:
        self.config = config
        self.settings = settings or get_settings()
        self.data_dir = Path(config.paths.data_dir or self.settings.data_dir)
        self.default_gold = self.data_dir / "gold" / "dev.jsonl"
        #: Whether the config names the gold set (then it must be there).
        self.gold_named = gold_path is None and bool(config.paths.gold)
        self.gold_path: Path | None
        if gold_path is not None:
            self.gold_path = gold_path
        elif config.paths.gold is None:
            self.gold_path = self.default_gold
        else:
            self.gold_path = Path(config.paths.gold) if config.paths.gold.strip() else None
        self.gold_skipped: str | None = None
        self.taxonomy: Taxonomy = load_taxonomy(config.paths.taxonomy or self.settings.taxonomy_path)

    def train(self) -> TrainingResult:
        """Train, evaluate and write the bundle to ``config.paths.output``."""
        cfg = self.config
        # 0. Before any work: the output folder may be replaced, and the gold set can be read.
        check_replaceable(cfg.paths.output, MANIFEST, "model bundle")
        if registered_version(Path(cfg.paths.output)):
            raise InputError(
                f"paths.output {cfg.paths.output} is a registered model version, which never changes; write the "
                "bundle to another folder and register it as a new version."
            )
        gold = self.gold_set()
        np.random.seed(cfg.seed)
        # 1. Data: mapped, weakly labelled, de-golded, capped per source; labels checked before embedding.
        table = self.training_table()
        check_training_labels(table, self.taxonomy)
        texts = encoder_inputs(table.frame)
        encoder = SentenceEncoder(
            self.settings.encoder,
            expected_sha256=self.settings.encoder_sha256 or None,
            max_seq_length=cfg.finetune.max_seq_length,
            batch_size=self.settings.pass_size(),
            num_threads=self.settings.num_threads,
        )
        # 2. Fine-tune the encoder's top layers on all three tasks at once (or start from a bundle's).
        start = self._start_layers(encoder)
        layer_weights = self._finetune(encoder, table, texts) or start
        # 3. Embed once; fit the heads on the (fine-tuned) embeddings.
        X = self._embed(encoder, texts, layer_weights)
        X_tp, X_stage = head_inputs(X, texts, cfg, self.taxonomy)
        heads, held_out = fit_heads(X, X_tp, table, cfg, self.taxonomy.stage_labels, X_stage, texts=texts)
        held_out["by_source"] = held_out_by_source(table, heads, X, texts)
        # 4. With pooled segments, segment heads that also learn from labelled segments in context.
        if cfg.data.segment_pairs:
            held_out["segment_heads"] = self._fit_segment_heads(encoder, heads, table, X, X_tp, texts)
        # 5. Evaluate on the gold set through the full prediction path.
        version = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        pipeline = FeedbackPipeline(
            encoder, heads, self.taxonomy, version=f"{cfg.name}:{version}", segment_vectors=self.segment_vectors
        )
        metrics: dict[str, Any] = {"held_out": held_out}
        if gold is not None and self.gold_path is not None:
            logger.info("Evaluating on %s", self.gold_path)
            metrics["gold"] = evaluate_frame(pipeline, gold)
            metrics["gold"]["gold_file"] = gold_file_info(self.gold_path, gold)
        elif self.gold_skipped:
            metrics["gold_skipped"] = self.gold_skipped
        # 6. Write the bundle atomically.
        manifest = self._manifest(version, encoder, table, metrics)
        bundle = self._write(manifest, heads, layer_weights)
        return TrainingResult(bundle=bundle, metrics=metrics)

    def gold_set(self) -> pd.DataFrame | None:
        """The gold set, read and checked before any training work (a bad file fails at once).

        None, with the reason in :attr:`gold_skipped` (and logged), when ``paths.gold`` is "", the
        default gold file is absent, or the gold set has stages or touchpoints the taxonomy lacks
        (a custom taxonomy's bundle cannot be scored on the default taxonomy's labels).

        Raises:
            ConfigError: ``paths.gold`` names a file that is not there.
            InputError, DataError: the gold file cannot be read or has invalid rows.
        """
        path = self.gold_path
        if path is None:
            self.gold_skipped = 'paths.gold is "" (no gold evaluation asked for)'
            logger.info("No gold evaluation: %s", self.gold_skipped)
            return None
        if not path.is_file():
            if self.gold_named:
                raise ConfigError(
                    f"paths.gold: expected a gold file at {path}, found nothing there; give an existing file, "
                    'or paths.gold = "" to train without a gold evaluation.'
                )
            self.gold_skipped = f"no gold set at {path}"
            logger.warning("No gold evaluation: %s", self.gold_skipped)
            return None
        gold = read_gold(path)
        outside = labels_outside(gold, self.taxonomy)
        if outside:
            found = "; ".join(f"{column} {labels}" for column, labels in outside.items())
            self.gold_skipped = (
                f"the gold set {path.name} has labels that taxonomy {self.taxonomy.name} v{self.taxonomy.version} "
                f"lacks ({found}); name a gold set labelled with this taxonomy with paths.gold"
            )
            logger.warning("No gold evaluation: %s", self.gold_skipped)
            return None
        return gold

    def training_table(self) -> TrainingTable:
        """Mapped sources, plus the annotated corpus and the new sets' own labels when configured."""
        cfg = self.config
        # Gold texts are never trained on: with paths.gold = "", the default gold set's are still left out.
        gold = (self.gold_path or self.default_gold) if cfg.data.exclude_gold else None
        mapped = build_training_table(
            self.data_dir,
            self.taxonomy,
            sources=cfg.data.sources,
            max_per_source=cfg.data.max_per_source,
            eval_fraction=cfg.data.eval_fraction,
            gold_path=gold,
            seed=cfg.seed,
        )
        if not cfg.data.corpus and not cfg.data.native_sources:
            return _without_sources(mapped, cfg.data.exclude_sources)
        corpus = None
        tables = []
        if cfg.data.corpus:
            corpus = corpus_table(
                self.data_dir,
                self.taxonomy,
                weight=cfg.data.corpus_weight,
                eval_fraction=cfg.data.eval_fraction,
                seed=cfg.seed,
                rounds=cfg.data.corpus_rounds,
                source_balance=cfg.data.corpus_source_balance,
            )
            if cfg.data.channel_from_record:
                corpus = channel_from_record(corpus, self.taxonomy)
            tables.append(corpus)
            # Calibrate on what users send: the mapped rows all train.
            mapped.frame["split"] = "train"
        exclude = exclusion_keys(gold, corpus)
        only_sentiment = mapped.frame["source"].isin(cfg.data.sentiment_only_sources).to_numpy()
        mapped.frame.loc[only_sentiment, "journey_stage"] = None
        mapped.touchpoints[only_sentiment] = np.nan
        keep = ~mapped.frame["text"].map(gold_key).isin(exclude).to_numpy()
        tables.append(mapped.select(keep))
        if cfg.data.native_sources:
            tables.append(
                native_table(
                    self.data_dir,
                    self.taxonomy,
                    sources=cfg.data.native_sources,
                    max_per_source=cfg.data.native_max_per_source,
                    seed=cfg.seed,
                    exclude=exclude,
                    general_tweets=cfg.data.general_tweets,
                    weight=cfg.data.native_weight,
                )
            )
        table = _without_sources(combine(tables), cfg.data.exclude_sources)
        return augmented(table, cfg.data.invariance_copies, cfg.seed, swaps=cfg.data.invariance_swaps)

    @property
    def segment_vectors(self) -> SegmentVectors:
        """How the bundle's heads read segments: pooled from the text's pass when trained on segment pairs."""
        return "pooled" if self.config.data.segment_pairs else "separate"

    def _fit_segment_heads(
        self,
        encoder: SentenceEncoder,
        heads: TaskHeads,
        table: TrainingTable,
        X: np.ndarray,
        X_tp: np.ndarray,
        texts: list[str],
    ) -> dict[str, Any]:
        """Fit ``heads.segment_sentiment`` and ``heads.segment_touchpoints`` on the text rows (``X``, and
        ``X_tp`` as the text heads read them) plus the segment-pair rows (train/segment_pairs.py);
        calibrated and thresholded on the held-out texts."""
        pairs = draw_segment_pairs(table, texts, self.config.data.segment_pairs, self.config.seed)
        logger.info(
            "Pooling %d segment vectors from %d two-segment texts", 2 * len(pairs.segmented), len(pairs.segmented)
        )
        rows = segment_rows(table, pairs)
        fit_table = combine([table, rows])
        segments = pooled_segment_vectors(encoder, pairs)
        X_fit = np.vstack([X, segments])
        X_tp_fit = np.vstack([X_tp, head_inputs(segments, rows.frame["text"].tolist(), self.config, self.taxonomy)[0]])
        heads.segment_sentiment, heads.segment_touchpoints, report = fit_segment_heads(
            X_fit, X_tp_fit, fit_table, self.config
        )
        return {"pairs": len(pairs.segmented), **report}

    def _embed(
        self, encoder: SentenceEncoder, texts: list[str], layer_weights: dict[str, np.ndarray] | None
    ) -> np.ndarray:
        """The training texts' embeddings, through the embedding cache shared with topics and the
        benchmarks (``cache_dir/embeddings.sqlite``, keyed by the encoder's weights, its fine-tuned
        layers and the text): a second training run with the same encoder embeds only new texts."""
        layers = hashlib.sha256(save(layer_weights)).hexdigest() if layer_weights else None
        fingerprint = fingerprint_of(
            encoder.weights_sha256 or self.settings.encoder_sha256, self.config.finetune.max_seq_length, layers
        )
        cache = EmbeddingCache(Path(self.settings.cache_dir) / "embeddings.sqlite", fingerprint)
        logger.info("Embedding %d training texts (cached ones read from %s)", len(texts), cache.path)
        with tqdm(total=len(texts), desc="embedding", unit="text", disable=None) as bar:
            return cache.embed(texts, encoder.encode, progress=bar.update)

    def _start_layers(self, encoder: SentenceEncoder) -> dict[str, np.ndarray] | None:
        """Load ``finetune.from_bundle``'s fine-tuned layers into ``encoder`` (None: start from MiniLM)."""
        bundle = self.config.finetune.from_bundle
        if bundle is None:
            return None
        if self.config.finetune.layers == 0:  # a frozen encoder: the released MiniLM, whatever from_bundle says
            logger.info("finetune.layers = 0: the released MiniLM, frozen (finetune.from_bundle %s not used)", bundle)
            return None
        path = Path(bundle) / ENCODER_LAYERS_FILE
        if not path.is_file():
            raise ConfigError(f"finetune.from_bundle: expected fine-tuned layers at {path}, found nothing there.")
        weights = load_file(str(path))
        apply_layer_weights(encoder, weights)
        logger.info("Encoder layers from %s (%d tensors)", path, len(weights))
        return weights

    def _finetune(
        self, encoder: SentenceEncoder, table: TrainingTable, texts: list[str]
    ) -> dict[str, np.ndarray] | None:
        ft = self.config.finetune
        if ft.layers == 0 or ft.epochs == 0 or ft.max_examples == 0:
            return None
        rng = np.random.default_rng(self.config.seed)
        train_rows = np.flatnonzero((table.frame["split"] == "train").to_numpy())
        # A row of weight w is seen about w times as often (the corpus above the rest).
        weight = table.frame["weight"].to_numpy(dtype=float) if "weight" in table.frame else np.ones(len(table.frame))
        repeats = np.maximum(1, np.round(weight[train_rows]).astype(int))
        rows = rng.permutation(np.repeat(train_rows, repeats))[: ft.max_examples]
        weights = finetune_top_layers(
            encoder,
            [texts[i] for i in rows],
            _targets(table, rows, self.taxonomy.stage_labels),
            n_sentiment=len(SENTIMENT_LABELS),
            n_stage=len(self.taxonomy.stage_labels),
            layers=ft.layers,
            epochs=ft.epochs,
            batch_size=ft.batch_size,
            learning_rate=ft.learning_rate,
            seed=self.config.seed,
        )
        # The bundle stores float16; evaluate exactly what will ship.
        weights = {k: v.astype(np.float16) for k, v in weights.items()}
        apply_layer_weights(encoder, weights)
        return weights

    def _manifest(
        self, version: str, encoder: SentenceEncoder, table: TrainingTable, metrics: dict[str, Any]
    ) -> BundleManifest:
        ft = self.config.finetune
        return BundleManifest(
            name=self.config.name,
            version=version,
            created_at=datetime.now(UTC).isoformat(timespec="seconds"),
            taxonomy=TaxonomyRef(
                name=self.taxonomy.name, version=self.taxonomy.version, fingerprint=self.taxonomy.fingerprint
            ),
            labels=TaskLabels(
                sentiment=list(SENTIMENT_LABELS),
                journey_stage=self.taxonomy.stage_labels,
                touchpoints=self.taxonomy.touchpoint_labels,
            ),
            encoder=EncoderInfo(
                location=self.settings.encoder,
                sha256=encoder.weights_sha256,
                max_seq_length=ft.max_seq_length,
                fine_tuned_layers=ft.layers if ft.epochs or ft.from_bundle else 0,
                layers_from=str(ft.from_bundle) if ft.from_bundle else None,
                segment_vectors=self.segment_vectors,
            ),
            data=table.fingerprints,
            packages=_package_versions(),
            metrics=metrics,
            config=self.config.model_dump(mode="json"),
        )

    def _write(self, manifest: BundleManifest, heads: TaskHeads, layer_weights: dict[str, np.ndarray] | None) -> Path:
        target = Path(self.config.paths.output)
        with new_bundle(target) as staging:
            heads.save(staging)
            if layer_weights:
                # float16 halves the size; the heads were fitted on these very weights.
                save_file(layer_weights, str(staging / ENCODER_LAYERS_FILE))
            (staging / TAXONOMY_FILE).write_text(
                json.dumps(self.taxonomy.model_dump(mode="json"), indent=2) + "\n", encoding="utf-8"
            )
            (staging / "config.toml").write_text(tomli_w.dumps(_toml_safe(manifest.config)), encoding="utf-8")
            # The card is rendered from the manifest as written (sorted keys), so `feedback-nlp card`
            # re-rendering it from disk gives the same file.
            as_written = json.loads(json.dumps(manifest.to_json(), sort_keys=True, default=str))
            (staging / CARD_FILE).write_text(render_card(as_written), encoding="utf-8")
            manifest.write(staging)
        logger.info("Wrote bundle %s", target)
        return target


def _without_sources(table: TrainingTable, sources: list[str]) -> TrainingTable:
    return table.select(~table.frame["source"].isin(sources).to_numpy()) if sources else table


def _toml_safe(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _toml_safe(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_toml_safe(v) for v in value]
    return value
