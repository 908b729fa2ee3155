"""The model registry on disk: verified copies of bundles, versioned as ``name:version``.

```
feedback-nlp-registry/
  models/<name>/<version>/bundle/      a verified copy of the bundle (its manifest carries
                                       the registry name and version)
  models/<name>/<version>/entry.json   when, by whom and from where it was registered
  evaluations/<key>.json               cached gold evaluations (see ``evaluation.py``)
  promotions.jsonl                     the append-only promotion log (see ``promotion.py``)
  .lock                                taken while registering or promoting
```

Everything is JSON; nothing is pickled. Registered versions are immutable: registering the
same ``name:version`` again with other files is refused.
"""

from __future__ import annotations

import getpass
import json
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from feedback_nlp.errors import BundleError, ConfigError, ConflictError
from feedback_nlp.storage.artifacts import MANIFEST, BundleManifest, atomic_dir, sha256_file

#: ``name`` and ``version``: a letter or digit, then letters, digits, ``.``, ``_`` or ``-``.
_PART = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
LATEST = "latest"
ENTRY_FILE = "entry.json"
BUNDLE_DIR = "bundle"


def utc_now() -> str:
    """The current time as an ISO-8601 UTC string with microseconds."""
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def current_user(explicit: str | None = None) -> str:
    """Who is acting: ``explicit`` (``--by``), else the login name from the environment."""
    if explicit and explicit.strip():
        return explicit.strip()
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no USER/LOGNAME and no passwd entry (some containers)
        return "unknown"


def manifest_sha256(bundle: Path) -> str:
    """sha256 of a bundle's manifest file: with the file hashes it lists, the bundle's identity."""
    return sha256_file(Path(bundle) / MANIFEST)


@dataclass(frozen=True)
class ModelRef:
    """``name`` and ``version`` (``latest`` until resolved)."""

    name: str
    version: str = LATEST

    @classmethod
    def parse(cls, text: str) -> ModelRef:
        """Read ``NAME``, ``NAME:latest`` or ``NAME:VERSION``.

        Raises:
            ConfigError: the text is not of that shape.
        """
        name, _, version = text.strip().partition(":")
        version = version or LATEST
        for part, what in ((name, "name"), (version, "version")):
            if not _PART.match(part):
                raise ConfigError(
                    f"Expected a model reference NAME[:VERSION] (letters, digits, '.', '_', '-'), got "
                    f"{text!r}: the {what} {part!r} is not valid."
                )
        return cls(name, version)

    def __str__(self) -> str:
        return f"{self.name}:{self.version}"


@dataclass(frozen=True)
class RegistryEntry:
    """One registered version: what ``entry.json`` holds, plus where its bundle lies."""

    name: str
    version: str
    sequence: int
    registered_at: str
    registered_by: str
    source: str
    manifest_sha256: str
    files: dict[str, str]
    source_name: str
    source_version: str
    bundle: Path

    @property
    def ref(self) -> str:
        """``name:version``."""
        return f"{self.name}:{self.version}"

    def to_json(self) -> dict[str, Any]:
        """The entry as JSON-ready data (the bundle path as a string)."""
        data = asdict(self)
        data["bundle"] = str(self.bundle)
        return data


def _validate_part(value: str, what: str) -> str:
    if not _PART.match(value) or (what == "version" and value == LATEST):
        raise ConfigError(
            f"Expected a model {what} of letters, digits, '.', '_' or '-' (at most 100, not "
            f"'{LATEST}'), got {value!r}. Pass --{what} to choose one."
        )
    return value


