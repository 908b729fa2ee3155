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
The manifest's keys are typed by :class:`~feedback_nlp.storage.artifacts.BundleManifest`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from feedback_nlp.storage.artifacts import (
    BUNDLE_FORMAT,
    MANIFEST,
    BundleManifest,
    Manifest,
    atomic_dir,
    hash_folder,
    write_manifest,
)

__all__ = ["BUNDLE_FORMAT", "MANIFEST", "BundleManifest", "new_bundle", "read_manifest"]


@contextmanager
def new_bundle(target: Path) -> Iterator[Path]:
    """Yield a temporary folder to write a bundle into; publish it at ``target`` on success.

    The caller writes its files and a ``manifest.json`` (``BundleManifest(...).write(staging)``)
    without the ``files`` key; the format and the hashes of every file are added here. An
    exception discards the temporary folder and leaves any existing bundle at ``target`` untouched.
    """
    with atomic_dir(target, replaces=(MANIFEST, "model bundle")) as staging:
        yield staging
        manifest = json.loads((staging / MANIFEST).read_text(encoding="utf-8"))
        manifest["format"] = BUNDLE_FORMAT
        manifest["files"] = hash_folder(staging)
        write_manifest(staging, manifest)
        _make_readable(staging)


def _make_readable(folder: Path) -> None:
    """Some writers make 0600 files; a bundle is read by other users (a service account, a
    container user), so give its files ordinary umask-respecting modes (atomic_dir does the folder)."""
    umask = os.umask(0)
    os.umask(umask)
    for file in folder.iterdir():
        file.chmod(0o666 & ~umask)


def read_manifest(path: str | Path) -> dict[str, Any]:
    """Read and verify any bundle's manifest and file hashes; return it as its JSON object.

    For a model bundle's typed fields use :meth:`BundleManifest.read`; this reads the
    manifest of any folder written by :func:`new_bundle` (model bundles, custom classifiers).

    Raises:
        BundleError: the folder, manifest or a listed file is missing, or a hash differs.
    """
    return Manifest.read(path).to_json()
