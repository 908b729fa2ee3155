"""CX scores from classified feedback: pure tables in, tables out.

An engine turns rows into a count table of sufficient statistics per group. Every local
run uses one engine, DuckDB (:mod:`feedback_nlp.scoring.duck`: the mention rule and the
counts are one SQL definition each), whether it reads a pandas frame (:func:`group_counts`,
:func:`mentions` and the conveniences delegate to it), Parquet, or the feedback store
(:func:`~feedback_nlp.scoring.duck.store_counts`); Spark (:mod:`feedback_nlp.spark`) keeps
the same count contract at scale. :func:`scores_from_counts` and the functions built on it
turn count tables into scores, so every engine gives the same numbers. ``docs/scores.md`` has the
formulas and a worked example.

Examples:
    >>> records = records_from_predictions(feedback, pipeline.predict(feedback))  # doctest: +SKIP
    >>> touchpoint_scores(records, period="week")                                 # doctest: +SKIP
    >>> alerts(records, "week")                                                   # doctest: +SKIP
"""

from feedback_nlp.scoring.aggregate import (
    COUNT_COLUMNS,
    PERIODS,
    Period,
    add_period,
    canonical_counts,
    combine_counts,
    group_counts,
)
from feedback_nlp.scoring.alerts import ALERT_COLUMNS, alerts, alerts_from_counts
from feedback_nlp.scoring.drivers import key_drivers, key_drivers_from_counts, nps_importance, relative_weights
from feedback_nlp.scoring.frame import (
    RECORD_COLUMNS,
    mentions,
    records_from_frame,
    records_from_predictions,
    records_from_rows,
)
from feedback_nlp.scoring.scores import (
    SCORE_COLUMNS,
    journey_matrix,
    scores_from_counts,
    segment_scores,
    stage_scores,
    touchpoint_scores,
    trends,
    trends_from_counts,
)

__all__ = [
    "ALERT_COLUMNS",
    "COUNT_COLUMNS",
    "PERIODS",
    "RECORD_COLUMNS",
    "SCORE_COLUMNS",
    "Period",
    "add_period",
    "alerts",
    "alerts_from_counts",
    "canonical_counts",
    "combine_counts",
    "group_counts",
    "journey_matrix",
    "key_drivers",
    "key_drivers_from_counts",
    "mentions",
    "nps_importance",
    "records_from_frame",
    "records_from_predictions",
    "records_from_rows",
    "relative_weights",
    "scores_from_counts",
    "segment_scores",
    "stage_scores",
    "touchpoint_scores",
    "trends",
    "trends_from_counts",
]
