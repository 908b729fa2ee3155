"""Scoring a million stored predictions on the embedded engine: wall time and peak memory.

1. Writes N synthetic predictions (touchpoints, segments, NPS on a quarter, four sources, a
   year of dates) into a fresh SQLite database with the service's schema.
2. Runs ``feedback-nlp score --from-db --period week --by source`` in a child process and
   reads its wall time and peak RSS: rows are streamed from the database in batches of 5,000
   and counted in chunks of 20,000, so memory stays flat.
3. Runs a second ``score --from-db`` with nothing new (the incremental, idempotent path).
4. Counts the same predictions from Parquet with DuckDB (``duck_counts``), also in a child.

    python benchmarks/score_scale.py --n 1000000
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    DEFAULT_OUT_DIR,
    command_line,
    load_average,
    machine_info,
    md_header,
    md_table,
    now_utc,
    write_results,
)  # noqa: E402

TOUCHPOINTS = ["delivery", "website", "mobile_app", "billing", "in_person", "phone", "product"]
STAGES = ["purchase", "delivery", "usage", "support", "billing"]
LABELS = ["negative", "neutral", "positive"]


def synthetic_rows(n: int, seed: int = 0):  # type: ignore[no-untyped-def]
    rng = random.Random(seed)
    start = datetime(2025, 1, 1, tzinfo=UTC)
    for i in range(n):
        label = rng.choice(LABELS)
        score = {"negative": -0.7, "neutral": 0.0, "positive": 0.8}[label]
        tps = rng.sample(TOUCHPOINTS, rng.randint(0, 2))
        segments = [
            {
                "text": "x",
                "start": 0,
                "end": 1,
                "sentiment": {"label": rng.choice(LABELS), "score": round(rng.uniform(-1, 1), 4)},
                "touchpoints": [{"label": tp, "confidence": 0.8}],
            }
            for tp in tps[:1]
        ]
        yield {
            "id": f"{i:08d}",
            "source": rng.choice(["web", "app", "survey", "store"]),
            "external_id": str(i),
            "external_id_generated": False,
            "kind": rng.choice(["survey", "review", "social"]),
            "text": "redacted",
            "text_sha256": "0" * 64,
            "created_at": start + timedelta(minutes=rng.randint(0, 525_600)),
            "received_at": start,
            "channel": None,
            "rating": None,
            "nps": rng.randint(0, 10) if i % 4 == 0 else None,
            "metadata": {"region": rng.choice(["north", "south"])},
            "sentiment_label": label,
            "sentiment_score": score,
            "sentiment_probabilities": None,
            "journey_stage": rng.choice(STAGES),
            "journey_stage_confidence": 0.9,
            "touchpoints": [{"label": tp, "confidence": 0.9} for tp in tps],
            "segments": segments,
            "topic": {
                "id": 1,
                "label": rng.choice(["delivery delay", "price and value", "app problem"]),
                "confidence": 0.7,
            },
            "model_version": "bench",
        }


def fill(url: str, n: int) -> float:
    from sqlalchemy import insert

    from feedback_nlp.storage.db import init_db
    from feedback_nlp.storage.models import Feedback

    engine = init_db(url)
    started = time.perf_counter()
    batch = []
    with engine.begin() as connection:
        for row in synthetic_rows(n):
            batch.append(row)
            if len(batch) == 20_000:
                connection.execute(insert(Feedback.__table__), batch)
                batch = []
        if batch:
            connection.execute(insert(Feedback.__table__), batch)
    engine.dispose()
    return time.perf_counter() - started


def child(args: list[str], env: dict[str, str]) -> dict[str, object]:
    """Run a child process under /usr/bin/time: its own wall time, CPU time and peak RSS."""
    done = subprocess.run(["/usr/bin/time", "-f", "TIME %M %e %U %S", *args], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-2000:])
    line = [x for x in done.stderr.splitlines() if x.startswith("TIME ")][-1].split()
    rss_kib, wall, user, system = int(line[1]), float(line[2]), float(line[3]), float(line[4])
    said = [x for x in done.stderr.splitlines() if x and not x.startswith("TIME ") and "scoring:" not in x]
    return {
        "wall_s": wall,
        "cpu_s": round(user + system, 1),
        "peak_rss_mib": round(rss_kib / 1024, 1),
        "said": said[-1:],
    }


DUCK = """
import sys
from feedback_nlp.scoring.duck import duck_counts
t = duck_counts(sys.argv[1], ["touchpoint", "source", "period"], level="touchpoint", period="week")
print(len(t))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--out-dir", type=Path, default=DEFAULT_OUT_DIR)
    args = parser.parse_args()
    result: dict[str, object] = {
        "date": now_utc(),
        "command": command_line(),
        "machine": machine_info(),
        "load_average_start": load_average(),
        "n": args.n,
    }
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        result["fill_s"] = round(fill(url, args.n), 1)
        print("filled", result["fill_s"], flush=True)
        env = {**os.environ, "DATABASE_URL": url}
        cli = [
            sys.executable,
            "-m",
            "feedback_nlp",
            "score",
            "--from-db",
            "--period",
            "week",
            "--by",
            "source",
            "-o",
            f"{tmp}/scores",
        ]
        result["score_full"] = child(cli, env)
        print("full", result["score_full"], flush=True)
        result["score_nothing_new"] = child(cli, env)
        print("again", result["score_nothing_new"], flush=True)
        # The same predictions as Parquet, counted by DuckDB.
        import pyarrow.parquet as pq

        from feedback_nlp.scoring.duck import to_arrow
        from feedback_nlp.scoring.frame import records_from_rows

        writer = None
        chunk = []
        for i, row in enumerate(synthetic_rows(args.n)):
            chunk.append(row)
            if len(chunk) == 100_000 or i == args.n - 1:
                table = to_arrow(records_from_rows(chunk))
                writer = writer or pq.ParquetWriter(f"{tmp}/records.parquet", table.schema)
                writer.write_table(table)
                chunk = []
        if writer:
            writer.close()
        result["duckdb_parquet"] = child([sys.executable, "-c", DUCK, f"{tmp}/records.parquet"], env)
        print("duckdb", result["duckdb_parquet"], flush=True)
    md = md_header(f"Scoring {args.n:,} stored predictions (embedded engine)", result)  # type: ignore[arg-type]
    rows = [
        ["`score --from-db --period week --by source` (SQLite, all new)", result["score_full"]],
        ["the same again, nothing new (incremental)", result["score_nothing_new"]],
        ["DuckDB counts from Parquet (touchpoint x source x week)", result["duckdb_parquet"]],
    ]
    md += md_table(
        ["run", "wall s", "CPU s", "peak RSS MiB"],
        [[name, r["wall_s"], r["cpu_s"], r["peak_rss_mib"]] for name, r in rows],
    )  # type: ignore[index]
    md += [
        "",
        f"Filling the database took {result['fill_s']} s (not part of the job). Peak RSS is the child "
        "process's, Python and libraries included.",
    ]
    json_path, md_path = write_results("score_scale", args.out_dir, result, md)
    print("\n".join(md))
    print(json.dumps({"wrote": [str(json_path), str(md_path)]}))


if __name__ == "__main__":
    main()
