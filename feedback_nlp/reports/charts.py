"""Charts for reports, as SVG markup to inline in an HTML page that opens offline.

Matplotlib draws the larger charts on bare ``Figure`` objects, never through pyplot, so no
GUI backend is chosen and no global figure list grows (headless, as the ``Agg`` backend
would be); text is drawn as paths, so the page needs no font and no label can inject
markup. Sparklines are hand-built SVG of numbers only.

Each matplotlib SVG is cleaned for inlining: no XML prolog, no metadata, no comments, no
global ``<style>``, sizes in CSS pixels, and its ids prefixed so that several charts can
share one page.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from matplotlib.figure import Figure
    from matplotlib.typing import RcKeyType

BAR_COLOR = "#5b8def"
"""Fill of the volume bars; tests look for it in screenshots."""

LINE_COLOR = "#1f2a44"
"""Net-sentiment line and sparkline stroke."""

HEATMAP_CMAP = "Blues"
"""Colormap of the touchpoint × topic heatmap."""

TEXT_COLOR = "#3b4252"
_GRID_COLOR = "#e5e8ef"
_LABEL_CHARS = 38
_RC: dict[RcKeyType, Any] = {
    "svg.fonttype": "path",  # glyphs as paths: no fonts needed and no text to escape
    "svg.hashsalt": "feedback-nlp",  # stable clip-path ids, so the same data gives the same page
    "text.parse_math": False,  # a "$" in a topic label is a dollar, not mathtext
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "axes.edgecolor": _GRID_COLOR,
    "axes.labelcolor": TEXT_COLOR,
    "xtick.color": TEXT_COLOR,
    "ytick.color": TEXT_COLOR,
    "axes.spines.top": False,
    "axes.spines.right": False,
}


def sparkline_svg(values: Sequence[float], *, width: int = 120, height: int = 28) -> str:
    """A small trend line of ``values``, with the last point marked.

    Args:
        values: The series, oldest first; NaN points are drawn as 0.
        width: Width in CSS pixels.
        height: Height in CSS pixels.

    Returns:
        An ``<svg>`` element (numbers only, nothing to escape).
    """
    ys = np.nan_to_num(np.asarray(values, dtype=float))
    if ys.size == 0:
        return f'<svg class="spark" width="{width}" height="{height}" role="img" aria-label="no data"></svg>'
    pad = 3.0
    top = ys.max() if ys.max() > 0 else 1.0
    xs = np.linspace(pad, width - pad, ys.size) if ys.size > 1 else np.array([width / 2])
    scaled = height - pad - (ys / top) * (height - 2 * pad)
    points = " ".join(f"{x:.1f},{y:.1f}" for x, y in zip(xs, scaled, strict=True))
    area = f"{xs[0]:.1f},{height - pad:.1f} {points} {xs[-1]:.1f},{height - pad:.1f}"
    return (
        f'<svg class="spark" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="trend over {ys.size} periods">'
        f'<polygon points="{area}" fill="{BAR_COLOR}" fill-opacity="0.18" stroke="none"/>'
        f'<polyline points="{points}" fill="none" stroke="{LINE_COLOR}" stroke-width="1.5" '
        'stroke-linejoin="round" stroke-linecap="round"/>'
        f'<circle cx="{xs[-1]:.1f}" cy="{scaled[-1]:.1f}" r="2.5" fill="{LINE_COLOR}"/></svg>'
    )


def volume_chart_svg(labels: Sequence[str], volume: Sequence[int], net_sentiment: Sequence[float]) -> str:
    """Bars of feedback volume per period with the net-sentiment line on a second axis.

    Args:
        labels: Period names, oldest first.
        volume: Texts per period.
        net_sentiment: Net sentiment per period, in [−100, 100] (NaN leaves a gap).

    Returns:
        An inline ``<svg>`` element.
    """
    with _charting():
        fig = _figure((8.6, 2.8))
        ax = fig.subplots()
        x = np.arange(len(labels))
        ax.bar(x, volume, color=BAR_COLOR, width=0.7, label="volume")
        ax.set_ylabel("texts")
        ax.grid(axis="y", color=_GRID_COLOR, linewidth=0.8)
        ax.set_axisbelow(True)
        right = ax.twinx()
        right.plot(x, net_sentiment, color=LINE_COLOR, marker="o", markersize=3.5, linewidth=1.6)
        right.set_ylabel("net sentiment")
        right.set_ylim(*_sentiment_limits(net_sentiment))
        right.axhline(0, color=LINE_COLOR, linewidth=0.6, linestyle=":")
        right.spines["right"].set_visible(True)
        step = max(1, math.ceil(len(labels) / 12))
        ax.set_xticks(x[::step], [str(label) for label in labels][::step])
        return _to_svg(fig, "volume")


def heatmap_svg(shares: pd.DataFrame, *, column_totals: Sequence[int] | None = None) -> str:
    """A topic × touchpoint heatmap of shares in [0, 1], each cell labelled in percent.

    Args:
        shares: Rows are topics (index: labels), columns are touchpoints; 0 and NaN are blank.
        column_totals: Texts behind each column, shown under its name.

    Returns:
        An inline ``<svg>`` element.
    """
    rows, cols = shares.shape
    values = shares.to_numpy(dtype=float)
    top = np.nanmax(values) if np.isfinite(values).any() and np.nanmax(values) > 0 else 1.0
    with _charting():
        fig = _figure((2.6 + 0.78 * cols, 1.2 + 0.34 * rows))
        ax = fig.subplots()
        # Vector cells (pcolormesh), not imshow, which would embed a bitmap; empty cells stay white.
        ax.pcolormesh(np.ma.masked_where(~(values > 0), values), cmap=HEATMAP_CMAP, vmin=0, vmax=top,
                      edgecolors="white", linewidth=1.5)  # fmt: skip
        for (i, j), value in np.ndenumerate(values):
            if np.isfinite(value) and value > 0:
                dark = value > 0.55 * top
                ax.text(j + 0.5, i + 0.5, f"{value:.0%}", ha="center", va="center", fontsize=8,
                        color="white" if dark else TEXT_COLOR)  # fmt: skip
        names = [str(c) for c in shares.columns]
        if column_totals is not None:
            names = [f"{name}\nn={total}" for name, total in zip(names, column_totals, strict=True)]
        ax.invert_yaxis()  # first topic on top
        ax.xaxis.tick_top()
        ax.set_xticks(np.arange(cols) + 0.5, names, rotation=35, ha="left", rotation_mode="anchor")
        ax.set_yticks(np.arange(rows) + 0.5, [_short(str(label)) for label in shares.index])
        ax.tick_params(length=0)
        ax.spines[:].set_visible(False)
        return _to_svg(fig, "heatmap")


def _sentiment_limits(values: Sequence[float]) -> tuple[float, float]:
    finite = [v for v in values if v is not None and math.isfinite(v)]
    low = min([*finite, 0.0])
    high = max([*finite, 0.0])
    margin = max(5.0, 0.15 * (high - low))
    return max(-100.0, low - margin), min(100.0, high + margin)


def _short(label: str) -> str:
    return label if len(label) <= _LABEL_CHARS else label[: _LABEL_CHARS - 1] + "…"


@contextmanager
def _charting() -> Iterator[None]:
    """The report's chart style, for drawing and for saving (some settings act on save)."""
    import matplotlib

    with matplotlib.rc_context(_RC):
        yield


