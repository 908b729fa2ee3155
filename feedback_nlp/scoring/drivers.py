"""What moves the scores: topic impact on touchpoint NSS, and relative importance for NPS.

:func:`key_drivers` asks, for each touchpoint, how much its NSS would change if one
topic's mentions were taken out. :func:`nps_importance` splits the variance of NPS
answers that topics and touchpoints explain among them with Johnson's relative weights.

Examples:
    >>> key_drivers(records)[["touchpoint", "topic", "impact"]]        # doctest: +SKIP
    >>> nps_importance(records, min_count=20)                           # doctest: +SKIP
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from feedback_nlp.errors import DataError
from feedback_nlp.scoring.aggregate import combine_counts, group_counts
from feedback_nlp.scoring.frame import mentions, record_touchpoints
from feedback_nlp.scoring.scores import net_score_interval

logger = logging.getLogger(__name__)

__all__ = [
    "DRIVER_COLUMNS",
    "IMPORTANCE_COLUMNS",
    "key_drivers",
    "key_drivers_from_counts",
    "nps_importance",
    "relative_weights",
]

#: Columns of :func:`key_drivers`.
DRIVER_COLUMNS: tuple[str, ...] = (
    "touchpoint", "topic", "volume", "share", "topic_nss",
    "touchpoint_volume", "touchpoint_nss", "nss_without", "impact", "low_volume",
)  # fmt: skip

#: Columns of :func:`nps_importance`.
IMPORTANCE_COLUMNS: tuple[str, ...] = (
    "predictor_type", "predictor", "n", "mean_nps_with", "mean_nps_without",
    "correlation", "raw_weight", "share_of_r2", "r_squared",
)  # fmt: skip

# Eigenvalues below this fraction of the largest are treated as 0 (collinear indicators).
_EIGEN_TOLERANCE = 1e-10


# ---------------------------------------------------------------------------- key drivers


def key_drivers(records: pd.DataFrame, *, min_volume: int = 30) -> pd.DataFrame:
    """Each topic's impact on each touchpoint's Net Sentiment Score.

    Counts mentions (:func:`~feedback_nlp.scoring.frame.mentions`): a touchpoint's NSS
    uses every mention of it; a topic's part is the mentions of records with that topic.

    Args:
        records: A records frame.
        min_volume: Topic rows with fewer mentions are flagged ``low_volume``.

    Returns:
        See :func:`key_drivers_from_counts`.
    """
    counts = group_counts(mentions(records), ["touchpoint", "topic_label"])
    return key_drivers_from_counts(counts, min_volume=min_volume)


def key_drivers_from_counts(counts: pd.DataFrame, *, min_volume: int = 30) -> pd.DataFrame:
    """Topic impact on touchpoint NSS from a count table keyed by ``touchpoint`` and ``topic_label``.

    For touchpoint ``t`` with ``n_t`` mentions and topic ``k`` with ``n_tk`` of them:

    ``impact = NSS_t − NSS_{t without k}
    = (n_tk / n_t) × (NSS_tk − NSS_{t without k})``,

    where ``NSS_{t without k} = 100 × ((P_t − P_tk) − (N_t − N_tk)) / (n_t − n_tk)`` with
    ``P``/``N`` the positive/negative counts. The impact is in NSS points, weighted by the
    topic's share of the touchpoint: positive means the topic pulls the touchpoint's
    score up. Mentions without a topic count in the touchpoint's totals only.

    Args:
        counts: A count table with keys ``touchpoint`` and ``topic_label``.
        min_volume: Topic rows with fewer mentions than this are flagged ``low_volume``.

    Returns:
        :data:`DRIVER_COLUMNS`: ``volume`` (``n_tk``), ``share`` (``n_tk / n_t``),
        ``topic_nss`` (``NSS_tk``), ``touchpoint_volume``, ``touchpoint_nss``,
        ``nss_without`` and ``impact`` (NaN when the topic holds all the touchpoint's
        mentions), ``low_volume``. One row per (touchpoint, topic), sorted by touchpoint,
        then impact (most negative first, NaN last), then topic.
    """
    totals = combine_counts(counts, ["touchpoint"])[["touchpoint", "n", "n_positive", "n_negative"]]
    topics = counts[counts["topic_label"].notna()]
    table = topics.merge(totals, on="touchpoint", suffixes=("", "_t"), validate="many_to_one")
    used = ("n", "n_positive", "n_negative", "n_t", "n_positive_t", "n_negative_t")
    c = {name: table[name].to_numpy(dtype="float64") for name in used}
    rest_plus, rest_minus = c["n_positive_t"] - c["n_positive"], c["n_negative_t"] - c["n_negative"]
    out = pd.DataFrame({"touchpoint": table["touchpoint"], "topic": table["topic_label"]})
    out["volume"] = table["n"].astype("int64")
    out["share"] = table["n"] / table["n_t"]
    out["topic_nss"] = net_score_interval(c["n_positive"], c["n_negative"], c["n"], 0.0)[0]
    out["touchpoint_volume"] = table["n_t"].astype("int64")
    out["touchpoint_nss"] = net_score_interval(c["n_positive_t"], c["n_negative_t"], c["n_t"], 0.0)[0]
    out["nss_without"] = net_score_interval(rest_plus, rest_minus, c["n_t"] - c["n"], 0.0)[0]
    out["impact"] = out["touchpoint_nss"] - out["nss_without"]
    out["low_volume"] = out["volume"] < min_volume
    out = out.sort_values("topic", kind="mergesort").sort_values(["touchpoint", "impact"], kind="mergesort")
    return out.reset_index(drop=True)[list(DRIVER_COLUMNS)]


# ---------------------------------------------------------------------------- relative weights


def relative_weights(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
    """Johnson's (2000) relative weights: each predictor's share of the R² of ``y`` on ``X``.

    With ``R = V Δ Vᵀ`` the predictors' correlation matrix, ``Λ = V Δ^½ Vᵀ`` relates the
    predictors to their closest orthogonal counterparts ``Z``; ``β = Λ⁺ r`` regresses
    ``y`` on ``Z`` (``r``: correlations of the predictors with ``y``) and predictor ``j``
    gets ``ε_j = Σ_k Λ_jk² β_k²``. The weights are non-negative and sum to the R² of the
    least-squares fit with an intercept. Collinear predictors (eigenvalues ≈ 0) are
    handled with the pseudo-inverse, which keeps the sum equal to R².

    Args:
        X: ``(n, p)`` predictors; no constant columns.
        y: ``(n,)`` outcome, not constant.

    Returns:
        ``(weights, r_squared)``.

    Raises:
        DataError: Fewer than 2 rows, a constant column or a constant ``y``.

    Examples:
        >>> X = np.array([[1, 1], [1, 0], [0, 1], [0, 0]], dtype=float)
        >>> weights, r2 = relative_weights(X, np.array([10.0, 8.0, 6.0, 0.0]))
        >>> np.round(weights, 4).tolist(), round(r2, 4)
        ([0.6429, 0.2857], 0.9286)
    """
    X = np.asarray(X, dtype="float64")
    y = np.asarray(y, dtype="float64")
    if X.ndim != 2 or X.shape[0] != y.shape[0] or X.shape[0] < 2:
        raise DataError(f"expected X of shape (n, p) and y of shape (n,) with n >= 2, got {X.shape} and {y.shape}")
    sd_x, sd_y = X.std(axis=0), y.std()
    if sd_y == 0 or np.any(sd_x == 0):
        raise DataError(
            "relative weights need varying predictors and outcome; drop constant columns "
            f"(column sds {np.round(sd_x, 4).tolist()}, outcome sd {sd_y:.4g})"
        )
    Zx = (X - X.mean(axis=0)) / sd_x
    zy = (y - y.mean()) / sd_y
    R = Zx.T @ Zx / len(y)
    r = Zx.T @ zy / len(y)
    eigenvalues, V = np.linalg.eigh(R)
    eigenvalues = np.clip(eigenvalues, 0.0, None)
    keep = eigenvalues > _EIGEN_TOLERANCE * eigenvalues.max()
    Lam = (V * np.sqrt(eigenvalues)) @ V.T
    beta = (V[:, keep] / np.sqrt(eigenvalues[keep])) @ (V[:, keep].T @ r)
    weights = (Lam**2) @ (beta**2)
    return weights, float(beta @ beta)


def nps_importance(records: pd.DataFrame, *, min_count: int = 5) -> pd.DataFrame:
    """The relative importance of topics and touchpoints for the NPS answer.

    Only records with an NPS answer count. Each topic and each touchpoint (as
    :func:`~feedback_nlp.scoring.frame.mentions` counts them) becomes a 0/1 indicator;
    the answer (0-10) is regressed on all of them and :func:`relative_weights` splits the
    R² among them. The weights say how much each explains, not in which direction:
    ``correlation`` and the two means give the direction.

    Args:
        records: A records frame.
        min_count: Indicators set in fewer answers than this (or in all of them) are left out.

    Returns:
        :data:`IMPORTANCE_COLUMNS`: ``predictor_type`` (``topic``/``touchpoint``),
        ``predictor``, ``n`` (answers with it), ``mean_nps_with``/``mean_nps_without``
        (mean answer), ``correlation`` (with the answer), ``raw_weight`` (``ε_j``; they
        sum to R²), ``share_of_r2`` (``100 × ε_j / R²``), ``r_squared``. Sorted by
        ``raw_weight`` (largest first), then type and name.

    Raises:
        DataError: Fewer than 3 answers, all answers equal, or no indicator left.
    """
    answered = records[records["nps"].notna()].reset_index(drop=True)
    y = answered["nps"].to_numpy(dtype="float64")
    if len(y) < 3 or np.all(y == y[0]):
        raise DataError(
            f"NPS importance needs at least 3 NPS answers that differ; got {len(y)} answer(s). "
            "Score a longer period or more sources"
        )
    columns = _indicators(answered)
    counts = {name: int(col.sum()) for name, col in columns.items()}
    kept = [name for name, count in counts.items() if min_count <= count < len(y)]
    if not kept:
        raise DataError(
            f"no topic or touchpoint is set in at least min_count={min_count} of the {len(y)} NPS answers "
            "(and not in all of them); lower min_count or score more records"
        )
    X = np.column_stack([columns[name] for name in kept])
    weights, r2 = relative_weights(X, y)
    out = pd.DataFrame({"predictor_type": [k[0] for k in kept], "predictor": [k[1] for k in kept]})
    out["n"] = [counts[k] for k in kept]
    out["mean_nps_with"] = [float(y[X[:, j] == 1].mean()) for j in range(len(kept))]
    out["mean_nps_without"] = [float(y[X[:, j] == 0].mean()) for j in range(len(kept))]
    out["correlation"] = [float(np.corrcoef(X[:, j], y)[0, 1]) for j in range(len(kept))]
    out["raw_weight"] = weights
    out["share_of_r2"] = 100.0 * weights / r2 if r2 > 0 else np.nan
    out["r_squared"] = r2
    out = out.sort_values(["predictor_type", "predictor"], kind="mergesort")
    out = out.sort_values("raw_weight", ascending=False, kind="mergesort")
    return out.reset_index(drop=True)[list(IMPORTANCE_COLUMNS)]


def _indicators(records: pd.DataFrame) -> dict[tuple[str, str], np.ndarray]:
    """0/1 columns keyed by ``(type, name)``: one per topic label and per touchpoint, sorted."""
    out: dict[tuple[str, str], np.ndarray] = {}
    topics = records["topic_label"]
    for name in sorted(topics.dropna().unique()):
        out[("topic", str(name))] = topics.eq(name).to_numpy(dtype="float64")
    touchpoints = record_touchpoints(records)
    for name in sorted({t for names in touchpoints for t in names}):
        out[("touchpoint", name)] = np.array([name in names for names in touchpoints], dtype="float64")
    return out
