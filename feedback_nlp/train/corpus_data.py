"""Training rows from what users send: the annotated CX corpus and the new sets' own labels.

Three kinds of rows make the training table (``origin`` column):

- ``corpus``: the annotated CX corpus (``annotations/cx_corpus.jsonl``), every task labelled by
  people following the guide; the core of the training data, weighted up.
- ``native``: the new sets' own labels where they state sentiment (complaint flags, star
  ratings, survey sentiment, help-desk quality scores) and little else; general tweets teach
  stage ``none`` with no touchpoints.
- ``mapped``: the older sources through the reviewed mapping tables (:mod:`feedback_nlp.train.data`).

Calibration and touchpoint thresholds are tuned on a held-out share of the corpus only: it is the
sample that looks like what users send.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from feedback_nlp.corpus.annotations import CORPUS_LABELS, load_cx_corpus
from feedback_nlp.corpus.sources import read_source
from feedback_nlp.errors import DataError
from feedback_nlp.pipeline import channel_touchpoint
from feedback_nlp.taxonomy.keywords import KeywordMatcher
from feedback_nlp.taxonomy.labels import Taxonomy
from feedback_nlp.text import prepare_texts
from feedback_nlp.train.data import TrainingTable, gold_key
from feedback_nlp.train.datasets import load_gold

logger = logging.getLogger(__name__)

FRAME_COLUMNS = ["text", "source", "kind", "sentiment", "journey_stage", "split", "weight", "origin"]

#: Sources whose own labels give sentiment (and, for some, a stage or a touchpoint).
NATIVE_SOURCES = ("brand_complaint_tweets", "neobank_app_reviews", "nhs_patient_surveys", "helpdesk_csat_survey")


def corpus_table(
    data_dir: Path,
    taxonomy: Taxonomy,
    *,
    weight: float,
    eval_fraction: float,
    seed: int,
    labels_path: Path = CORPUS_LABELS,
    rounds: Sequence[int] = (),
    source_balance: float = 0.0,
) -> TrainingTable:
    """The annotated corpus as training rows: every label known, a held-out share for calibration.

    ``rounds`` keeps only the labels of those labelling rounds (empty: every round).
    ``source_balance`` weighs rows by :func:`source_balanced_weights` (0: every row ``weight``).
    """
    joined = load_cx_corpus(data_dir, labels_path)
    if joined.missing or joined.changed:
        logger.warning(
            "corpus: %d labelled rows missing from the shared data, %d with a changed text (left out)",
            len(joined.missing),
            len(joined.changed),
        )
    frame = joined.frame
    if rounds and not frame.empty:
        frame = frame[frame["round"].isin(list(rounds))].reset_index(drop=True)
    if frame.empty:
        raise DataError(
            f"No corpus label could be joined with a text in {data_dir}"
            + (f" among labelling rounds {list(rounds)}" if rounds else "")
            + "."
        )
    rng = np.random.default_rng(seed)
    # The corpus is labelled with the default taxonomy. As for the mapped rows
    # (train/data.py), a stage the configured taxonomy lacks becomes unknown.
    stages = [stage if stage in taxonomy.stage_labels else None for stage in frame["journey_stage"]]
    outside = sorted({str(stage) for stage in frame["journey_stage"]} - set(taxonomy.stage_labels))
    if outside:
        logger.info(
            "corpus: stages %s are not stages of taxonomy %s: %d rows' stage left unknown",
            outside,
            taxonomy.name,
            sum(stage is None for stage in stages),
        )
    out = pd.DataFrame(
        {
            "text": frame["text"],
            "source": frame["source"],
            "kind": frame["kind"],
            "sentiment": frame["sentiment"],
            "journey_stage": pd.Series(stages, index=frame.index, dtype=object),
            "split": np.where(rng.random(len(frame)) < eval_fraction, "eval", "train"),
            "weight": weight * source_balanced_weights(frame["source"], source_balance),
            "origin": "corpus",
            "industry": frame["industry"],
            "channel": frame["channel"],
            "round": frame["round"],
        }
    )
    labels = taxonomy.touchpoint_labels
    # Touchpoints the taxonomy lacks are dropped from each row; a touchpoint of the taxonomy that
    # the annotators were not asked about (not a default one) is unknown, not absent.
    annotated = set(Taxonomy.default().touchpoint_labels)
    unasked = [label for label in labels if label not in annotated]
    if unasked:
        logger.info("corpus: touchpoints %s were not annotated: unknown on the corpus rows", unasked)
    matrix = np.array(
        [
            [(1.0 if label in set(tps) else 0.0) if label in annotated else np.nan for label in labels]
            for tps in frame["touchpoints"]
        ],
        dtype=np.float32,
    ).reshape(len(frame), len(labels))
    return TrainingTable(out.reset_index(drop=True), matrix, labels, {"cx_corpus": {"used": len(out)}})


def source_balanced_weights(sources: pd.Series, power: float) -> np.ndarray:
    """Row weights that even out the sources: ``(mean rows per source / rows of this source) ** power``.

    Power 0 weighs every row 1; power 1 gives every source the same total weight. The weights
    are scaled to a mean of 1, so the corpus keeps its total weight against the other tables.

    Examples:
        >>> source_balanced_weights(pd.Series(["a", "a", "a", "b"]), 1.0).round(3).tolist()
        [0.667, 0.667, 0.667, 2.0]
    """
    if power == 0.0 or sources.empty:
        return np.ones(len(sources))
    counts = sources.map(sources.value_counts()).to_numpy(dtype=float)
    raw = (len(sources) / sources.nunique()) / counts
    weights = raw**power
    return weights / weights.mean()


#: "No label" for np.where / np.select: None as a 0-d object array (numpy's stubs refuse a bare None there).
_NO_LABEL = np.array(None, dtype=object)


def _native_sentiment(source: str, native: pd.Series) -> pd.Series:
    """Sentiment from a source's own label string (see ``feedback_nlp.corpus.sources``)."""
    fields = native.str.split("|").str[0].str.split("=")
    name, value = fields.str[0], pd.to_numeric(fields.str[1], errors="coerce")
    if source == "brand_complaint_tweets":  # complaint=1 is a stated problem; complaint=0 mixes the rest
        return pd.Series(np.where(value == 1, "negative", _NO_LABEL), index=native.index, dtype=object)
    if source == "neobank_app_reviews":  # 1-2 stars negative, 4-5 positive, 3 mixed (left out)
        return pd.Series(
            np.select([value <= 2, value >= 4], ["negative", "positive"], _NO_LABEL), index=native.index, dtype=object
        )
    if source == "nhs_patient_surveys":
        # v6: comment sentiment 1 very positive .. 5 very negative; phase 1: criticality -5 .. +3.
        v6 = name == "sentiment"
        result = np.where(
            v6,
            np.select([value <= 2, value == 3, value >= 4], ["positive", "neutral", "negative"], _NO_LABEL),
            np.select([value < 0, value > 0], ["negative", "positive"], _NO_LABEL),
        )
        return pd.Series(result, index=native.index, dtype=object)
    if source == "helpdesk_csat_survey":  # 1 reports a problem, 4 is praise; 2 and 3 are unclear
        return pd.Series(
            np.select([value == 1, value == 4], ["negative", "positive"], _NO_LABEL), index=native.index, dtype=object
        )
    raise DataError(f"No native sentiment rule for '{source}'; expected one of {list(NATIVE_SOURCES)}")