class ModelRegistry:
    """Registered bundles under ``root``; see the module docstring for the layout.

    Examples:
        >>> registry = ModelRegistry(Path("feedback-nlp-registry"))
        >>> entry = registry.register(Path("models/default"), version="v1")
        >>> registry.resolve("default").ref
        'default:v1'
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    # -- layout ------------------------------------------------------------------------------

    @property
    def models_dir(self) -> Path:
        return self.root / "models"

    @property
    def evaluations_dir(self) -> Path:
        return self.root / "evaluations"

    @property
    def promotions_file(self) -> Path:
        return self.root / "promotions.jsonl"

    def _version_dir(self, name: str, version: str) -> Path:
        return self.models_dir / name / version

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the registry's lock (an exclusive ``flock``) while registering or promoting."""
        self.root.mkdir(parents=True, exist_ok=True)
        with (self.root / ".lock").open("a") as handle:
            try:
                import fcntl
            except ImportError:  # pragma: no cover - not POSIX: one writer at a time is up to you
                yield
                return
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    # -- reading -----------------------------------------------------------------------------

    def entries(self, name: str | None = None) -> list[RegistryEntry]:
        """Registered versions (of ``name``, or all), oldest registration first."""
        if not self.models_dir.is_dir():
            return []
        found = []
        names = [name] if name else sorted(p.name for p in self.models_dir.iterdir() if p.is_dir())
        for model in names:
            folder = self.models_dir / model
            if not folder.is_dir():
                continue
            for version_dir in folder.iterdir():
                if (version_dir / ENTRY_FILE).is_file():
                    found.append(self._read_entry(version_dir))
        return sorted(found, key=lambda e: e.sequence)

    def _read_entry(self, version_dir: Path) -> RegistryEntry:
        path = version_dir / ENTRY_FILE
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            data["bundle"] = version_dir / BUNDLE_DIR
            return RegistryEntry(**data)
        except (OSError, json.JSONDecodeError, TypeError) as exc:
            raise BundleError(
                f"Registry entry {path} cannot be read ({exc}); it should be the JSON written by "
                "`feedback-nlp models register`. Restore it or register the bundle again."
            ) from exc

    def resolve(self, ref: str | ModelRef) -> RegistryEntry:
        """The entry for ``NAME[:VERSION]``; ``latest`` (or no version) is the newest registration.

        Raises:
            ConfigError: the reference is malformed.
            BundleError: no such name or version is registered.
        """
        ref = ModelRef.parse(ref) if isinstance(ref, str) else ref
        versions = self.entries(ref.name)
        if not versions:
            known = sorted({e.name for e in self.entries()})
            raise BundleError(
                f"No model named {ref.name!r} in the registry {self.root} (it has: "
                f"{', '.join(known) or 'nothing'}). Register one with `feedback-nlp models register PATH`."
            )
        if ref.version == LATEST:
            return versions[-1]
        for entry in versions:
            if entry.version == ref.version:
                return entry
        raise BundleError(
            f"{ref} is not registered in {self.root}; {ref.name} has versions {', '.join(e.version for e in versions)}."
        )

    # -- writing -----------------------------------------------------------------------------

    def register(
        self, path: Path, *, name: str | None = None, version: str | None = None, by: str | None = None
    ) -> tuple[RegistryEntry, bool]:
        """Verify the bundle at ``path`` and copy it in as ``name:version``.

        ``name`` and ``version`` default to the bundle manifest's. The copy's manifest carries
        them (predictions and the service then report ``name:version``); the bundle's own
        name and version are kept in the entry. Returns the entry and whether it is new
        (``False``: the same files were already registered under that reference).

        Raises:
            BundleError: ``path`` is not a complete, untampered bundle.
            ConfigError: the name or version is not valid.
            ConflictError: ``name:version`` is registered with other files.
        """
        path = Path(path)
        manifest = BundleManifest.read(path)  # verifies every file's sha256
        name = _validate_part(name or manifest.name, "name")
        version = _validate_part(version or manifest.version, "version")
        with self.locked():
            target = self._version_dir(name, version)
            if (target / ENTRY_FILE).is_file():
                existing = self._read_entry(target)
                if existing.files == manifest.files:
                    return existing, False
                raise ConflictError(
                    f"{name}:{version} is already registered with other files (from {existing.source}); "
                    "registered versions never change. Register this bundle under another --version."
                )
            if target.exists():  # a folder without an entry is not a registration: replace it
                shutil.rmtree(target)
            sequence = 1 + max((e.sequence for e in self.entries()), default=0)
            entry = self._copy_in(path, manifest, target, name, version, sequence, by)
        return entry, True

    def _copy_in(
        self,
        source: Path,
        manifest: BundleManifest,
        target: Path,
        name: str,
        version: str,
        sequence: int,
        by: str | None,
    ) -> RegistryEntry:
        with atomic_dir(target, replace=False) as staging:
            bundle = staging / BUNDLE_DIR
            bundle.mkdir()
            for file in [MANIFEST, *manifest.files]:
                shutil.copy2(source / file, bundle / file)
            manifest.model_copy(update={"name": name, "version": version}).write(bundle)
            BundleManifest.read(bundle)  # the copy is complete and its files match the hashes
            entry = RegistryEntry(
                name=name,
                version=version,
                sequence=sequence,
                registered_at=utc_now(),
                registered_by=current_user(by),
                source=str(source.resolve()),
                manifest_sha256=manifest_sha256(bundle),
                files=dict(manifest.files),
                source_name=manifest.name,
                source_version=manifest.version,
                bundle=target / BUNDLE_DIR,
            )
            data = entry.to_json()
            del data["bundle"]  # derived from where the entry lies
            (staging / ENTRY_FILE).write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        return entry
