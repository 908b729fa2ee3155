"""Artifacts on disk: folders published whole, their manifests, hashes and tables.

- :func:`atomic_dir` publishes a folder that must never be seen half-written (model bundles,
  the model registry, topic models, scoring outputs, the ONNX cache): it is staged in a temporary
  sibling and swapped in with one rename.
- :class:`Manifest` is the ``manifest.json`` of such a folder (format and file hashes), and
  :class:`BundleManifest` the typed manifest of a model bundle; ``read`` checks the file, the
  format and every listed file's sha256, ``write`` writes it in the one canonical layout.
- :func:`sha256_file` and :func:`sha256_text` are the two hashes every other module uses.
- :func:`read_table` reads a CSV, JSONL or Parquet file into a DataFrame.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from feedback_nlp.errors import BundleError, FeedbackNLPError, InputError

if TYPE_CHECKING:
    import pandas as pd

MANIFEST = "manifest.json"
"""The manifest's file name in every artifact folder."""
BUNDLE_FORMAT = 1
"""The folder layout this code writes and reads; a manifest with another ``format`` is refused."""


# ---------------------------------------------------------------------------- hashes


def sha256_file(path: str | Path, chunk_size: int = 1 << 20) -> str:
    """The hex sha256 of a file, read in chunks (encoder weights run to hundreds of MB)."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        while chunk := handle.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()


def sha256_text(text: str) -> str:
    """The hex sha256 of a string's UTF-8 bytes.

    Lone surrogates (which a JSON file can carry) are encoded as they are rather than refused;
    every other string hashes exactly as ``hashlib.sha256(text.encode("utf-8"))``, so keys
    stored before this helper existed still match.
    """
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


# ---------------------------------------------------------------------------- folders


def check_replaceable(target: str | Path, marker: str, what: str) -> None:
    """An :class:`InputError` unless ``target`` is absent, empty, or an earlier output of the same
    kind (it holds ``marker``): an output folder replaces what was there, so a folder holding
    anything else (a report, another model) must never be taken for one.

    Args:
        target: the output folder.
        marker: a file or folder every output of this kind holds (``manifest.json``, ``_state``).
        what: the kind of output, for the message ("score tables").
    """
    target = Path(target)
    if not target.exists():
        return
    if not target.is_dir():
        raise InputError(f"cannot write {what} to {target}: it is a file; give a folder")
    held = sorted(p.name for p in target.iterdir())
    if held and marker not in held:
        shown = ", ".join(held[:5]) + (f" and {len(held) - 5} more" if len(held) > 5 else "")
        raise InputError(
            f"{target} already holds other files ({shown}) and the {what} would replace them: "
            f"give an empty or new folder, or one an earlier run wrote {what} to"
        )


def make_staging(target: Path) -> Path:
    """A fresh temporary folder beside ``target`` (same file system, so the swap is a rename)."""
    target = target.resolve()  # "." and "./" have no name to stage beside
    target.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))


@contextmanager
def atomic_dir(
    target: str | Path, *, replace: bool = True, staging: Path | None = None, replaces: tuple[str, str] | None = None
) -> Iterator[Path]:
    """Yield a staging folder to fill; on success publish it at ``target`` in one rename.

    With ``replace``, an existing ``target`` is moved aside first and deleted once the new one is
    in place (put back if the swap fails half-way). Without it, an existing ``target`` is left
    alone and :class:`FileExistsError` is raised. Any exception discards the staging folder, so a
    crash never leaves half a folder at ``target``. The published folder gets the ordinary
    umask-respecting mode (``mkdtemp`` makes it private).

    Args:
        target: where the folder is published.
        replace: whether to replace an existing ``target``.
        staging: a folder already made with :func:`make_staging` (default: made here).
        replaces: ``(marker, what)``: replace an existing ``target`` only if it is empty or holds
            ``marker`` (see :func:`check_replaceable`); checked before anything is written.
    """
    target = Path(target).resolve()
    if replaces is not None:
        check_replaceable(target, *replaces)
    staging = staging if staging is not None else make_staging(target)
    backup = target.with_name(f".{target.name}.old")
    try:
        yield staging
        staging.chmod(0o777 & ~_umask())
        if target.exists():
            if not replace:
                raise FileExistsError(f"{target} already exists")
            shutil.rmtree(backup, ignore_errors=True)
            target.rename(backup)
        staging.rename(target)
        shutil.rmtree(backup, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        if replace and backup.exists() and not target.exists():
            backup.rename(target)  # the swap failed half-way: put the old folder back
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# ---------------------------------------------------------------------------- manifests


class Manifest(BaseModel):
    """The ``manifest.json`` of an artifact folder: its format and the sha256 of every file.

    Keys this class does not name are kept as they are (``extra="allow"``), so a manifest is
    read and written back unchanged. Subclasses name the keys of one kind of artifact.
    """

    # NaN metrics stay NaN on disk, as json.dumps writes them (not null).
    model_config = ConfigDict(extra="allow", ser_json_inf_nan="constants")

    #: What the folder is and what to do when it is missing or damaged, for messages.
    artifact: ClassVar[str] = "a model bundle"
    remedy: ClassVar[str] = "Train one with `feedback-nlp train` or set FEEDBACK_NLP_MODEL_DIR."
    #: The formats this version reads.
    readable_formats: ClassVar[tuple[int, ...]] = (BUNDLE_FORMAT,)

    format: int = BUNDLE_FORMAT
    files: dict[str, str] = Field(default_factory=dict)

    @classmethod
    def read(cls, folder: str | Path, *, verify: bool = True) -> Self:
        """Read ``folder/manifest.json``; with ``verify``, check every listed file's sha256 too.

        Raises:
            BundleError: the folder or manifest is missing or unreadable, the manifest is not
                JSON, has another format, lists no files, lacks a key this class needs, or a
                listed file is missing or differs from its hash.
        """
        folder = Path(folder)
        data = cls._read_json(folder)
        cls._check_kind(folder, data)
        if data.get("format") not in cls.readable_formats or isinstance(data.get("format"), bool):
            raise BundleError(
                f"{folder} has bundle format {data.get('format')!r}; this version of feedback-nlp "
                f"reads format {', '.join(map(str, cls.readable_formats))}. Retrain the bundle with this version."
            )
        files = data.get("files")
        if not isinstance(files, dict) or not files:
            raise BundleError(
                f"{folder / MANIFEST} lists no files (expected an object of file name -> sha256, got "
                f"{_short(files)}); the bundle is incomplete. Restore it or write it again. {cls.remedy}"
            )
        manifest = cls.parse(data, source=str(folder / MANIFEST))
        if verify:
            manifest.verify_files(folder)
        return manifest

    @classmethod
    def parse(cls, data: dict[str, Any], *, source: str = "the manifest") -> Self:
        """Check a manifest given as a JSON object (no format or file checks).

        Raises:
            BundleError: a key this class needs is missing or of the wrong type.
        """
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise BundleError(
                f"{source} is not the manifest of {cls.artifact}: {_describe(exc)}. "
                f"Was it written by another tool or edited by hand? {cls.remedy}"
            ) from None

    @classmethod
    def _read_json(cls, folder: Path) -> dict[str, Any]:
        path = folder / MANIFEST
        try:
            found = path.is_file()
        except PermissionError as exc:
            raise BundleError(
                f"Cannot read {folder}: permission denied. Make the bundle readable by this user."
            ) from exc
        if not found:
            raise BundleError(
                f"Expected {cls.artifact} at {folder} (a folder with {MANIFEST}), found none. {cls.remedy}"
            )
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except PermissionError as exc:
            raise BundleError(f"Cannot read {path}: permission denied. Make the bundle readable by this user.") from exc
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise BundleError(f"{path} is not valid JSON ({exc}); the bundle is damaged.") from exc
        if not isinstance(data, dict):
            raise BundleError(f"{path} holds a JSON {type(data).__name__}, expected an object; the bundle is damaged.")
        return data

    @classmethod
    def _check_kind(cls, folder: Path, data: dict[str, Any]) -> None:
        """Refuse the folder of another kind of artifact (subclasses name theirs)."""

    def verify_files(self, folder: str | Path) -> None:
        """Check that every file the manifest lists is in ``folder`` with the listed sha256.

        Raises:
            BundleError: a file is missing or its hash differs.
        """
        folder = Path(folder)
        for name, expected in self.files.items():
            path = folder / name
            if not path.is_file():
                raise BundleError(f"Bundle {folder} is missing {name}, which its manifest lists.")
            actual = sha256_file(path)
            if actual != expected:
                raise BundleError(
                    f"Bundle file {path} has sha256 {actual[:12]}..., the manifest expects "
                    f"{expected[:12]}...: the file was changed or truncated after training. "
                    "Restore the bundle or retrain it."
                )

    def to_json(self) -> dict[str, Any]:
        """The manifest as the JSON object written to disk (keys never given are left out)."""
        data = self.model_dump(mode="json", exclude_unset=True, fallback=str)
        data["format"] = self.format
        return data

    def write(self, folder: str | Path) -> Path:
        """Write ``folder/manifest.json`` (sorted keys, two-space indent); return its path."""
        return write_manifest(folder, self.to_json())


def hash_folder(folder: str | Path) -> dict[str, str]:
    """The sha256 of every file directly in ``folder`` but the manifest, by name."""
    return {p.name: sha256_file(p) for p in sorted(Path(folder).iterdir()) if p.is_file() and p.name != MANIFEST}


def write_manifest(folder: str | Path, data: dict[str, Any]) -> Path:
    """Write a manifest given as a JSON object, in the layout :meth:`Manifest.write` uses."""
    path = Path(folder) / MANIFEST
    path.write_text(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n", encoding="utf-8")
    return path


class _Section(BaseModel):
    model_config = ConfigDict(extra="allow", ser_json_inf_nan="constants")


class TaxonomyRef(_Section):
    """The taxonomy an artifact was fitted on."""

    name: str
    version: int
    fingerprint: str


class EncoderInfo(_Section):
    """The encoder an artifact's heads were fitted on (its base weights' hash decides reuse).

    ``fine_tuned_layers`` is a count for model bundles, the layer indices for custom classifiers.
    """

    location: str | None = None
    sha256: str | None = None
    max_seq_length: int | None = None
    fine_tuned_layers: int | list[int] = 0
    layers_from: str | None = None
    #: How the heads saw segments: ``separate`` (each encoded on its own, bundles before
    #: pooling) or ``pooled`` from the text's own pass (:mod:`feedback_nlp.encoders.spans`).
    segment_vectors: Literal["separate", "pooled"] = "separate"


class TaskLabels(_Section):
    """The label lists of a bundle's three heads, in column order."""

    sentiment: list[str]
    journey_stage: list[str]
    touchpoints: list[str]


