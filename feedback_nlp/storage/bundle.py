"""Model bundles: a folder with a manifest, weights in safe formats, the taxonomy and a card.

```
models/default/
  manifest.json        name, version, taxonomy, labels, encoder hash, file hashes,
                       data fingerprints, package versions, metrics, training config
  heads.safetensors    head weights (float32 arrays); never pickle
  heads.json           label lists, thresholds, temperatures
  taxonomy.yaml        the taxonomy the heads were trained on
  README.md            the generated model card
```

A bundle is written into a temporary sibling folder and renamed into place, so a crash
never leaves half a bundle; loading checks every file's sha256 against the manifest.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from feedback_nlp.errors import BundleError
from feedback_nlp.storage.artifacts import atomic_dir, sha256_file

MANIFEST = "manifest.json"
BUNDLE_FORMAT = 1


@contextmanager
def new_bundle(target: Path) -> Iterator[Path]:
    """Yield a temporary folder to write a bundle into; publish it at ``target`` on success.

    The caller writes its files and a ``manifest.json`` without the ``files`` key; the hashes
    of every file are added here. An exception discards the temporary folder and leaves any
    existing bundle at ``target`` untouched.
    """
    with atomic_dir(target) as staging:
        yield staging
        manifest_path = staging / MANIFEST
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        manifest["format"] = BUNDLE_FORMAT
        manifest["files"] = {
            p.name: sha256_file(p) for p in sorted(staging.iterdir()) if p.is_file() and p.name != MANIFEST
        }
        manifest_path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        _make_readable(staging)


def _make_readable(folder: Path) -> None:
    """Some writers make 0600 files; a bundle is read by other users (a service account, a
    container user), so give its files ordinary umask-respecting modes (atomic_dir does the folder)."""
    umask = os.umask(0)
    os.umask(umask)
    for file in folder.iterdir():
        file.chmod(0o666 & ~umask)


def read_manifest(path: Path) -> dict[str, Any]:
    """Read and verify a bundle's manifest and file hashes.

    Raises:
        BundleError: the folder, manifest or a listed file is missing, or a hash differs.
    """
    path = Path(path)
    manifest_path = path / MANIFEST
    try:
        found = manifest_path.is_file()
    except PermissionError as exc:
        raise BundleError(f"Cannot read {path}: permission denied. Make the bundle readable by this user.") from exc
    if not found:
        raise BundleError(
            f"Expected a model bundle at {path} (a folder with {MANIFEST}), found none. "
            "Train one with `feedback-nlp train` or set FEEDBACK_NLP_MODEL_DIR."
        )
    try:
        manifest: dict[str, Any] = json.loads(manifest_path.read_text(encoding="utf-8"))
    except PermissionError as exc:
        raise BundleError(f"Cannot read {manifest_path}: permission denied. Make the bundle readable by this user.") from exc
    except json.JSONDecodeError as exc:
        raise BundleError(f"{manifest_path} is not valid JSON ({exc}); the bundle is damaged.") from exc
    if manifest.get("format") != BUNDLE_FORMAT:
        raise BundleError(
            f"{path} has bundle format {manifest.get('format')!r}; this version of feedback-nlp "
            f"reads format {BUNDLE_FORMAT}. Retrain the bundle with this version."
        )
    files = manifest.get("files")
    if not isinstance(files, dict) or not files:
        raise BundleError(f"{manifest_path} lists no files; the bundle is incomplete.")
    for name, expected in files.items():
        file_path = path / name
        if not file_path.is_file():
            raise BundleError(f"Bundle {path} is missing {name}, which its manifest lists.")
        actual = sha256_file(file_path)
        if actual != expected:
            raise BundleError(
                f"Bundle file {file_path} has sha256 {actual[:12]}..., the manifest expects "
                f"{expected[:12]}...: the file was changed or truncated after training. "
                "Restore the bundle or retrain it."
            )
    return manifest
