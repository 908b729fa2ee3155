"""Spark sessions configured the way the feedback jobs expect.

The jobs need three settings, whatever the cluster:

- ``spark.python.worker.reuse=true``: an executor keeps its Python workers between tasks, so
  the pipeline that a worker loads (:mod:`feedback_nlp.spark.classify`) serves every later
  task of that worker instead of being loaded again per task.
- ``spark.sql.session.timeZone=UTC``: times print in UTC, like the scoring package's periods
  (the periods themselves are computed from the absolute time, whatever this setting says).
- ``spark.sql.parquet.outputTimestampType=TIMESTAMP_MICROS``: written times read back as
  ``timestamp[us, tz=UTC]``, the layout of :data:`~feedback_nlp.scoring.duck.RECORDS_SCHEMA`.

Under ``spark-submit`` the session already exists and :func:`spark_session` returns it (static
settings then come from the submit command; ``docs/scale.md`` lists them).

Examples:
    >>> spark = spark_session("local[2]", ui=False)      # doctest: +SKIP
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING

from feedback_nlp.errors import ConfigError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

logger = logging.getLogger(__name__)

__all__ = ["SPARK_DEFAULTS", "require_pyspark", "spark_session"]

#: Settings every feedback job relies on; a value given by the caller wins.
SPARK_DEFAULTS: dict[str, str] = {
    "spark.python.worker.reuse": "true",
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
}

_INSTALL_HINT = "install the Spark extra: pip install 'feedback-nlp[spark]' (and Java 17 or 21)"


def require_pyspark() -> None:
    """Raise :class:`ConfigError` with an install hint unless pyspark can be imported."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        raise ConfigError(f"the Spark jobs need pyspark, which is not installed; {_INSTALL_HINT}") from None


def spark_session(
    master: str | None = None,
    *,
    app_name: str = "feedback-nlp",
    ui: bool = True,
    shuffle_partitions: int | None = None,
    conf: Mapping[str, str] | None = None,
) -> SparkSession:
    """The active Spark session, or a new one with :data:`SPARK_DEFAULTS`.

    Args:
        master: ``"local[2]"``, ``"yarn"``, ``"spark://host:7077"``...; ``None`` keeps what
            ``spark-submit`` set (plain ``python`` then runs ``local[*]``).
        app_name: The application name shown by the cluster manager.
        ui: Start the Spark web UI (tests turn it off).
        shuffle_partitions: ``spark.sql.shuffle.partitions``; the count tables are small, so a
            local run wants about twice its cores rather than Spark's 200.
        conf: Further settings; they override :data:`SPARK_DEFAULTS`.

    Returns:
        The session.

    Raises:
        ConfigError: pyspark is not installed, or Spark's Java gateway did not start (no Java).
    """
    require_pyspark()
    from pyspark.errors import PySparkRuntimeError
    from pyspark.sql import SparkSession

    # Workers run PYSPARK_PYTHON, "python3" on the PATH by default; a local session (one this
    # process starts, not spark-submit) must use this interpreter, which has feedback_nlp.
    submitted = "PYSPARK_GATEWAY_PORT" in os.environ
    if master.startswith("local") if master else not submitted:
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    settings = {**SPARK_DEFAULTS, "spark.ui.enabled": str(ui).lower(), **(conf or {})}
    if shuffle_partitions is not None:
        settings["spark.sql.shuffle.partitions"] = str(shuffle_partitions)
    builder = SparkSession.builder.appName(app_name)
    if master is not None:
        builder = builder.master(master)
    for key, value in settings.items():
        builder = builder.config(key, value)
    try:
        spark = builder.getOrCreate()
    except PySparkRuntimeError as exc:
        if "JAVA_GATEWAY_EXITED" not in str(exc):
            raise
        java_home = os.environ.get("JAVA_HOME")
        raise ConfigError(
            "Spark could not start its Java process: Spark needs Java 17 or 21 "
            + (f"(JAVA_HOME is {java_home!r}; point it at one)" if java_home else "on the PATH or in JAVA_HOME")
            + ". Without Spark, the same jobs run on one machine: `feedback-nlp classify` and `feedback-nlp score`."
        ) from None
    logger.info("Spark %s session on %s", spark.version, spark.sparkContext.master)
    return spark