class BundleRef(_Section):
    """Another bundle named by a manifest (the one a retrained bundle started from)."""

    name: str | None = None
    version: str | None = None


class BundleManifest(Manifest):
    """The manifest of a model bundle (see :mod:`feedback_nlp.storage.bundle`).

    Written by training (``train/trainer.py``) and head retraining (``train/retrain.py``);
    read by the loader, the model registry and the service's ``/models`` route.
    """

    name: str
    version: str
    created_at: str | None = None
    taxonomy: TaxonomyRef
    labels: TaskLabels
    encoder: EncoderInfo = Field(default_factory=EncoderInfo)
    data: dict[str, Any] = Field(default_factory=dict)
    packages: dict[str, str] = Field(default_factory=dict)
    metrics: dict[str, Any] = Field(default_factory=dict)
    config: dict[str, Any] = Field(default_factory=dict)
    retrained_from: BundleRef | None = None
    retrained_heads: list[str] | None = None

    @property
    def ref(self) -> str:
        """``name:version``, as predictions report it."""
        return f"{self.name}:{self.version}"

    @classmethod
    def _check_kind(cls, folder: Path, data: dict[str, Any]) -> None:
        kind = data.get("kind")
        if kind is not None:
            raise BundleError(
                f"{folder} is a {kind!r} folder, not a model bundle; expected the output of "
                "`feedback-nlp train`. Load a custom classifier with `load_custom_classifier`."
            )


