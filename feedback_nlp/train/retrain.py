"""Retrain the heads only: a labelled table, the bundle's frozen encoder, new heads in seconds.

The cheapest way to adapt a bundle to your own labelled feedback: the encoder (with the
bundle's fine-tuned layers) stays as it is, the texts are embedded once, and only the linear
heads are refitted, calibrated and thresholded. A head whose label column is absent keeps the
bundle's weights.

A labelled file (CSV, JSONL or Parquet) has the columns:

==================  ===========================================================================
``text``            the feedback text (required)
``kind``            survey, review, social or transcript (optional; survey when absent)
``source``          where it came from (optional; reports only)
``sentiment``       negative, neutral or positive; empty for unknown
``journey_stage``   a stage of the taxonomy; empty for unknown
``touchpoints``     labels separated by ``;`` (or a list in JSONL/Parquet); empty: none apply;
                    ``?`` (or null in JSONL): unknown
==================  ===========================================================================

At least one of the last three must be there.

Examples:
    >>> labelled = read_labelled("my_labels.csv")                        # doctest: +SKIP
    >>> result = retrain_heads(load_pipeline(), labelled)                # doctest: +SKIP
    >>> save_retrained(result, "models/default", "models/mine")          # doctest: +SKIP
"""

from __future__ import annotations

import copy
import logging
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import ValidationError

from feedback_nlp.errors import DataError
from feedback_nlp.fileio import describe_validation_error
from feedback_nlp.heads.heads import TaskHeads
from feedback_nlp.pipeline import FeedbackPipeline
from feedback_nlp.storage.artifacts import BundleManifest, read_table
from feedback_nlp.storage.bundle import new_bundle
from feedback_nlp.storage.model import CARD_FILE, ENCODER_LAYERS_FILE, TAXONOMY_FILE
from feedback_nlp.taxonomy.labels import SENTIMENT_LABELS
from feedback_nlp.taxonomy.records import FeedbackKind, FeedbackRecord
from feedback_nlp.text import prepare_inputs
from feedback_nlp.train.card import render_card
from feedback_nlp.train.data import TrainingTable
from feedback_nlp.train.evaluate import GOLD_KINDS
from feedback_nlp.train.heads_fit import HeadOptions, HeadTargets, fit_task_heads
from feedback_nlp.train.label_cells import LABEL_COLUMNS, TOUCHPOINTS_UNKNOWN, case_hint
from feedback_nlp.train.label_cells import is_missing as _missing
from feedback_nlp.train.label_cells import touchpoint_cell as _touchpoint_cell
from feedback_nlp.train.metrics import multi_label_report

logger = logging.getLogger(__name__)

_KINDS = {kind.value for kind in FeedbackKind}
#: The training datasets' and gold set's own kinds, read as the record kinds they are classified as.
_KIND_ALIASES = {name: kind.value for name, kind in GOLD_KINDS.items() if name not in _KINDS}


@dataclass
class RetrainResult:
    """What :func:`retrain_heads` produced.

    Attributes:
        pipeline: the bundle's pipeline (same encoder) with the new heads.
        retrained: the label columns whose heads were refitted, in :data:`LABEL_COLUMNS` order.
        held_out: per retrained column, its report on the held-out rows of the labelled table.
        n_train, n_eval: rows fitted on, rows held out (calibration, thresholds, ``held_out``).
    """

    pipeline: FeedbackPipeline
    retrained: list[str]
    held_out: dict[str, Any] = field(default_factory=dict)
    n_train: int = 0
    n_eval: int = 0

    @property
    def heads(self) -> TaskHeads:
        """The new heads (the bundle's own for the columns that were not retrained)."""
        return self.pipeline.heads


