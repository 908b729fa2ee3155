"""Alerts for the latest period: a touchpoint's NSS dropping, a topic's volume spiking.

Both checks compare one period (the latest, by default) with the ``baseline_periods``
calendar periods just before it, and both read count tables only, so any engine can
feed them (:func:`alerts_from_counts`).

- **score_drop**: an EWMA control chart of each touchpoint's NSS. The chart starts at the
  baseline NSS ``μ₀`` and runs over the window's periods with mentions,
  ``z_i = λ x_i + (1 − λ) z_{i−1}``. Each period's NSS has variance ``V₀ / n_i`` (the
  multinomial variance of :func:`~feedback_nlp.scoring.scores.net_score_interval` at the
  baseline shares, each share smoothed with one pseudo-count so that a one-sided baseline
  still varies), so ``Var(z_m) = Σ_i (λ (1 − λ)^{m−i})² V₀ / n_i``. The alert fires when
  ``z_m < μ₀ − L √Var(z_m)``.
- **volume_spike**: a one-sided Poisson test of the period's count of texts with a topic
  against the baseline mean count per period (periods without the topic count as 0).
  The alert fires when the count reaches ``limit``, the smallest count with
  ``P(X ≥ count) ≤ alpha`` and at least ``min_count``, so 2 → 4 texts never alerts.

Examples:
    >>> alerts(records, "week", baseline_periods=8)[["kind", "touchpoint", "topic", "message"]]  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import math
from datetime import date

import numpy as np
import pandas as pd
from scipy.stats import norm, poisson

from feedback_nlp.errors import InputError
from feedback_nlp.scoring.aggregate import Period, check_period, period_start, shift_period
from feedback_nlp.scoring.scores import record_counts, touchpoint_counts

logger = logging.getLogger(__name__)

__all__ = ["ALERT_COLUMNS", "alerts", "alerts_from_counts", "ewma_drop", "poisson_spike"]

#: Columns of :func:`alerts`.
ALERT_COLUMNS: tuple[str, ...] = (
    "kind", "touchpoint", "topic", "period", "volume", "observed", "statistic",
    "expected", "limit", "z", "p_value", "severity", "message",
)  # fmt: skip

#: An alert whose one-sided p-value is below this is ``high`` severity, else ``medium``.
HIGH_SEVERITY_P = 1e-6

# The Poisson mean is floored here, so a topic new in the period still gets a finite test.
_MIN_EXPECTED = 0.5


def alerts(
    records: pd.DataFrame,
    period: Period,
    baseline_periods: int = 8,
    *,
    current: date | None = None,
    lam: float = 0.3,
    limit_sigma: float = 3.0,
    alpha: float = 0.001,
    min_count: int = 10,
    min_baseline_volume: int = 30,
) -> pd.DataFrame:
    """Score drops per touchpoint and volume spikes per topic in one period.

    Args:
        records: A records frame; records without ``created_at`` are left out.
        period: ``"day"``, ``"week"`` or ``"month"``.
        baseline_periods: How many periods before the checked one form the baseline.
        current: The start of the period to check; the latest period with records by default.
        lam: EWMA weight of the newest period (λ).
        limit_sigma: Width of the EWMA control limit in standard deviations (L).
        alpha: Significance level of the volume test.
        min_count: A topic needs at least this many texts in the period to spike.
        min_baseline_volume: A touchpoint needs this many baseline mentions to be charted.

    Returns:
        See :func:`alerts_from_counts`.
    """
    by_touchpoint = touchpoint_counts(records, period)
    by_topic = record_counts(records, ["topic_label"], period)
    return alerts_from_counts(
        by_touchpoint,
        by_topic,
        period,
        baseline_periods,
        current=current,
        lam=lam,
        limit_sigma=limit_sigma,
        alpha=alpha,
        min_count=min_count,
        min_baseline_volume=min_baseline_volume,
    )


def alerts_from_counts(
    touchpoint_counts: pd.DataFrame,
    topic_counts: pd.DataFrame,
    period: Period,
    baseline_periods: int = 8,
    *,
    current: date | None = None,
    lam: float = 0.3,
    limit_sigma: float = 3.0,
    alpha: float = 0.001,
    min_count: int = 10,
    min_baseline_volume: int = 30,
) -> pd.DataFrame:
    """Alerts from two count tables: mentions by (touchpoint, period), records by (topic_label, period).

    Args:
        touchpoint_counts: Count table keyed by ``touchpoint`` and ``period``.
        topic_counts: Count table keyed by ``topic_label`` and ``period`` (rows without a
            topic are ignored).
        period: The period the tables were counted by.
        baseline_periods: See :func:`alerts`.
        current: See :func:`alerts`.
        lam: See :func:`alerts`.
        limit_sigma: See :func:`alerts`.
        alpha: See :func:`alerts`.
        min_count: See :func:`alerts`.
        min_baseline_volume: See :func:`alerts`.

    Returns:
        :data:`ALERT_COLUMNS`, one row per alert, sorted by ``kind``, then touchpoint or
        topic. ``kind`` is ``score_drop`` (``touchpoint`` set) or ``volume_spike``
        (``topic`` set). For a score drop: ``volume`` the period's mentions,
        ``observed`` the period's NSS, ``statistic`` the EWMA, ``expected`` the baseline
        NSS, ``limit`` the lower control limit, ``z`` the EWMA's standard score and
        ``p_value`` its one-sided normal tail. For a spike: ``volume``, ``observed`` and
        ``statistic`` the period's count, ``expected`` the baseline mean, ``limit`` the
        alerting count, ``z = (count − mean) / √mean`` and ``p_value`` the Poisson tail.
        ``severity`` is ``high`` when ``p_value < 1e-6``, else ``medium``.

    Raises:
        InputError: A parameter is out of range or a table lacks its keys.
    """
    check_period(period)
    _check_parameters(baseline_periods, lam, limit_sigma, alpha)
    for table, key in ((touchpoint_counts, "touchpoint"), (topic_counts, "topic_label")):
        if key not in table.columns or "period" not in table.columns:
            raise InputError(f"expected a count table keyed by {key!r} and 'period', got {list(table.columns)}")
    periods = [p for p in (*touchpoint_counts["period"], *topic_counts["period"]) if p is not None]
    if not periods:
        return pd.DataFrame(columns=list(ALERT_COLUMNS))
    current = max(periods) if current is None else period_start(current, period)
    # Periods before year 1 do not exist (shift_period gives None): the baseline is shorter.
    window = [p for k in range(baseline_periods, 0, -1) if (p := shift_period(current, period, -k)) is not None]
    first = min(periods)
    rows = [
        *_score_drops(touchpoint_counts, period, current, window, lam, limit_sigma, min_baseline_volume),
        *_volume_spikes(topic_counts, period, current, [p for p in window if p >= first], alpha, min_count),
    ]
    out = pd.DataFrame(rows, columns=list(ALERT_COLUMNS))
    out["_key"] = out["touchpoint"].fillna(out["topic"])
    return out.sort_values(["kind", "_key"], kind="mergesort").drop(columns="_key").reset_index(drop=True)


def _check_parameters(baseline_periods: int, lam: float, limit_sigma: float, alpha: float) -> None:
    if baseline_periods < 2:
        raise InputError(f"baseline_periods must be 2 or more, got {baseline_periods}")
    if not 0.0 < lam <= 1.0:
        raise InputError(f"lam (the EWMA weight) must be in (0, 1], e.g. 0.3; got {lam}")
    if limit_sigma <= 0:
        raise InputError(f"limit_sigma must be positive, e.g. 3; got {limit_sigma}")
    if not 0.0 < alpha < 1.0:
        raise InputError(f"alpha must be in (0, 1), e.g. 0.001; got {alpha}")


def _severity(p_value: float) -> str:
    return "high" if p_value < HIGH_SEVERITY_P else "medium"


# ---------------------------------------------------------------------------- score drops


def ewma_drop(
    positive: np.ndarray, negative: np.ndarray, n: np.ndarray, baseline: int, *, lam: float = 0.3
) -> tuple[float, float, float, float]:
    """The EWMA of NSS over a window and its standard deviation under the baseline.

    Args:
        positive: Positive counts per period, oldest first; the last is the checked period.
        negative: Negative counts, likewise.
        n: Volumes, likewise (all > 0).
        baseline: How many leading periods form the baseline (``len(n) - 1`` normally).
        lam: EWMA weight λ.

    Returns:
        ``(ewma, baseline_nss, sd, observed_nss)`` on the 100-point scale.

    Examples:
        >>> ewma, mu, sd, x = ewma_drop(np.array([6, 6, 1]), np.array([2, 2, 7]), np.array([10, 10, 10]), 2)
        >>> round(ewma, 2), round(mu, 2), round(sd, 2), round(x, 2)
        (10.0, 40.0, 10.15, -60.0)
    """
    plus, minus, size = (np.asarray(a, dtype="float64") for a in (positive, negative, n))
    n0 = size[:baseline].sum()
    mu = 100.0 * (plus[:baseline].sum() - minus[:baseline].sum()) / n0
    # One pseudo-count per label, for the variance only.
    p_plus = (plus[:baseline].sum() + 1.0) / (n0 + 3.0)
    p_minus = (minus[:baseline].sum() + 1.0) / (n0 + 3.0)
    v0 = 100.0**2 * (p_plus + p_minus - (p_plus - p_minus) ** 2)
    x = 100.0 * (plus - minus) / size
    z = mu
    for value in x:
        z = lam * value + (1.0 - lam) * z
    steps = np.arange(len(size) - 1, -1, -1)
    variance = float(np.sum((lam * (1.0 - lam) ** steps) ** 2 * v0 / size))
    return float(z), float(mu), math.sqrt(variance), float(x[-1])


def _score_drops(
    counts: pd.DataFrame,
    period: Period,
    current: date,
    window: list[date],
    lam: float,
    limit_sigma: float,
    min_baseline_volume: int,
) -> list[dict[str, object]]:
    rows = []
    in_window = counts[counts["period"].isin([*window, current]) & (counts["n"] > 0)]
    for touchpoint, series in in_window.groupby("touchpoint", sort=True):
        series = series.sort_values("period")
        baseline = int((series["period"] != current).sum())
        if series["period"].iloc[-1] != current or baseline < 2:
            continue
        if series["n"].iloc[:baseline].sum() < min_baseline_volume:
            continue
        ewma, mu, sd, observed = ewma_drop(
            series["n_positive"].to_numpy(), series["n_negative"].to_numpy(), series["n"].to_numpy(), baseline, lam=lam
        )
        limit = mu - limit_sigma * sd
        if sd == 0 or ewma >= limit:
            continue
        z = (ewma - mu) / sd
        p_value = float(norm.cdf(z))
        volume = int(series["n"].iloc[-1])
        message = (
            f"NSS of {touchpoint} fell to {observed:+.1f} in the {period} of {current.isoformat()} "
            f"({volume} mentions); its EWMA {ewma:+.1f} is below the lower control limit {limit:+.1f} "
            f"(baseline {mu:+.1f} over {baseline} of the previous {len(window)} {period}s)"
        )
        rows.append(
            {"kind": "score_drop", "touchpoint": touchpoint, "topic": None, "period": current, "volume": volume,
             "observed": observed, "statistic": ewma, "expected": mu, "limit": limit, "z": z,
             "p_value": p_value, "severity": _severity(p_value), "message": message}
        )  # fmt: skip
    return rows


# ---------------------------------------------------------------------------- volume spikes


def poisson_spike(
    count: int, baseline_counts: np.ndarray, *, alpha: float = 0.001, min_count: int = 10
) -> tuple[float, int, float]:
    """The Poisson test of one period's count against the mean of the baseline periods' counts.

    Args:
        count: Texts with the topic in the checked period.
        baseline_counts: Its count in each baseline period (zeros included).
        alpha: Significance level.
        min_count: The lowest count that may alert.

    Returns:
        ``(expected, limit, p_value)``: the baseline mean, the smallest count that
        alerts (``P(X ≥ limit) ≤ alpha`` for ``X ~ Poisson(max(expected, 0.5))``, and at
        least ``min_count``), and ``P(X ≥ count)``.

    Examples:
        >>> poisson_spike(4, np.array([2, 2, 2, 2]))[1:]   # 2 -> 4 is not unusual, and below min_count
        (10, 0.14287653950145296)
    """
    expected = float(np.mean(baseline_counts))
    mean = max(expected, _MIN_EXPECTED)
    limit = int(poisson.isf(alpha, mean)) + 1
    while limit > 0 and poisson.sf(limit - 2, mean) <= alpha:
        limit -= 1
    while poisson.sf(limit - 1, mean) > alpha:
        limit += 1
    return expected, max(limit, min_count), float(poisson.sf(count - 1, mean))


def _volume_spikes(
    counts: pd.DataFrame, period: Period, current: date, window: list[date], alpha: float, min_count: int
) -> list[dict[str, object]]:
    if len(window) < 2:
        logger.info("fewer than 2 baseline periods with data before %s: no volume alerts", current)
        return []
    rows = []
    topics = counts[counts["topic_label"].notna()]
    for topic, series in topics.groupby("topic_label", sort=True):
        per_period = dict(zip(series["period"], series["n"], strict=True))
        count = int(per_period.get(current, 0))
        if count == 0:
            continue
        expected, limit, p_value = poisson_spike(
            count, np.array([per_period.get(p, 0) for p in window]), alpha=alpha, min_count=min_count
        )
        if count < limit:
            continue
        message = (
            f"Topic '{topic}' had {count} texts in the {period} of {current.isoformat()}, against "
            f"{expected:.1f} per {period} over the previous {len(window)} {period}s "
            f"(alert from {limit}; p = {p_value:.2g})"
        )
        rows.append(
            {"kind": "volume_spike", "touchpoint": None, "topic": topic, "period": current, "volume": count,
             "observed": float(count), "statistic": float(count), "expected": expected, "limit": float(limit),
             "z": (count - max(expected, _MIN_EXPECTED)) / math.sqrt(max(expected, _MIN_EXPECTED)),
             "p_value": p_value, "severity": _severity(p_value), "message": message}
        )  # fmt: skip
    return rows