def _describe(exc: ValidationError) -> str:
    """Each problem as ``where: what (got ...)``, for a one-line error."""
    parts = []
    for err in exc.errors(include_url=False)[:5]:
        where = ".".join(str(p) for p in err["loc"]) or "manifest"
        got = "" if err["type"] == "missing" else f" (got {_short(err.get('input'))})"
        parts.append(f"{where}: {err['msg'].lower()}{got}")
    more = exc.error_count() - len(parts)
    return "; ".join(parts) + (f"; and {more} more" if more > 0 else "")


def _short(value: Any, limit: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 1]}…"


# ---------------------------------------------------------------------------- tables

TABLE_SUFFIXES = (".csv", ".jsonl", ".ndjson", ".parquet")
"""The file types :func:`read_table` reads."""


def read_table(
    path: str | Path, *, what: str = "Table file", error: type[FeedbackNLPError] = InputError
) -> pd.DataFrame:
    """A CSV, JSONL (``.jsonl``/``.ndjson``) or Parquet file as a DataFrame, read whole.

    CSV cells are read as strings with empty cells kept as ``""`` (nothing is guessed); JSONL
    values keep their JSON types (lists, nulls) and dtypes are not inferred.

    Args:
        path: the file.
        what: how messages name the file (``"Examples file"``, ``"Labelled file"``).
        error: the error class raised (the caller's family: :class:`InputError`, ``DataError``).

    Raises:
        error: the file is missing, unreadable, or not one of the types above.
    """
    import pandas as pd

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        raise error(f"{what} {path}: expected a .csv, .jsonl or .parquet file, got {suffix or 'no extension'!r}.")
    if not path.is_file():
        raise error(f"{what} {path} does not exist; check the path.")
    try:
        if suffix == ".csv":
            return pd.read_csv(path, dtype=str, keep_default_na=False)
        if suffix == ".parquet":
            return pd.read_parquet(path)
        return pd.read_json(path, lines=True, dtype=False)
    except (ValueError, OSError, UnicodeDecodeError) as exc:
        raise error(f"Cannot read {what.lower()} {path} as {suffix[1:].upper()}: {exc}") from exc
