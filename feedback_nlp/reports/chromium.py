"""Headless Chromium: print an HTML file to PDF, screenshot it, read its DOM.

Every run gets a fresh, throw-away profile and the switches that keep Chromium off the
network (no sync, no component updates, no background requests), so a report renders
the same way on a laptop and on a server. Chromium is a system program, not a Python
package: on Debian or Ubuntu, ``apt-get install chromium``.

Examples:
    >>> messages = screenshot(Path("report.html"), Path("report.png"))  # doctest: +SKIP
    >>> assert not messages, messages  # nothing was written to the page's console
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from feedback_nlp.errors import FeedbackNLPError

logger = logging.getLogger(__name__)

CANDIDATES: tuple[str, ...] = ("/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome")
"""Where Chromium is looked for, in order, when no path is given."""

INSTALL_HINT = (
    "install Chromium (Debian/Ubuntu: apt-get install chromium), give the path of a Chromium or "
    "Chrome binary (`feedback-nlp report topics --chromium PATH`), or write the report as html (--format html)"
)

FLAGS: tuple[str, ...] = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--force-device-scale-factor=1",
    # The page's console goes to stderr, where console_messages() finds it.
    "--enable-logging=stderr",
    "--v=0",
)
"""Switches of every run, besides ``--user-data-dir`` (a fresh temporary folder)."""


MAX_HEIGHT = 16384
"""The tallest screenshot taken, in CSS pixels (about the largest texture a GPU allows)."""


class BrowserError(FeedbackNLPError):
    """Chromium is missing, or it failed to render a page."""


def find_chromium(chromium: str | Path | None = None) -> Path:
    """The Chromium binary to run: ``chromium`` if given, else the first of :data:`CANDIDATES`.

    Raises:
        BrowserError: The given path is not an executable file, or none is installed.
    """
    if chromium is not None:
        path = Path(chromium)
        if path.is_file() and os.access(path, os.X_OK):
            return path
        raise BrowserError(f"expected a Chromium binary at {path}, but no executable file is there; {INSTALL_HINT}")
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return Path(found)
    raise BrowserError(
        f"PDF and PNG reports are rendered by headless Chromium, but none was found "
        f"(looked for {', '.join(CANDIDATES)}); {INSTALL_HINT}"
    )


def run_chromium(
    page: Path, *flags: str, chromium: str | Path | None = None, timeout: float = 120.0
) -> subprocess.CompletedProcess[str]:
    """Open ``page`` in headless Chromium with :data:`FLAGS` plus ``flags``.

    Args:
        page: The HTML file to open.
        *flags: The action, e.g. ``--print-to-pdf=out.pdf`` or ``--dump-dom``.
        chromium: The binary; see :func:`find_chromium`.
        timeout: Seconds before the run is abandoned.

    Returns:
        The finished process, with ``stdout`` (e.g. the DOM) and ``stderr`` (logs) as text.

    Raises:
        BrowserError: Chromium is missing, timed out or exited with an error.
    """
    binary = find_chromium(chromium)
    with tempfile.TemporaryDirectory(prefix="feedback-nlp-chromium-", ignore_cleanup_errors=True) as profile:
        argv = [str(binary), *FLAGS, f"--user-data-dir={profile}", *flags, page.resolve().as_uri()]
        logger.debug("running %s", " ".join(argv))
        try:
            result = subprocess.run(
                argv, capture_output=True, text=True, errors="replace", timeout=timeout, check=False
            )
        except subprocess.TimeoutExpired:
            raise BrowserError(
                f"Chromium did not finish rendering {page} within {timeout:.0f} s; "
                "try again, or write the report as html"
            ) from None
    if result.returncode != 0:
        tail = "\n".join(result.stderr.strip().splitlines()[-5:])
        raise BrowserError(f"Chromium exited with code {result.returncode} while rendering {page}:\n{tail}")
    return result


def console_messages(stderr: str) -> list[str]:
    """The lines of Chromium's log that a page wrote to its console, or uncaught errors."""
    return [line for line in stderr.splitlines() if "CONSOLE" in line or "Uncaught" in line]


def print_pdf(page: Path, out: Path, *, chromium: str | Path | None = None) -> list[str]:
    """Print ``page`` to a PDF file (the page's print CSS applies; no header or footer).

    Returns:
        What the page wrote to its console (normally nothing).

    Raises:
        BrowserError: Chromium is missing or failed, or wrote no file.
    """
    result = run_chromium(page, f"--print-to-pdf={out}", "--no-pdf-header-footer", chromium=chromium)
    _check_written(out, result)
    return console_messages(result.stderr)


def screenshot(
    page: Path, out: Path, *, width: int = 1200, height: int = 6000, chromium: str | Path | None = None
) -> list[str]:
    """Take a full-page PNG screenshot of ``page``, cut below the last non-blank row.

    The window is ``width`` × ``height`` CSS pixels; when the page reaches the bottom of
    the window, the shot is taken again in a window twice as tall (up to
    :data:`MAX_HEIGHT`), so ``height`` need only be a good guess.

    Returns:
        What the page wrote to its console (normally nothing).

    Raises:
        BrowserError: Chromium is missing or failed, or wrote no file.
    """
    while True:
        result = run_chromium(page, f"--screenshot={out}", f"--window-size={width},{height}", chromium=chromium)
        _check_written(out, result)
        if trim_bottom(out) or height >= MAX_HEIGHT:
            return console_messages(result.stderr)
        height = min(2 * height, MAX_HEIGHT)


def dump_dom(page: Path, *, chromium: str | Path | None = None) -> str:
    """The page's DOM as Chromium built it, serialised as HTML."""
    return run_chromium(page, "--dump-dom", chromium=chromium).stdout


def trim_bottom(png: Path, *, margin: int = 24) -> bool:
    """Cut a PNG just below its last row that differs from the bottom-right pixel.

    Returns:
        Whether the image ended in at least ``margin`` blank rows (so nothing was cut off).
    """
    import numpy as np
    from PIL import Image

    with Image.open(png) as image:
        rgb = image.convert("RGB")
    pixels = np.asarray(rgb, dtype=np.int16)
    differs = np.abs(pixels - pixels[-1, -1]).sum(axis=2) > 12
    rows = np.flatnonzero(differs.any(axis=1))
    bottom = int(rows[-1]) + 1 + margin if rows.size else margin
    if bottom > pixels.shape[0]:
        return False
    rgb.crop((0, 0, pixels.shape[1], bottom)).save(png, format="PNG")
    return True


def _check_written(out: Path, result: subprocess.CompletedProcess[str]) -> None:
    if not out.is_file() or out.stat().st_size == 0:
        tail = "\n".join(result.stderr.strip().splitlines()[-5:])
        raise BrowserError(f"Chromium reported success but wrote nothing to {out}:\n{tail}")