def read_labelled(path: str | Path, *, text_column: str = "text") -> pd.DataFrame:
    """Read a labelled CSV, JSONL or Parquet file into the table :func:`retrain_heads` takes.

    Empty sentiment and journey-stage cells become None (unknown); touchpoints become lists,
    or None where unknown (see the module docstring).

    Raises:
        DataError: the file is missing or unreadable, or lacks the text column or every label column.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"Expected a labelled file at {path}, found nothing there.")
    frame = read_table(path, what="Labelled file", error=DataError)
    if text_column != "text":
        if text_column not in frame.columns:
            raise DataError(f"{path} has no '{text_column}' column; found {sorted(map(str, frame.columns))}.")
        if "text" in frame.columns:
            raise DataError(f"{path} has both '{text_column}' and 'text'; rename one of them.")
        frame = frame.rename(columns={text_column: "text"})
    return normalise_labelled(frame, source=str(path))


def normalise_labelled(frame: pd.DataFrame, *, source: str = "labelled table") -> pd.DataFrame:
    """Check a labelled table's columns and put its cells in canonical form (see :func:`read_labelled`)."""
    if "text" not in frame.columns:
        raise DataError(f"{source} has no 'text' column; found {sorted(map(str, frame.columns))}.")
    labels = [c for c in LABEL_COLUMNS if c in frame.columns]
    if not labels:
        raise DataError(
            f"{source} has none of the label columns {list(LABEL_COLUMNS)}; found {sorted(map(str, frame.columns))}. "
            "Add at least one of them."
        )
    out = frame.reset_index(drop=True).copy()
    out["text"] = out["text"].map(lambda v: "" if _missing(v) else str(v).strip())
    empty = np.flatnonzero(out["text"].str.len() == 0)
    if len(empty):
        raise DataError(f"{source}: row(s) {_rows(empty)} have no text; every row needs one.")
    kinds = out["kind"] if "kind" in out else pd.Series(["survey"] * len(out), index=out.index)
    kinds = pd.Series(
        [
            "survey" if _missing(v) or str(v).strip() == "" else _KIND_ALIASES.get(str(v).strip(), str(v).strip())
            for v in kinds
        ],
        index=out.index,
        dtype=object,
    )
    bad_kind = np.flatnonzero(~kinds.isin(_KINDS))
    if len(bad_kind):
        raise DataError(
            f"{source}: row(s) {_rows(bad_kind)} have an unknown kind ({kinds.iloc[bad_kind[0]]!r}); "
            f"expected one of {sorted(_KINDS | set(_KIND_ALIASES))}."
        )
    out["kind"] = kinds
    if "source" not in out:
        out["source"] = "labelled"
    for column in ("sentiment", "journey_stage"):
        if column in out:
            cells = [None if _missing(v) or str(v).strip() == "" else str(v).strip() for v in out[column]]
            out[column] = pd.Series(cells, index=out.index, dtype=object)
    if "touchpoints" in out:
        out["touchpoints"] = pd.Series([_touchpoint_cell(v) for v in out["touchpoints"]], index=out.index, dtype=object)
    return out