def _figure(size: tuple[float, float]) -> Figure:
    # A bare Figure, not pyplot: no GUI backend, no global figure list to leak into.
    from matplotlib.figure import Figure

    return Figure(figsize=size, layout="constrained")


_PROLOG = re.compile(r"\A.*?(?=<svg\b)", re.DOTALL)
_DROP = re.compile(r"<metadata>.*?</metadata>|<style\b.*?</style>|<!--.*?-->", re.DOTALL)
_SIZE = re.compile(r'\b(width|height)="([0-9.]+)pt"')
_REF = re.compile(r'(\bid="|href="#|url\(#)([^")]+)')


def _to_svg(fig: Figure, prefix: str) -> str:
    """Serialise a figure as an ``<svg>`` element fit to be inlined in HTML."""
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    svg = _DROP.sub("", _PROLOG.sub("", buffer.getvalue(), count=1))
    # Sizes in CSS pixels (1 pt = 4/3 px); the page's CSS lets a chart shrink, never grow.
    svg = _SIZE.sub(lambda m: f'{m.group(1)}="{float(m.group(2)) * 4 / 3:.0f}"', svg, count=2)
    svg = svg.replace("<svg ", f'<svg class="chart chart-{prefix}" role="img" ', 1)
    ids = set(re.findall(r'\bid="([^"]+)"', svg))

    def prefixed(match: re.Match[str]) -> str:
        head, name = match.groups()
        return f"{head}{prefix}-{name}" if name in ids else match.group(0)

    return _REF.sub(prefixed, svg).strip()
