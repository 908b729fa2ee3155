"""Apache Spark jobs: classify a Parquet dataset on a cluster, and score it with the shared formulas.

- :func:`classify_dataset`: predictions for every row, written in the records layout that
  the scoring engines read, with rejected rows and their reasons in ``_errors/``.
- :func:`spark_counts`: the scoring package's count tables, computed by Spark SQL.
- :func:`score_dataset`: the tables of ``feedback-nlp score`` from those counts.
- :func:`spark_session`: a session with the settings the jobs rely on.

pyspark is an optional extra (``pip install 'feedback-nlp[spark]'``); it is imported when a
job runs, not when this package is. ``docs/scale.md`` covers running on a cluster.

Examples:
    >>> spark = spark_session("local[2]")                                             # doctest: +SKIP
    >>> classify_dataset(spark, "feedback.parquet", "predictions/", default_kind="review")  # doctest: +SKIP
    >>> score_dataset(spark, "predictions/", "scores/", period="week")                # doctest: +SKIP
"""

from feedback_nlp.spark.classify import ClassifyResult, classify_dataset
from feedback_nlp.spark.score import score_dataset, spark_counts
from feedback_nlp.spark.session import spark_session

__all__ = ["ClassifyResult", "classify_dataset", "score_dataset", "spark_counts", "spark_session"]
