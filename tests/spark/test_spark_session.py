"""Starting Spark where it cannot run is a message that says what Spark needs, not a Java traceback."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(importlib.util.find_spec("pyspark") is None, reason="pyspark is not installed")

SCRIPT = """
from feedback_nlp.errors import ConfigError
from feedback_nlp.spark.session import spark_session
try:
    spark_session("local[1]", ui=False)
except ConfigError as exc:
    print("CONFIG ERROR:", exc)
"""


def test_a_session_without_java_says_what_spark_needs(tmp_path) -> None:  # noqa: ANN001
    # A fresh process: the tests' own session would otherwise be handed back by getOrCreate.
    env = {**os.environ, "JAVA_HOME": str(tmp_path / "no-java")}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert "CONFIG ERROR: Spark could not start its Java process: Spark needs Java 17 or 21" in done.stdout, (
        done.stdout + done.stderr
    )
    assert f"JAVA_HOME is '{tmp_path / 'no-java'}'" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr
