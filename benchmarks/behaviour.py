"""Behavioural suite (CheckList-style): pass rates per capability for a bundle.

    python benchmarks/behaviour.py [--model models/default] [--name behaviour]

Cases come from :func:`feedback_nlp.train.behaviour.build_suite` (templates across 12
industries and all four kinds); failures are listed so they can be read.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import command_line, load_average, machine_info, md_header, md_table, now_utc, publish  # noqa: E402

from feedback_nlp.pipeline import load_pipeline  # noqa: E402
from feedback_nlp.train.behaviour import build_suite, pass_rates, run_suite  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def render(result: dict[str, Any]) -> list[str]:
    lines = md_header(f"Behavioural suite: {result['model_version']}", result)
    lines += [f"{result['cases']} cases, {result['industries']} industries, kinds {', '.join(result['kinds'])}.", ""]
    lines += md_table(
        ["capability", "cases", "passed", "pass rate"],
        [[name, v["n"], v["passed"], v["rate"]] for name, v in result["pass_rates"].items()],
    )
    lines += ["", f"Failures ({len(result['failures'])}; first 60):", ""]
    lines += md_table(
        ["case", "kind", "texts", "expected", "got"],
        [
            [f["id"], f["kind"], " / ".join(t.replace("|", "\\|") for t in f["texts"]), f["expect"], f["got"]]
            for f in result["failures"][:60]
        ],
    )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "default")
    parser.add_argument("--name", default="behaviour")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks")
    args = parser.parse_args()
    pipeline = load_pipeline(args.model, topics=False)
    cases = build_suite()
    results = run_suite(pipeline, cases)
    result = {
        "date": now_utc(),
        "machine": machine_info(),
        "load_average_start": load_average(),
        "command": command_line(),
        "model_version": pipeline.version,
        "cases": len(cases),
        "industries": len({c.industry for c in cases}),
        "kinds": sorted({c.kind.value for c in cases}),
        "pass_rates": pass_rates(results),
        "failures": [
            {
                "id": r.case.id,
                "kind": r.case.kind.value,
                "texts": list(r.case.texts),
                "expect": r.case.expect,
                "got": [{k: v for k, v in g.items() if k != "score"} | {"score": round(g["score"], 3)} for g in r.got],
            }
            for r in results
            if not r.passed
        ],
    }
    publish(args.name, args.out, result, render)


if __name__ == "__main__":
    main()
