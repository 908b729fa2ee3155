"""Artifacts on disk: folders published whole (:func:`atomic_dir`) and file hashes (:func:`sha256_file`).

Every writer of a folder that must never be seen half-written (model bundles, the model
registry, scoring outputs, the ONNX cache) stages it in a temporary sibling and swaps it in.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def sha256_file(path: str | Path, chunk_size: int = 1 << 20) -> str:
    """The hex sha256 of a file, read in chunks (encoder weights run to hundreds of MB)."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        while chunk := handle.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()


def make_staging(target: Path) -> Path:
    """A fresh temporary folder beside ``target`` (same file system, so the swap is a rename)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))


@contextmanager
def atomic_dir(target: str | Path, *, replace: bool = True, staging: Path | None = None) -> Iterator[Path]:
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
    """
    target = Path(target)
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