def retrain_heads(
    pipeline: FeedbackPipeline,
    labelled: pd.DataFrame,
    *,
    C: float = 1.0,
    eval_fraction: float = 0.2,
    seed: int = 42,
    name: str = "retrained",
) -> RetrainResult:
    """Refit the heads of ``pipeline`` on a labelled table, over its frozen encoder.

    Each head with a label column is fitted on the training rows where its label is known,
    calibrated (temperature) or thresholded (touchpoints) on the held-out rows, and scored on
    them; the other heads are kept. The returned pipeline shares the encoder with ``pipeline``.

    Args:
        pipeline: the bundle to start from (its encoder embeds the texts).
        labelled: a table as :func:`read_labelled` returns (or any frame with those columns).
        C: inverse L2 strength of every refitted head.
        eval_fraction: share of rows held out, drawn at random with ``seed``.
        seed: seeds the split and the solvers.
        name: the model name written into the new pipeline's version.

    Raises:
        DataError: a label is not in the taxonomy, or a head has too few labelled rows.
    """
    if not 0.0 < eval_fraction < 0.5:
        raise DataError(f"eval_fraction must lie strictly between 0 and 0.5, got {eval_fraction}")
    labelled = normalise_labelled(labelled)
    taxonomy = pipeline.taxonomy
    _check_labels(labelled, "sentiment", list(SENTIMENT_LABELS))
    _check_labels(labelled, "journey_stage", taxonomy.stage_labels)
    _check_touchpoints(labelled, taxonomy.touchpoint_labels)
    # 1. Embed once with the bundle's encoder, exactly as at inference.
    texts = model_inputs(pipeline, labelled)
    X = np.asarray(pipeline.embed(texts))
    # What each text head reads (keywords, stage cues and word n-grams beside the vector when the
    # bundle's heads use them); refitted heads keep the bundle's n-gram vocabulary.
    X_sentiment = pipeline.sentiment_input(texts, X)
    X_tp, X_stage = pipeline.touchpoint_input(texts, X), pipeline.stage_input(texts, X)
    # 2. Split: fit on one part; calibrate, tune thresholds and report on the other.
    held = np.random.default_rng(seed).random(len(labelled)) < eval_fraction
    train = ~held
    # 3. Fit the heads whose label column is there (the others are kept); calibrate, tune
    #    thresholds and report on the held-out rows.
    Y = touchpoint_matrix(labelled["touchpoints"], taxonomy.touchpoint_labels) if "touchpoints" in labelled else None
    if Y is not None and np.isnan(Y[train]).all():
        raise DataError("touchpoints: no training row has known touchpoints; label some, or drop the column.")
    targets = HeadTargets(
        stage_labels=taxonomy.stage_labels,
        touchpoint_labels=taxonomy.touchpoint_labels,
        sentiment=labelled["sentiment"].tolist() if "sentiment" in labelled else None,
        journey_stage=labelled["journey_stage"].tolist() if "journey_stage" in labelled else None,
        touchpoints=Y,
    )
    options = HeadOptions(C_sentiment=C, C_stage=C, C_touchpoints=C, stage_class_weight="balanced", seed=seed)
    fitted = fit_task_heads(X_sentiment, X_tp, targets, train, held, options=options, X_stage=X_stage)
    report: dict[str, Any] = dict(fitted.held_out)
    retrained = [column for column in LABEL_COLUMNS if column in labelled]
    # 4. The touchpoint head's report, on the held-out rows whose touchpoints are all known.
    if fitted.touchpoints is not None and Y is not None:
        known_rows = held & ~np.isnan(Y).any(axis=1)
        if known_rows.any():
            predicted = fitted.touchpoints.predict(X_tp[known_rows])
            report["touchpoints"] = multi_label_report(
                [list(t) for t in labelled["touchpoints"][known_rows]],
                [[str(fitted.touchpoints.classes_[j]) for j in np.flatnonzero(row)] for row in predicted],
                taxonomy.touchpoint_labels,
            )
    old = pipeline.heads
    heads = fitted.task_heads(
        old.keyword_features, keep=old, stage_cue_features=old.stage_cue_features, ngrams=old.ngrams
    )
    version = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    manifest = _manifest(pipeline.manifest, name, version, retrained, report, int(train.sum()), int(held.sum()))
    new_pipeline = FeedbackPipeline(
        pipeline.encoder,
        heads,
        taxonomy,
        version=f"{name}:{version}",
        manifest=manifest,
        segment_vectors=pipeline.segment_vectors,
    )
    logger.info("Retrained %s on %d rows (%d held out)", retrained, int(train.sum()), int(held.sum()))
    return RetrainResult(new_pipeline, retrained, report, int(train.sum()), int(held.sum()))


def save_retrained(result: RetrainResult, base_bundle: str | Path, target: str | Path) -> Path:
    """Write ``result`` as a loadable bundle at ``target``: the new heads plus the base bundle's
    encoder layers and taxonomy, with a manifest and model card that say what was retrained.

    Raises:
        DataError: ``target`` is the base bundle itself (write elsewhere, then swap folders).
    """
    base, target = Path(base_bundle), Path(target)
    if target.resolve() == base.resolve():
        raise DataError(f"Refusing to overwrite the base bundle {base}; write the retrained bundle elsewhere.")
    data = {k: v for k, v in copy.deepcopy(result.pipeline.manifest).items() if k not in ("files", "format")}
    manifest = BundleManifest.parse(data, source=f"the manifest of {result.pipeline.version}")
    with new_bundle(target) as staging:
        result.heads.save(staging)
        for name in (ENCODER_LAYERS_FILE, TAXONOMY_FILE, "config.toml"):
            if (base / name).is_file():
                shutil.copyfile(base / name, staging / name)
        card = render_card(manifest.to_json()) if "encoder" in data else f"# {result.pipeline.version}\n"
        started_from = manifest.retrained_from.version if manifest.retrained_from else None
        note = (
            f"\n## Retrained heads\n\nHeads {', '.join(result.retrained)} refitted on {result.n_train} labelled rows "
            f"({result.n_eval} held out) over the frozen encoder of `{started_from}`.\n"
        )
        (staging / CARD_FILE).write_text(card + note, encoding="utf-8")
        manifest.write(staging)
    logger.info("Wrote retrained bundle %s", target)
    return target


