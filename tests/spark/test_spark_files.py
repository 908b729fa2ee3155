"""The Spark jobs' path checks and error translation. Plain Python: no Spark session needed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from feedback_nlp.errors import BundleError, FeedbackNLPError, InputError
from feedback_nlp.spark.files import PARQUET_MAGIC, _check_local_parquet, _read_error, check_apart, job_error


def test_check_apart_refuses_an_output_that_is_or_holds_the_input(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "in.parquet").write_bytes(PARQUET_MAGIC)
    with pytest.raises(InputError, match=r"holds the input .*in\.parquet.*would delete the input"):
        check_apart(data, [data / "in.parquet"], what="the predictions")
    with pytest.raises(InputError, match="holds the input"):
        check_apart(data, [data], what="the predictions")
    with pytest.raises(InputError, match="holds the input"):  # a glob, and an output spelt another way
        check_apart(tmp_path / "data" / ".." / "data", [data / "*.parquet"], what="the predictions")


def test_check_apart_refuses_an_output_inside_an_input_folder(tmp_path: Path) -> None:
    (tmp_path / "raw").mkdir()
    with pytest.raises(InputError, match=r"inside the input folder .*raw"):
        check_apart(tmp_path / "raw" / "predictions", [tmp_path / "raw"], what="the predictions")


def test_check_apart_takes_a_sibling_folder(tmp_path: Path) -> None:
    (tmp_path / "in.parquet").write_bytes(PARQUET_MAGIC)
    check_apart(tmp_path / "predictions", [tmp_path / "in.parquet"], what="the predictions")  # no error


@pytest.mark.parametrize(("name", "content", "message"), [
    ("in.csv", b"id,text\n1,hi\n", r"in\.csv is a CSV file: spark classify reads Parquet; convert CSV/JSONL first"),
    ("in.jsonl", b'{"id": 1}\n', r"in\.jsonl is a JSONL file: spark classify reads Parquet"),
    ("in.parquet", b"not parquet", r"in\.parquet is not a Parquet file"),
])  # fmt: skip
def test_local_inputs_that_are_not_parquet_are_refused(tmp_path: Path, name: str, content: bytes, message: str) -> None:
    (tmp_path / name).write_bytes(content)
    with pytest.raises(InputError, match=message):
        _check_local_parquet(tmp_path / name, str(tmp_path / name), "spark classify")


def test_a_folder_is_checked_file_by_file_skipping_spark_s_own_files(tmp_path: Path) -> None:
    (tmp_path / "part-0.parquet").write_bytes(PARQUET_MAGIC + b"...")
    (tmp_path / "_SUCCESS").write_bytes(b"")
    (tmp_path / ".part-0.parquet.crc").write_bytes(b"crc")
    (tmp_path / "_errors").mkdir()
    (tmp_path / "_errors" / "notes.txt").write_text("skipped, as Spark skips it")
    _check_local_parquet(tmp_path, str(tmp_path), "spark score")  # no error
    (tmp_path / "notes.txt").write_text("read by Spark")
    with pytest.raises(InputError, match=r"notes\.txt is a text file: spark score reads the Parquet predictions"):
        _check_local_parquet(tmp_path, str(tmp_path), "spark score")


def test_a_missing_local_input_is_named(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"input path not found: .*nope"):
        _check_local_parquet(tmp_path / "nope", str(tmp_path / "nope"), "spark score")


@pytest.mark.parametrize(("spark_says", "message"), [
    ("[PATH_NOT_FOUND] Path does not exist: hdfs://nn/data/in. SQLSTATE: 42K03", "input path not found: hdfs://nn/data/in"),
    ("[FAILED_READ_FILE.CANNOT_READ_FILE_FOOTER] Encountered error while reading file s3a://b/in.csv. Could not read",
     r"s3a://b/in\.csv is a CSV file: spark classify reads Parquet"),
    ("[UNABLE_TO_INFER_SCHEMA] Unable to infer schema for Parquet.", "no Parquet files in s3a://b/in"),
    ("[COLUMN_ALREADY_EXISTS] The column `source` already exists.", "two columns named 'source' but for case"),
])  # fmt: skip
def test_spark_read_errors_become_one_input_error(spark_says: str, message: str) -> None:
    error = _read_error(spark_says, ["s3a://b/in"], "spark classify")
    assert isinstance(error, InputError)
    assert re.search(message, str(error)), str(error)


def test_other_spark_read_errors_are_left_alone() -> None:
    assert _read_error("[INTERNAL_ERROR] something else", ["in"], "spark score") is None


def test_job_error_finds_our_error_in_an_executor_traceback() -> None:
    trace = (
        "py4j.protocol.Py4JJavaError: An error occurred while calling o93.parquet.\n"
        "org.apache.spark.api.python.PythonException: Traceback (most recent call last):\n"
        '  File "feedback_nlp/storage/loading.py", line 88, in load_bundle\n'
        "feedback_nlp.errors.BundleError: Expected a model bundle at /m (a folder with manifest.json), found none.\n"
        "\tat org.apache.spark.api.python.BasePythonRunner$ReaderIterator.handlePythonException(...)\n"
    )
    error = job_error(RuntimeError(trace))
    assert isinstance(error, BundleError)
    assert str(error) == "on an executor: Expected a model bundle at /m (a folder with manifest.json), found none."
    assert type(job_error(RuntimeError("feedback_nlp.errors.DataError: odd"))) is FeedbackNLPError
    assert job_error(RuntimeError("java.lang.OutOfMemoryError: Java heap space")) is None