def native_table(
    data_dir: Path,
    taxonomy: Taxonomy,
    *,
    sources: list[str],
    max_per_source: int,
    seed: int,
    exclude: set[str],
    general_tweets: int,
    weight: float = 1.0,
) -> TrainingTable:
    """The new sets' own labels as training rows (sentiment; stage and touchpoints mostly unknown).

    ``exclude`` holds :func:`gold_key` values of texts to leave out (the gold set, the corpus).
    """
    labels = taxonomy.touchpoint_labels
    frames, matrices = [], []
    for source in sources:
        rows = read_source(source, data_dir)
        rows = rows[~rows["text"].map(gold_key).isin(exclude)]
        general = rows["industry"] == "general"
        brand = rows[~general].assign(sentiment=_native_sentiment(source, rows.loc[~general, "native"]))
        brand = brand[brand["sentiment"].notna()]
        brand = brand.sample(n=min(max_per_source, len(brand)), random_state=seed)
        # Sentiment only: a source-wide stage ("a help-desk survey is about support") taught that a
        # survey praising staff is about support, and NHS answers about care went that way too.
        brand["journey_stage"] = None
        matrix = np.full((len(brand), len(labels)), np.nan, dtype=np.float32)
        if source == "neobank_app_reviews" and "mobile_app" in labels:  # an app review is about the app
            matrix[:, labels.index("mobile_app")] = 1.0
        frames.append(brand)
        matrices.append(matrix)
        if general.any() and general_tweets:
            # Tweets about nothing a company does: stage none, no touchpoint, sentiment unknown.
            plain = rows[general].sample(n=min(general_tweets, int(general.sum())), random_state=seed)
            frames.append(plain.assign(sentiment=None, journey_stage="none"))
            matrices.append(np.zeros((len(plain), len(labels)), dtype=np.float32))
    frame = pd.concat(frames, ignore_index=True)
    out = pd.DataFrame(
        {
            "text": frame["text"],
            "source": frame["source"],
            "kind": frame["kind"],
            "sentiment": frame["sentiment"],
            "journey_stage": frame["journey_stage"],
            "split": "train",
            "weight": weight,
            "origin": "native",
            "industry": frame["industry"],
        }
    )
    used = out.groupby("source").size().to_dict()
    return TrainingTable(
        out, np.vstack(matrices), labels, {f"{s} (native labels)": {"used": n} for s, n in used.items()}
    )


