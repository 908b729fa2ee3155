"""Long-lived child processes for fair side-by-side timings on a shared machine.

Each system under test (a pipeline backend, a peer library) is loaded once in its own child,
started with multiprocessing's ``spawn`` method (a fresh interpreter: no shared memory, thread
pools or warm caches). The parent then asks the children in turn to do the same work, round
after round, so a burst of load from another job slows one round of every system rather than
every round of one system; the fastest round of each counts.

A child reports its resident set size before loading anything (``VmRSS``) and its high-water
mark when stopped (``getrusage(RUSAGE_SELF).ru_maxrss``). Linux carries a parent's high-water
mark over fork + exec, so the parent must stay small (it should hold only the texts).

Not a benchmark itself; ``encoder_backends.py`` and ``compare_peers.py`` use it.
"""

from __future__ import annotations

import importlib
import multiprocessing
import os
import resource
import time
from pathlib import Path
from typing import Any


def rss_now_mib() -> float:
    """This process's current resident set size (``VmRSS``) in MiB."""
    for line in Path("/proc/self/status").read_text(encoding="utf-8").splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _serve(module: str, factory: str, options: dict[str, Any], conn: Any) -> None:
    """The child: load the system, then run what the parent asks until told to stop."""
    try:
        baseline = rss_now_mib()
        started = time.perf_counter()
        system = getattr(importlib.import_module(module), factory)(options)
        conn.send(
            {
                "ok": True,
                "load_s": round(time.perf_counter() - started, 2),
                "rss_baseline_mib": round(baseline, 1),
                "info": getattr(system, "info", {}),
            }
        )
    except BaseException as exc:  # noqa: BLE001 - reported by the parent
        conn.send({"ok": False, "error": f"{type(exc).__name__}: {exc}"})
        conn.close()
        return
    while True:
        method, args = conn.recv()
        if method == "stop":
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            conn.send({"ok": True, "peak_rss_mib": round(peak, 1), "peak_rss_delta_mib": round(peak - baseline, 1)})
            conn.close()
            return
        try:
            load_before, cpu_before, start = os.getloadavg()[0], _cpu_s(), time.perf_counter()
            value = getattr(system, method)(*args)
            wall = time.perf_counter() - start
            conn.send(
                {
                    "ok": True,
                    "value": value,
                    "wall_s": wall,
                    "cpu_s": _cpu_s() - cpu_before,
                    "load_before": round(load_before, 2),
                    "load_after": round(os.getloadavg()[0], 2),
                }
            )
        except BaseException as exc:  # noqa: BLE001
            conn.send({"ok": False, "error": f"{type(exc).__name__}: {exc}"})


class Worker:
    """One system under test in a spawned child.

    Args:
        module: importable module (on the child's ``sys.path``) holding ``factory``.
        factory: a function ``options -> object``; the parent calls that object's methods.
        options: passed to ``factory`` (must pickle).
    """

    def __init__(self, module: str, factory: str, options: dict[str, Any]) -> None:
        context = multiprocessing.get_context("spawn")
        self._conn, child_conn = context.Pipe()
        self._process = context.Process(target=_serve, args=(module, factory, options, child_conn), daemon=True)
        self._process.start()
        child_conn.close()
        self.started = self._receive()

    def _receive(self) -> dict[str, Any]:
        try:
            reply: dict[str, Any] = self._conn.recv()
        except EOFError:
            reply = {"ok": False, "error": f"the child died (exit code {self._process.exitcode})"}
        if not reply.get("ok"):
            raise RuntimeError(reply.get("error", "unknown error"))
        return reply

    def call(self, method: str, *args: Any) -> dict[str, Any]:
        """Run ``method(*args)`` in the child: its value, wall and CPU seconds, load average."""
        self._conn.send((method, args))
        return self._receive()

    def stop(self) -> dict[str, Any]:
        """End the child; its peak RSS (and the delta over its RSS before loading)."""
        self._conn.send(("stop", ()))
        reply = self._receive()
        self._process.join(timeout=30)
        return reply

    def kill(self) -> None:
        """End the child at once (after an error)."""
        if self._process.is_alive():
            self._process.kill()
        self._process.join(timeout=10)


def best_run(runs: list[dict[str, Any]], n: int) -> dict[str, Any]:
    """The fastest of ``runs`` (each a :meth:`Worker.call` reply timing ``n`` texts), summarised."""
    best = min(runs, key=lambda r: r["wall_s"])
    return {
        "texts_per_s": round(n / best["wall_s"], 1),
        "wall_s": round(best["wall_s"], 3),
        "cpu_utilisation": round(best["cpu_s"] / best["wall_s"], 2),
        "texts_per_cpu_s": round(n / best["cpu_s"], 1) if best["cpu_s"] > 0 else None,
        "load_before": best["load_before"],
        "load_after": best["load_after"],
        "all_wall_s": [round(r["wall_s"], 3) for r in runs],
        "all_texts_per_s": [round(n / r["wall_s"], 1) for r in runs],
    }
