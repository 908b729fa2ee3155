"""Paths and messages of the Spark jobs: reading Parquet with errors a user can act on, guarding outputs.

- :func:`read_parquet`: ``spark.read.parquet`` that refuses a missing path, a CSV or JSONL file
  and an empty folder with one :class:`~feedback_nlp.errors.InputError` instead of a Java trace.
- :func:`local_path`: the local folder a Spark path names (no scheme on a local default file
  system, or ``file:``), or ``None`` for a remote one (``hdfs://``, ``s3a://``...).
- :func:`check_apart`: refuse an output folder that is, or holds, an input (writing it would
  delete the input), or that lies inside an input folder.
- :func:`job_error`: the error of ours (a missing bundle...) that an executor raised, out of
  the Py4J exception that carries it to the driver.
- :func:`reporter`: a function that logs each stage of a job and hands the line to a callback.

Examples:
    >>> frame = read_parquet(spark, "feedback/", command="spark classify")   # doctest: +SKIP
    >>> local_path(spark, "s3a://bucket/predictions/") is None                # doctest: +SKIP
    True
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlparse

from feedback_nlp.errors import BundleError, ConfigError, EncoderError, FeedbackNLPError, InputError

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

__all__ = [
    "PARQUET_MAGIC",
    "check_apart",
    "job_error",
    "local_path",
    "local_paths",
    "paths_of",
    "read_parquet",
    "reporter",
]

#: The four bytes every Parquet file starts (and ends) with.
PARQUET_MAGIC = b"PAR1"
#: At most this many files of a local input folder are checked for the Parquet magic.
_MAX_CHECKED_FILES = 10_000
# What an extension says a file holds, for the message refusing it.
_OTHER_FORMATS = {
    ".csv": "CSV", ".tsv": "TSV", ".txt": "text", ".json": "JSON", ".jsonl": "JSONL",
    ".ndjson": "JSONL", ".xlsx": "Excel",
}  # fmt: skip
# Errors of ours an executor may raise, as Python prints them at the end of a worker's traceback.
_OUR_ERRORS: dict[str, type[FeedbackNLPError]] = {
    "BundleError": BundleError,
    "ConfigError": ConfigError,
    "EncoderError": EncoderError,
    "InputError": InputError,
}
_OUR_ERROR_LINE = re.compile(r"feedback_nlp\.errors\.(\w+Error): (.+)")


def paths_of(path: str | Sequence[str]) -> list[str]:
    """``path`` as a list of paths (the jobs take one path or several)."""
    return [path] if isinstance(path, str) else list(path)


def local_paths(spark: SparkSession, paths: str | Sequence[str]) -> list[Path]:
    """The paths among ``paths`` that are on the local file system (:func:`local_path`)."""
    return [p for p in (local_path(spark, given) for given in paths_of(paths)) if p is not None]


def local_path(spark: SparkSession, path: str) -> Path | None:
    """The local path that a Spark path names, or ``None`` when it is on another file system.

    A path without a scheme is local when Hadoop's default file system (``fs.defaultFS``) is
    the local one, as it is in local mode; on a cluster whose default is HDFS it is remote.
    """
    parsed = urlparse(path)
    if parsed.scheme == "file":
        return Path(parsed.path)
    if len(parsed.scheme) > 1:  # hdfs://, s3a://, gs://... (one letter would be a Windows drive)
        return None
    return Path(path) if _default_fs(spark).startswith("file:") else None


def _default_fs(spark: SparkSession) -> str:
    try:
        value = spark.sparkContext._jsc.hadoopConfiguration().get("fs.defaultFS")
    except Exception:  # noqa: BLE001 - no JVM context (Spark Connect): treat the paths as remote
        return ""
    return str(value or "file:///")


def check_apart(output: Path, inputs: Sequence[Path], *, what: str) -> None:
    """Refuse an ``output`` folder that is, or holds, one of ``inputs``, or that lies inside an input folder.

    Args:
        output: The folder a job is about to replace.
        inputs: The job's local input paths (files, folders or globs).
        what: What the job writes, for the message ("the predictions").

    Raises:
        InputError: The output and an input overlap.
    """
    out = output.resolve()
    for given in inputs:
        source = given.resolve()
        if source == out or source.is_relative_to(out):
            raise InputError(
                f"the output folder {output} holds the input {given}: writing {what} there would delete "
                "the input. Give an output folder outside the input"
            )
        if source.is_dir() and out.is_relative_to(source):
            raise InputError(
                f"the output folder {output} is inside the input folder {given}: the next read of the input "
                f"would take {what} for input. Give an output folder outside {given}"
            )


def read_parquet(spark: SparkSession, path: str | Sequence[str], *, command: str) -> DataFrame:
    """``spark.read.parquet`` of ``path``, refusing what is not Parquet with one clear error.

    Local paths are checked before Spark starts reading (existence, and the Parquet magic bytes
    of each file); Spark's own errors on remote paths are translated the same way.

    Args:
        spark: The session.
        path: A Parquet file or folder (or several, or a glob).
        command: The command reading it, for messages (``"spark classify"``).

    Raises:
        InputError: A path does not exist, a file is not Parquet, or a folder holds no Parquet file.
    """
    from py4j.protocol import Py4JJavaError
    from pyspark.errors import AnalysisException

    paths = paths_of(path)
    for given in paths:
        local = local_path(spark, given)
        if local is not None:
            _check_local_parquet(local, given, command)
    try:
        return spark.read.parquet(*paths)
    except (AnalysisException, Py4JJavaError) as exc:
        raise _read_error(str(exc), paths, command) or exc from None


def _check_local_parquet(path: Path, given: str, command: str) -> None:
    if any(c in str(path) for c in "*?["):  # a glob: Spark expands it
        return
    if not path.exists():
        raise InputError(f"input path not found: {given}. Give a Parquet file or folder that exists")
    files = [path] if path.is_file() else _data_files(path)
    for file in files[:_MAX_CHECKED_FILES]:
        if not _is_parquet(file):
            raise InputError(_not_parquet(str(file), command))


def _data_files(folder: Path) -> list[Path]:
    """The files Spark reads in a folder: those no part of whose path starts with ``_`` or ``.``."""
    return sorted(
        p
        for p in folder.rglob("*")
        if p.is_file() and not any(part.startswith(("_", ".")) for part in p.relative_to(folder).parts)
    )


def _is_parquet(file: Path) -> bool:
    try:
        with file.open("rb") as handle:
            return handle.read(4) == PARQUET_MAGIC
    except OSError:
        return True  # unreadable here: let Spark say why


def _not_parquet(path: str, command: str) -> str:
    kind = _OTHER_FORMATS.get(Path(path).suffix.lower())
    what = f"a {kind} file" if kind else "not a Parquet file"
    if command == "spark score":
        return (
            f"{path} is {what}: spark score reads the Parquet predictions that `feedback-nlp spark classify` "
            "writes (`feedback-nlp score` reads the JSONL of `feedback-nlp classify` on one machine)"
        )
    return (
        f"{path} is {what}: {command} reads Parquet; convert CSV/JSONL first "
        "(`feedback-nlp classify` reads CSV, JSONL and Parquet on one machine)"
    )


def _read_error(text: str, paths: Sequence[str], command: str) -> InputError | None:
    """The error a user can act on for Spark's ``text``, or ``None`` when it is not one of those."""
    shown = ", ".join(paths)
    if "PATH_NOT_FOUND" in text or "Path does not exist" in text:
        found = re.search(r"Path does not exist: (\S+?)\.?(?: SQLSTATE|$)", text, re.MULTILINE)
        return InputError(
            f"input path not found: {found.group(1) if found else shown}. Give a Parquet file or folder that exists"
        )
    if "CANNOT_READ_FILE_FOOTER" in text or "is not a Parquet file" in text:
        found = re.search(r"reading file (\S+?)\. ", text)
        return InputError(_not_parquet(found.group(1) if found else shown, command))
    if "COLUMN_ALREADY_EXISTS" in text or "Found duplicate column" in text:
        found = re.search(r"column `?([^`\s]+)`? already exists", text)
        return InputError(
            f"{shown} has two columns named {found.group(1) if found else 'alike'!r} but for case, and Spark reads "
            "column names case-insensitively: rename one of them (or run with --conf spark.sql.caseSensitive=true)"
        )
    if "UNABLE_TO_INFER_SCHEMA" in text:
        return InputError(f"no Parquet files in {shown}: {command} reads a Parquet file or a folder of them")
    return None


def job_error(exc: BaseException) -> FeedbackNLPError | None:
    """The error of ours that made a Spark job fail on an executor, if one did.

    An executor's exception reaches the driver as text inside a Py4J or Python exception; its
    last line names the class and the message (``feedback_nlp.errors.BundleError: ...``).
    """
    found = _OUR_ERROR_LINE.findall(str(exc))
    if not found:
        return None
    name, message = found[-1]
    return _OUR_ERRORS.get(name, FeedbackNLPError)(f"on an executor: {message.strip()}")


def reporter(progress: Callable[[str], None] | None, logger: logging.Logger) -> Callable[[str], None]:
    """A function that logs a job's stage line at INFO and hands it to ``progress``, if given."""

    def say(line: str) -> None:
        logger.info("%s", line)
        if progress is not None:
            progress(line)

    return say
