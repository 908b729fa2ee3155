"""Scores from count tables, and the tables that dashboards ask for.

:func:`scores_from_counts` is the one place where formulas live: it reads a count table
(:mod:`feedback_nlp.scoring.aggregate`) from any engine. The other functions are
conveniences over a records frame (:mod:`feedback_nlp.scoring.frame`), counted by the
local DuckDB engine (:mod:`feedback_nlp.scoring.duck`); the formulas are written out in ``docs/scores.md``.

Examples:
    >>> touchpoint_scores(records, period="week")                  # doctest: +SKIP
    >>> trends(records, "month", level="touchpoint")               # doctest: +SKIP
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy.stats import norm
from scipy.stats import t as student_t

from feedback_nlp.errors import InputError
from feedback_nlp.scoring.aggregate import (
    COUNT_COLUMNS,
    SCORE_SCALE,
    Period,
    add_period,
    group_counts,
    shift_period,
)
from feedback_nlp.scoring.frame import MENTION_COLUMNS, mentions, with_fields

logger = logging.getLogger(__name__)

__all__ = [
    "SCORE_COLUMNS",
    "TREND_COLUMNS",
    "dated",
    "journey_matrix",
    "net_score_interval",
    "record_counts",
    "scores_from_counts",
    "segment_scores",
    "stage_scores",
    "touchpoint_counts",
    "touchpoint_scores",
    "trends",
    "trends_from_counts",
    "wilson_interval",
    "z_value",
]

#: Columns of :func:`scores_from_counts` after the group keys.
SCORE_COLUMNS: tuple[str, ...] = (
    "volume", "n_negative", "n_neutral", "n_positive",
    "share_negative", "share_neutral", "share_positive",
    "nss", "nss_se", "nss_low", "nss_high",
    "mean_score", "mean_score_low", "mean_score_high",
    "n_nps", "n_promoters", "n_detractors", "nps", "nps_se", "nps_low", "nps_high",
    "n_csat", "n_satisfied", "csat", "csat_low", "csat_high",
    "low_volume",
)  # fmt: skip

#: Columns :func:`trends_from_counts` adds after :data:`SCORE_COLUMNS`.
TREND_COLUMNS: tuple[str, ...] = ("previous_volume", "previous_nss", "nss_change", "z", "p_value", "significant")

_JOURNEY_COLUMNS = ("volume", "nss", "nss_low", "nss_high", "low_volume")


# ---------------------------------------------------------------------------- formulas


def z_value(confidence: float) -> float:
    """The two-sided normal quantile of a confidence level (1.959964 for 0.95).

    Raises:
        InputError: ``confidence`` is not strictly between 0 and 1.
    """
    if not 0.0 < confidence < 1.0:
        raise InputError(f"confidence must be in (0, 1), e.g. 0.95; got {confidence}")
    return float(norm.ppf(0.5 + confidence / 2.0))


def net_score_interval(
    n_plus: np.ndarray, n_minus: np.ndarray, n: np.ndarray, z: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A net score 100 × (p₊ − p₋) with its standard error and normal-approximation interval.

    ``p₊`` and ``p₋`` are two shares of one multinomial sample of size ``n``, so
    ``Var(p₊ − p₋) = (p₊ + p₋ − (p₊ − p₋)²) / n``. The interval is clipped to [−100, 100].
    Net Sentiment Score and NPS both use this.

    Args:
        n_plus: Counts of the positive class (positive texts, promoters).
        n_minus: Counts of the negative class (negative texts, detractors).
        n: Sample sizes; where 0 every output is NaN.
        z: The normal quantile (:func:`z_value`).

    Returns:
        ``(score, se, low, high)``, all on the 100-point scale.

    Examples:
        >>> [round(float(x[0]), 2) for x in net_score_interval(np.array([6]), np.array([2]), np.array([10]), 1.96)]
        [40.0, 25.3, -9.58, 89.58]
    """
    size = np.asarray(n, dtype="float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        p_plus = np.where(size > 0, np.asarray(n_plus, dtype="float64") / size, np.nan)
        p_minus = np.where(size > 0, np.asarray(n_minus, dtype="float64") / size, np.nan)
        diff = p_plus - p_minus
        se = np.sqrt(np.maximum(p_plus + p_minus - diff * diff, 0.0) / size)
    score = 100.0 * diff
    low = np.clip(score - 100.0 * z * se, -100.0, 100.0)
    high = np.clip(score + 100.0 * z * se, -100.0, 100.0)
    return score, 100.0 * se, low, high


def wilson_interval(k: np.ndarray, n: np.ndarray, z: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A share 100 × k / n with its Wilson score interval (stays inside [0, 100]).

    Args:
        k: Successes (satisfied ratings).
        n: Trials (ratings given); where 0 every output is NaN.
        z: The normal quantile (:func:`z_value`).

    Returns:
        ``(share, low, high)`` on the 100-point scale.

    Examples:
        >>> [round(float(x[0]), 2) for x in wilson_interval(np.array([3]), np.array([4]), 1.96)]
        [75.0, 30.06, 95.44]
    """
    size = np.asarray(n, dtype="float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.where(size > 0, np.asarray(k, dtype="float64") / size, np.nan)
        z2n = z * z / size
        centre = (p + z2n / 2.0) / (1.0 + z2n)
        half = z / (1.0 + z2n) * np.sqrt(p * (1.0 - p) / size + z2n / (4.0 * size))
    return 100.0 * p, 100.0 * (centre - half), 100.0 * (centre + half)


def _mean_interval(
    total_e5: np.ndarray, total_sq_e10: np.ndarray, n: np.ndarray, confidence: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean score with a Student-t interval from the fixed-point sums (NaN bounds below n = 2)."""
    size = np.asarray(n, dtype="float64")
    total = np.asarray(total_e5, dtype="float64") / SCORE_SCALE
    total_sq = np.asarray(total_sq_e10, dtype="float64") / (SCORE_SCALE * SCORE_SCALE)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.where(size > 0, total / size, np.nan)
        variance = np.maximum(total_sq - total * mean, 0.0) / (size - 1.0)
        half = student_t.ppf(0.5 + confidence / 2.0, np.where(size > 1, size - 1.0, np.nan)) * np.sqrt(variance / size)
    half = np.where(size > 1, half, np.nan)
    return mean, np.clip(mean - half, -1.0, 1.0), np.clip(mean + half, -1.0, 1.0)


def scores_from_counts(counts: pd.DataFrame, *, min_volume: int = 30, confidence: float = 0.95) -> pd.DataFrame:
    """Every score of every group of a count table, with confidence intervals.

    Args:
        counts: A count table: group keys, then :data:`~feedback_nlp.scoring.aggregate.COUNT_COLUMNS`.
        min_volume: Groups with fewer rows are flagged ``low_volume``.
        confidence: Level of every interval.

    Returns:
        The group keys (every column that is not a count column, in order), then
        :data:`SCORE_COLUMNS`:

        - ``volume``: rows (texts, or mentions) in the group; ``n_*`` the label counts.
        - ``share_*``: label shares in [0, 1].
        - ``nss``: Net Sentiment Score 100 × (positive − negative) / volume, in [−100, 100];
          ``nss_se`` its standard error, ``nss_low``/``nss_high`` the normal interval
          (:func:`net_score_interval`).
        - ``mean_score``: mean sentiment score in [−1, 1] with a Student-t interval.
        - ``nps``: 100 × (promoters − detractors) / ``n_nps`` with the same interval as NSS;
          NaN where nobody answered.
        - ``csat``: 100 × ``n_satisfied`` / ``n_csat`` with a Wilson interval; NaN without ratings.
        - ``low_volume``: ``volume < min_volume``.

        Row order is the count table's.

    Raises:
        InputError: A count column is missing, or ``confidence``/``min_volume`` is out of range.
    """
    missing = [c for c in COUNT_COLUMNS if c not in counts.columns]
    if missing:
        raise InputError(
            f"scores_from_counts needs a count table; column(s) {missing} are missing (got "
            f"{list(map(str, counts.columns))}). Build one with group_counts or duck_counts"
        )
    if min_volume < 0:
        raise InputError(f"min_volume must be 0 or more, got {min_volume}")
    z = z_value(confidence)
    keys = [c for c in counts.columns if c not in COUNT_COLUMNS]
    c = {name: counts[name].to_numpy(dtype="float64") for name in COUNT_COLUMNS}
    out = counts[keys].copy()
    out["volume"] = counts["n"].astype("int64")
    for label in ("negative", "neutral", "positive"):
        out[f"n_{label}"] = counts[f"n_{label}"].astype("int64")
    with np.errstate(divide="ignore", invalid="ignore"):
        for label in ("negative", "neutral", "positive"):
            out[f"share_{label}"] = np.where(c["n"] > 0, c[f"n_{label}"] / c["n"], np.nan)
    nss = net_score_interval(c["n_positive"], c["n_negative"], c["n"], z)
    out["nss"], out["nss_se"], out["nss_low"], out["nss_high"] = nss
    out["mean_score"], out["mean_score_low"], out["mean_score_high"] = _mean_interval(
        c["sum_score_e5"], c["sum_score_sq_e10"], c["n"], confidence
    )
    for name in ("n_nps", "n_promoters", "n_detractors"):
        out[name] = counts[name].astype("int64")
    out["nps"], out["nps_se"], out["nps_low"], out["nps_high"] = net_score_interval(
        c["n_promoters"], c["n_detractors"], c["n_nps"], z
    )
    for name in ("n_csat", "n_satisfied"):
        out[name] = counts[name].astype("int64")
    out["csat"], out["csat_low"], out["csat_high"] = wilson_interval(c["n_satisfied"], c["n_csat"], z)
    out["low_volume"] = c["n"] < min_volume
    return out.reset_index(drop=True)


# ---------------------------------------------------------------------------- conveniences


def dated(records: pd.DataFrame, period: Period | None) -> pd.DataFrame:
    """``records`` with a ``period`` column, leaving out records without ``created_at``.

    With ``period=None`` the frame comes back unchanged.
    """
    if period is None:
        return records
    frame = add_period(records, period)
    undated = frame["period"].isna()
    if undated.any():
        logger.info("%d record(s) without created_at left out of the %s breakdown", int(undated.sum()), period)
        frame = frame[~undated].reset_index(drop=True)
    return frame


def _keys(first: Sequence[str], by: Sequence[str], period: Period | None) -> list[str]:
    return list(dict.fromkeys([*first, *by, *(["period"] if period else [])]))


def _as_list(by: str | Sequence[str]) -> list[str]:
    return [by] if isinstance(by, str) else list(by)


def touchpoint_counts(records: pd.DataFrame, period: Period | None = None, by: Sequence[str] = ()) -> pd.DataFrame:
    """The count table of mentions by ``touchpoint``, then ``by``, then ``period``.

    ``by`` holds record columns or metadata keys (:func:`~feedback_nlp.scoring.frame.with_fields`).
    """
    frame = dated(records, period)
    meta = [b for b in by if b not in frame.columns and b not in MENTION_COLUMNS]
    return group_counts(mentions(frame, metadata_keys=meta), _keys(["touchpoint"], by, period))


def record_counts(records: pd.DataFrame, by: Sequence[str], period: Period | None = None) -> pd.DataFrame:
    """The count table of records by ``by`` (columns or metadata keys), then ``period``."""
    frame = with_fields(dated(records, period), by)
    return group_counts(frame, _keys([], by, period))


def touchpoint_scores(
    records: pd.DataFrame,
    period: Period | None = None,
    by: Sequence[str] = (),
    *,
    min_volume: int = 30,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Scores per touchpoint, counting each mention (a text counts toward each of its touchpoints).

    Args:
        records: A records frame.
        period: Also break down by ``"day"``, ``"week"`` or ``"month"`` (records without
            ``created_at`` are then left out).
        by: Further breakdowns: record columns (``source``, ``kind``, ``journey_stage``)
            or metadata keys.
        min_volume: See :func:`scores_from_counts`.
        confidence: See :func:`scores_from_counts`.

    Returns:
        ``touchpoint``, ``by``…, ``period`` (if asked), then :data:`SCORE_COLUMNS`; sorted by the keys.

    Examples:
        >>> touchpoint_scores(records)[["touchpoint", "volume", "nss"]]   # doctest: +SKIP
    """
    counts = touchpoint_counts(records, period, by)
    return scores_from_counts(counts, min_volume=min_volume, confidence=confidence)


def stage_scores(
    records: pd.DataFrame,
    period: Period | None = None,
    by: Sequence[str] = (),
    *,
    min_volume: int = 30,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Scores per journey stage; each record counts once, under its stage (``none`` included).

    Returns:
        ``journey_stage``, ``by``…, ``period`` (if asked), then :data:`SCORE_COLUMNS`; sorted by the keys.
    """
    counts = record_counts(records, ["journey_stage", *by], period)
    return scores_from_counts(counts, min_volume=min_volume, confidence=confidence)


def segment_scores(
    records: pd.DataFrame,
    by_field: str | Sequence[str],
    period: Period | None = None,
    *,
    min_volume: int = 30,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Scores per customer segment: a record field (``source``, ``kind``) or a metadata key.

    Each record counts once. Metadata values are grouped as text (strings as they are,
    numbers and booleans as JSON: ``3``, ``true``); records without the key form the
    ``None`` group.

    Returns:
        ``by_field``…, ``period`` (if asked), then :data:`SCORE_COLUMNS`; sorted by the keys.

    Raises:
        InputError: A field is neither a column nor a metadata key of any record.

    Examples:
        >>> segment_scores(records, "region")[["region", "volume", "nps"]]   # doctest: +SKIP
    """
    counts = record_counts(records, _as_list(by_field), period)
    return scores_from_counts(counts, min_volume=min_volume, confidence=confidence)


def journey_matrix(
    records: pd.DataFrame, period: Period | None = None, *, min_volume: int = 30, confidence: float = 0.95
) -> pd.DataFrame:
    """Volume and NSS of every (journey stage, touchpoint) pair, counting mentions.

    Long format, one row per pair present;
    ``table.pivot(index="journey_stage", columns="touchpoint", values="nss")`` gives the grid.

    Returns:
        ``journey_stage``, ``touchpoint``, ``period`` (if asked), ``volume``, ``nss``,
        ``nss_low``, ``nss_high``, ``low_volume``; sorted by the keys.
    """
    frame = dated(records, period)
    keys = _keys(["journey_stage", "touchpoint"], (), period)
    scores = scores_from_counts(group_counts(mentions(frame), keys), min_volume=min_volume, confidence=confidence)
    return scores[[*keys, *_JOURNEY_COLUMNS]]


def trends(
    records: pd.DataFrame,
    period: Period,
    level: str = "touchpoint",
    *,
    min_volume: int = 30,
    confidence: float = 0.95,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Scores per period and their change against the previous period, with a significance test.

    Args:
        records: A records frame; records without ``created_at`` are left out.
        period: ``"day"``, ``"week"`` or ``"month"``.
        level: ``"touchpoint"`` (counts mentions), ``"topic"`` (by ``topic_label``),
            ``"overall"`` (one series), or any record column or metadata key
            (``"journey_stage"``, ``"source"``, ...).
        min_volume: See :func:`scores_from_counts`.
        confidence: See :func:`scores_from_counts`.
        alpha: Significance level of the change test.

    Returns:
        See :func:`trends_from_counts`.
    """
    if level == "touchpoint":
        counts = touchpoint_counts(records, period)
    else:
        keys = [] if level == "overall" else ["topic_label" if level == "topic" else level]
        counts = record_counts(records, keys, period)
    return trends_from_counts(counts, period, min_volume=min_volume, confidence=confidence, alpha=alpha)


def trends_from_counts(
    counts: pd.DataFrame, period: Period, *, min_volume: int = 30, confidence: float = 0.95, alpha: float = 0.05
) -> pd.DataFrame:
    """Change of each series' NSS against its previous calendar period, from a count table.

    The change ``d = NSS_t − NSS_{t−1}`` is tested with a two-sided z test,
    ``z = d / sqrt(se_t² + se_{t−1}²)`` with each period's own NSS standard error
    (:func:`net_score_interval`); the periods are independent samples.

    Args:
        counts: A count table whose keys include ``period`` (the series are the other keys).
        period: The period the table was counted by.
        min_volume: See :func:`scores_from_counts`.
        confidence: See :func:`scores_from_counts`.
        alpha: ``significant`` is ``p_value < alpha``.

    Returns:
        The keys, ``period``, :data:`SCORE_COLUMNS`, then :data:`TREND_COLUMNS`:
        ``previous_volume`` and ``previous_nss`` (NaN when the series had no rows in the
        previous calendar period), ``nss_change``, ``z``, ``p_value`` (NaN when there is no
        previous period or both standard errors are 0) and ``significant``. One row per
        series and period with rows, sorted by the series keys, then ``period``.

    Raises:
        InputError: ``counts`` has no ``period`` key.
    """
    if "period" not in counts.columns:
        raise InputError("trends need a count table with a 'period' key; count with add_period(...) first")
    series = [c for c in counts.columns if c not in COUNT_COLUMNS and c != "period"]
    scores = scores_from_counts(counts, min_volume=min_volume, confidence=confidence)
    before = scores[[*series, "period", "volume", "nss", "nss_se"]].rename(
        columns={"volume": "previous_volume", "nss": "previous_nss", "nss_se": "_previous_se"}
    )
    following = [shift_period(p, period, 1) for p in before["period"]]
    before["period"] = pd.Series(following, index=before.index, dtype=object)
    before = before[before["period"].notna()]  # the last period Python can date has no follower
    out = scores.merge(before, on=[*series, "period"], how="left", validate="one_to_one")
    out["previous_volume"] = out["previous_volume"].astype("float64")
    out["nss_change"] = out["nss"] - out["previous_nss"]
    se = np.sqrt(out["nss_se"] ** 2 + out["_previous_se"] ** 2)
    out["z"] = (out["nss_change"] / se).where(se > 0)
    out["p_value"] = 2.0 * norm.sf(out["z"].abs())
    # Only between periods of min_volume mentions or more: a change from 2 mentions to 1 had p = 2e-5
    # (a single mention's Wald error is 0), and low volumes are flagged as no basis for a finding.
    enough = out["volume"].ge(min_volume) & out["previous_volume"].ge(min_volume)
    out["significant"] = out["p_value"].lt(alpha) & enough
    out = out.drop(columns="_previous_se")
    return out.sort_values([*series, "period"], na_position="last", kind="mergesort").reset_index(drop=True)