def channel_from_record(table: TrainingTable, taxonomy: Taxonomy) -> TrainingTable:
    """``table`` with each transcript row's declared-channel touchpoint left unknown (NaN) unless
    the text names that channel (the taxonomy's keywords, in the text the encoder sees).

    The annotators give a call transcript `phone` and a chat `chat` (docs/taxonomy.md, ruling 3)
    because of where the conversation happened, which the text seldom says. Serving adds that
    touchpoint from the record's ``channel`` (:func:`feedback_nlp.pipeline.channel_touchpoint`);
    a head trained on those labels learns to call any dialogue turn a phone call instead.
    """
    frame = table.frame
    channels = frame["channel"] if "channel" in frame else pd.Series(None, index=frame.index)
    declared = {
        row: touchpoint
        for row, (kind, channel) in enumerate(zip(frame["kind"].astype(str), channels.fillna(""), strict=True))
        if (touchpoint := channel_touchpoint(kind, channel)) in table.touchpoint_labels
    }
    if not declared:
        return table
    rows = list(declared)
    matcher = KeywordMatcher(taxonomy)
    named = matcher.features(prepare_texts(frame["text"].iloc[rows], frame["kind"].iloc[rows]))
    touchpoints = table.touchpoints.copy()
    left = 0
    for row, hits in zip(rows, named, strict=True):
        label = str(declared[row])
        if not hits[matcher.labels.index(label)]:
            touchpoints[row, table.touchpoint_labels.index(label)] = np.nan
            left += 1
    logger.info(
        "corpus: %d of %d transcript rows with a declared channel leave its touchpoint to the record "
        "(their text does not name it)",
        left,
        len(rows),
    )
    return TrainingTable(frame, touchpoints, table.touchpoint_labels, table.fingerprints)


def combine(tables: list[TrainingTable]) -> TrainingTable:
    """One table from several; rows keep their own split, weight and origin."""
    frames = []
    for table in tables:
        frame = table.frame.copy()
        for column, default in (("weight", 1.0), ("origin", "mapped"), ("industry", "")):
            if column not in frame:
                frame[column] = default
        frames.append(frame)
    fingerprints: dict[str, dict[str, object]] = {}
    for table in tables:
        fingerprints.update(table.fingerprints)
    return TrainingTable(
        pd.concat(frames, ignore_index=True),
        np.vstack([t.touchpoints for t in tables]),
        tables[0].touchpoint_labels,
        fingerprints,
    )


def exclusion_keys(gold_path: Path | None, corpus: TrainingTable | None) -> set[str]:
    """Texts no other row may repeat: the gold set's (never trained on) and the corpus's."""
    keys: set[str] = set()
    if gold_path is not None and gold_path.exists():
        keys |= {gold_key(t) for t in load_gold(gold_path)["text"]}
    if corpus is not None:
        keys |= {gold_key(t) for t in corpus.frame["text"]}
    return keys
