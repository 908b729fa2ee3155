"""Shared pieces of the benchmark scripts: the machine description, load averages, timing
snapshots and writing the JSON + Markdown result files.

Not a benchmark itself; the scripts next to it import it (they put this folder on
``sys.path`` first, so they run as ``python benchmarks/NAME.py`` from the repository root).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import resource
import shlex
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: The repository root (this file lives in ``benchmarks/``).
REPO_ROOT = Path(__file__).resolve().parent.parent

#: Where result files go unless ``--out-dir`` says otherwise.
DEFAULT_OUT_DIR = REPO_ROOT / "docs" / "benchmarks"


def cpu_model() -> str:
    """The CPU's ``model name`` from /proc/cpuinfo (``platform.processor()`` elsewhere)."""
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def memory_total_gib() -> float | None:
    """Physical memory in GiB from /proc/meminfo, or None where there is none."""
    try:
        for line in Path("/proc/meminfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 2**20, 1)
    except (OSError, ValueError, IndexError):
        pass
    return None


def load_average() -> list[float]:
    """The 1-, 5- and 15-minute load averages (what ``uptime`` prints)."""
    return [round(x, 2) for x in os.getloadavg()]


def machine_info() -> dict[str, Any]:
    """What the numbers were measured on: cores, CPU, memory, torch threads, versions."""
    import torch

    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "nproc": usable,
        "cpu_count": os.cpu_count(),
        "cpu_model": cpu_model(),
        "memory_gib": memory_total_gib(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def now_utc() -> str:
    """The current time, ISO 8601 in UTC, to the second."""
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()


def command_line() -> str:
    """The command as typed, with ``python`` for the interpreter."""
    return "python " + shlex.join(sys.argv)


def maxrss_mib(who: int = resource.RUSAGE_SELF) -> float:
    """High-water resident set size of this process (or its waited-for children) in MiB."""
    return round(resource.getrusage(who).ru_maxrss / 1024, 1)  # Linux reports KiB


def cpu_seconds(who: int = resource.RUSAGE_SELF) -> float:
    """User + system CPU seconds used so far by this process (or its waited-for children)."""
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


@dataclass
class Span:
    """One timed phase: wall seconds, CPU seconds, and the load average before and after."""

    wall_s: float
    cpu_s: float
    load_before: list[float]
    load_after: list[float]

    def as_dict(self) -> dict[str, Any]:
        return {
            "wall_s": round(self.wall_s, 3),
            "cpu_s": round(self.cpu_s, 3),
            "cpu_utilisation": round(self.cpu_s / self.wall_s, 2) if self.wall_s > 0 else None,
            "load_before": self.load_before,
            "load_after": self.load_after,
        }


class Timer:
    """Context manager measuring a :class:`Span` of this process.

    Examples:
        >>> with Timer() as timer:
        ...     work()
        >>> timer.span.wall_s
    """

    def __enter__(self) -> Timer:
        self._load = load_average()
        self._cpu = cpu_seconds()
        self._start = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        wall = time.perf_counter() - self._start
        self.span = Span(wall, cpu_seconds() - self._cpu, self._load, load_average())


def fmt_load(before: Sequence[float], after: Sequence[float]) -> str:
    """The 1-minute load average before and after a phase, e.g. ``1.52 → 2.31``."""
    return f"{before[0]:.2f} → {after[0]:.2f}"


def md_table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> list[str]:
    """A Markdown table as lines."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return lines


def md_header(title: str, result: dict[str, Any]) -> list[str]:
    """The title and the "measured on" block every result file starts with."""
    m = result["machine"]
    load = result["load_average_start"]
    return [
        f"# {title}",
        "",
        f"- Date: {result['date']} (UTC)",
        f"- Machine: {m['nproc']} usable cores (nproc), {m['cpu_model']}, "
        f"{m['memory_gib']} GiB memory; torch {m['torch']} with {m['torch_threads']} threads; "
        f"Python {m['python']}",
        f"- Load average at start (1/5/15 min): {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f}",
        f"- Command: `{result['command']}`",
        "",
    ]


def write_results(name: str, out_dir: Path, result: dict[str, Any], markdown: Sequence[str]) -> tuple[Path, Path]:
    """Write ``NAME.json`` and ``NAME.md`` into ``out_dir``; return both paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path = out_dir / f"{name}.json"
    md_path = out_dir / f"{name}.md"
    json_path.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    md_path.write_text("\n".join(markdown).rstrip() + "\n", encoding="utf-8")
    return json_path, md_path


def publish(
    name: str, out_dir: Path, result: dict[str, Any], render: Callable[[dict[str, Any]], Sequence[str]]
) -> None:
    """Write ``NAME.json`` and ``NAME.md`` (see :func:`write_results`), print the Markdown on
    stdout and where both went on stderr."""
    markdown = list(render(result))
    json_path, md_path = write_results(name, out_dir, result, markdown)
    print("\n".join(markdown))
    print(f"\nwrote {json_path} and {md_path}", file=sys.stderr)
