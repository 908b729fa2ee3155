"""Mixed load against a real uvicorn process (the fast CI version of benchmarks/load_mixed.py).

Ten users with a key each classify, ingest (new batches, the same batch twice at once, and
re-sends of stored batches) and read for a few seconds on SQLite and on PostgreSQL; no request
may fail, and afterwards the database must hold every acknowledged record exactly once, under
the id the API gave and with the text sent. The server runs the tiny bundle with the fake
encoder (tests/fake_server.py), so the load exercises the service, not the encoder.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

import load_mixed  # noqa: E402

USERS = 10
SECONDS = {"sqlite": 15.0, "postgresql": 10.0}


def test_mixed_load_fails_no_request_and_stores_every_record_once(
    db_url: str, tiny_bundle: Path, tmp_path: Path
) -> None:
    backend = "sqlite" if db_url.startswith("sqlite") else "postgresql"
    keys = load_mixed.create_keys(db_url, USERS)
    server = load_mixed.start_server(
        "fake",
        db_url,
        tmp_path / "server.log",
        bundle=tiny_bundle,
        rate_limit_per_second="1000",
        rate_limit_burst="1000",
    )
    try:
        # At least 10 requests per user whatever the machine's speed (a loaded CI runner is slow).
        result = asyncio.run(
            load_mixed.run_load(server.base, keys, SECONDS[backend], think_ms=50, seed=1, min_steps_per_user=10)
        )
    finally:
        server.stop()
    summary = result.summary()
    assert result.failed == 0, summary["failure_examples"]
    # Every kind of request ran, and enough of them to mean something.
    assert set(result.requests) == {action for action, _ in load_mixed.MIX}, result.requests
    assert result.total >= 100 and len(result.stored) >= 50, summary
    audit = load_mixed.audit_store(db_url, result.stored, unconfirmed=result.unconfirmed)
    assert audit.ok, audit.summary()