def labelled_frame(table: TrainingTable) -> pd.DataFrame:
    """A training table as a labelled table (the shape :func:`read_labelled` returns).

    Touchpoint rows with any unknown label become unknown (None): a labelled file says either
    all of a text's touchpoints or nothing about them.
    """
    frame = table.frame.reset_index(drop=True)
    touchpoints: list[list[str] | None] = []
    for row in table.touchpoints:
        if np.isnan(row).any():
            touchpoints.append(None)
        else:
            touchpoints.append([label for label, v in zip(table.touchpoint_labels, row, strict=True) if v == 1.0])
    labelled = pd.DataFrame(
        {
            "text": frame["text"],
            "kind": frame["kind"],
            "source": frame["source"],
            "sentiment": frame["sentiment"],
            "journey_stage": frame["journey_stage"],
            "touchpoints": pd.Series(touchpoints, dtype=object),
        }
    )
    return normalise_labelled(labelled, source="training table")


def write_labelled_csv(labelled: pd.DataFrame, path: str | Path) -> Path:
    """Write a labelled table as CSV (touchpoints joined by ``;``, ``?`` where unknown)."""
    out = labelled.copy()
    if "touchpoints" in out:
        out["touchpoints"] = [TOUCHPOINTS_UNKNOWN if t is None else ";".join(t) for t in out["touchpoints"]]
    for column in ("sentiment", "journey_stage"):
        if column in out:
            out[column] = out[column].map(lambda v: "" if _missing(v) else v)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    out.to_csv(path, index=False)
    return path


def model_inputs(pipeline: FeedbackPipeline, labelled: pd.DataFrame) -> list[str]:
    """The texts the encoder sees for a labelled table: customer side, redacted, normalised, as at inference.

    ``labelled`` is a table as :func:`read_labelled`, :func:`normalise_labelled` or :func:`labelled_frame` return.
    """
    records = []
    for i, (text, kind) in enumerate(zip(labelled["text"], labelled["kind"], strict=True)):
        try:
            records.append(FeedbackRecord(kind=kind, text=text))
        except ValidationError as exc:
            raise DataError(f"row {i + 1} is not valid feedback: {describe_validation_error(exc)}") from None
    return prepare_inputs(records).encoder_inputs


def touchpoint_matrix(cells: Sequence[list[str] | None], labels: Sequence[str]) -> np.ndarray:
    """1/0 per label; a whole row of NaN where the touchpoints are unknown (None)."""
    index = {label: j for j, label in enumerate(labels)}
    matrix = np.zeros((len(cells), len(labels)), dtype=np.float32)
    for i, cell in enumerate(cells):
        if cell is None:
            matrix[i] = np.nan
        else:
            matrix[i, [index[label] for label in cell]] = 1.0
    return matrix


def _manifest(
    base: dict[str, Any],
    name: str,
    version: str,
    retrained: list[str],
    report: dict[str, Any],
    n_train: int,
    n_eval: int,
) -> dict[str, Any]:
    manifest = {k: v for k, v in copy.deepcopy(base).items() if k not in ("files", "format")}
    manifest.update(
        name=name,
        version=version,
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        retrained_from={"name": base.get("name"), "version": base.get("version")},
        retrained_heads=list(retrained),
        metrics={"held_out": report, "labelled_rows": {"train": n_train, "eval": n_eval}},
    )
    manifest.pop("baselines", None)
    manifest.pop("speed", None)
    return manifest


def _check_labels(frame: pd.DataFrame, column: str, allowed: list[str]) -> None:
    if column not in frame:
        return
    bad = np.flatnonzero(frame[column].notna() & ~frame[column].isin(allowed))
    if len(bad):
        first = str(frame[column].iloc[bad[0]])
        raise DataError(
            f"{column}: row(s) {_rows(bad)} have label(s) {sorted(set(frame[column].iloc[bad]))} that the taxonomy "
            f"does not know{case_hint(first, allowed)}; expected one of {allowed} (or an empty cell for unknown)."
        )


def _check_touchpoints(frame: pd.DataFrame, allowed: list[str]) -> None:
    if "touchpoints" not in frame:
        return
    bad = [i for i, cell in enumerate(frame["touchpoints"]) if cell is not None and set(cell) - set(allowed)]
    if bad:
        unknown = sorted({label for i in bad for label in frame["touchpoints"].iloc[i] if label not in allowed})
        raise DataError(
            f"touchpoints: row(s) {_rows(np.asarray(bad))} name {unknown}, which the taxonomy does not know; "
            f"expected labels from {allowed}, separated by ';' ('?' for unknown, empty for none)."
        )


def _rows(positions: np.ndarray, limit: int = 5) -> str:
    """Row numbers as a user counts them in a file: the first data row is 1."""
    shown = ", ".join(str(int(i) + 1) for i in positions[:limit])
    return shown + (f" and {len(positions) - limit} more" if len(positions) > limit else "")
