"""A score request over N stored predictions in SQLite: streamed through Python vs counted in SQL.

1. Writes N synthetic predictions (the rows of ``score_scale.py``: touchpoints, segments, NPS
   on a quarter, four sources, a year of dates) into a fresh SQLite database.
2. ``stream``: what ``/v1/scores/*`` did before: every stored row read into Python dicts
   (``job.stored_rows``), made a records frame and counted in chunks of 20,000.
3. ``engine``: what it does now: ``scoring.duck.store_counts`` reads only the needed columns
   in Arrow batches into DuckDB and counts every table in SQL (the one mention rule).
4. Both give the count tables of the five score tables; the script checks that the score
   tables are equal (and, with ``--compare``, equal to a file an earlier run wrote).

    python benchmarks/score_store.py --n 200000
    python benchmarks/score_store.py --n 200000 --tables-out before/   # on the old code
    python benchmarks/score_store.py --n 200000 --compare before/

Times are wall and CPU seconds of this process (the CPU is shared: see the load average).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    DEFAULT_OUT_DIR,
    command_line,
    load_average,
    machine_info,
    md_header,
    md_table,
    now_utc,
    write_results,
)
from score_scale import fill  # noqa: E402

PERIOD = "week"


def timed(run: Any) -> tuple[Any, dict[str, float]]:
    wall, cpu = time.perf_counter(), time.process_time()
    out = run()
    return out, {"wall_s": round(time.perf_counter() - wall, 2), "cpu_s": round(time.process_time() - cpu, 2)}


def stream_counts(sessions: Any) -> dict[str, Any]:
    """The old route body: every row through Python, counted chunk by chunk."""
    from feedback_nlp.scoring import job
    from feedback_nlp.scoring.frame import records_from_rows

    specs = job.count_specs(())
    counts: dict[str, Any] = {}
    for batch in job.chunks(job.stored_rows(sessions=sessions)):
        counts = job.add_counts(counts, job.count_chunk(records_from_rows(batch), PERIOD, specs), specs)
    return job.add_counts(counts, {}, specs)


def engine_counts(engine: Any) -> dict[str, Any]:
    from feedback_nlp.scoring import job
    from feedback_nlp.scoring.duck import store_counts

    return store_counts(engine, job.count_specs(()), PERIOD).counts


def tables(counts: dict[str, Any]) -> dict[str, Any]:
    from feedback_nlp.scoring import job

    return job.tables_from_counts(counts, PERIOD, ())  # type: ignore[arg-type]


def equal(a: dict[str, Any], b: dict[str, Any]) -> bool:
    import pandas as pd

    if set(a) != set(b):
        return False
    for name in a:
        pd.testing.assert_frame_equal(a[name], b[name], check_exact=False, rtol=1e-9, atol=1e-9, obj=name)
    return True


def save_tables(folder: Path, tables: dict[str, Any], result: dict[str, Any]) -> None:
    """Tables as Parquet and the timing as JSON (no pickle: a folder someone may hand over)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, frame in tables.items():
        frame.to_parquet(folder / f"{name}.parquet")
    (folder / "result.json").write_text(json.dumps(result, indent=2, default=str), encoding="utf-8")


def load_tables(folder: Path) -> dict[str, Any]:
    import pandas as pd

    # Parquet brings text columns back as pandas' string dtype; the tables compared hold objects.
    tables = {}
    for path in sorted(folder.glob("*.parquet")):
        frame = pd.read_parquet(path)
        tables[path.stem] = frame.astype({column: object for column in frame.select_dtypes("string")})
    return {"tables": tables, "result": json.loads((folder / "result.json").read_text(encoding="utf-8"))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=200_000)
    parser.add_argument("--out-dir", type=Path, default=DEFAULT_OUT_DIR)
    parser.add_argument(
        "--tables-out", type=Path, help="a folder: the stream path's tables (Parquet) and timing (JSON) go here"
    )
    parser.add_argument(
        "--compare",
        type=Path,
        help="a --tables-out file of a run on the old code: its timing is "
        "reported as 'before' and its tables must equal these",
    )
    parser.add_argument("--no-write", action="store_true", help="print only; write nothing to --out-dir")
    args = parser.parse_args()

    from feedback_nlp.storage.db import init_db, make_session_factory

    result: dict[str, Any] = {
        "date": now_utc(),
        "command": command_line(),
        "machine": machine_info(),
        "load_average_start": load_average(),
        "n": args.n,
    }
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        result["fill_s"] = round(fill(url, args.n), 1)
        engine = init_db(url)
        streamed, result["stream"] = timed(lambda: tables(stream_counts(make_session_factory(engine))))
        print("stream", result["stream"], flush=True)
        try:
            counted, result["engine"] = timed(lambda: tables(engine_counts(engine)))
            print("engine", result["engine"], flush=True)
            result["equal_tables"] = equal(streamed, counted)
        except ImportError:  # the code before store_counts existed
            result["engine"] = None
        engine.dispose()
    if args.tables_out:
        save_tables(args.tables_out, streamed, result)
    if args.compare:
        before = load_tables(args.compare)
        result["old_code"] = {k: before["result"][k] for k in ("stream", "load_average_start", "date")}
        result["equal_to_old_code"] = equal(before["tables"], streamed) and equal(before["tables"], counted)
    result["load_average_end"] = load_average()
    print(json.dumps(result, indent=2))
    if args.no_write:
        return
    md = md_header(f"A score request over {args.n:,} stored predictions (SQLite)", result)
    rows = []
    if "old_code" in result:
        rows.append(["old code: the route's stream through Python (before this change)", result["old_code"]["stream"]])
    rows.append(["stream every row through Python, counted by the engine", result["stream"]])
    if result["engine"]:
        rows.append(["count in SQL: Arrow batches into DuckDB (now)", result["engine"]])
    md += md_table(["path", "wall s", "CPU s"], [[name, r["wall_s"], r["cpu_s"]] for name, r in rows])
    md += [
        "",
        f"CPU: {result['machine']['cpu_model']}; load average {result['load_average_start']} at the start, "
        f"{result['load_average_end']} at the end (2 cores shared with other work). Score tables of both paths "
        f"equal: {result.get('equal_tables')}; equal to the old code's: {result.get('equal_to_old_code')}.",
        "",
        "Compare CPU seconds across runs: wall time on the shared cores follows the load average.",
    ]
    json_path, md_path = write_results("score_store", args.out_dir, result, md)
    print(json.dumps({"wrote": [str(json_path), str(md_path)]}))


if __name__ == "__main__":
    main()
