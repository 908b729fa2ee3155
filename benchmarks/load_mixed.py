"""Mixed load on loopback: concurrent users classify, ingest and read; then the store is audited.

Starts the service in its own uvicorn process on 127.0.0.1 (the shipped model with
``feedback-nlp serve``, or the tiny test bundle with ``--model fake``) on a throwaway SQLite
file or the PostgreSQL database given by ``--database-url``, gives every user an API key of
its own, and runs ``--users`` concurrent users for ``--duration`` seconds. Each user loops over
a weighted mix of requests, waiting ``--think-ms`` (0 to that, at random) between them:

- classify 1-8 records (``POST /v1/classify``)
- ingest a new batch of 1-8 records (``POST /v1/feedback``)
- send the same new batch twice at once (both must answer; each record stored once)
- re-send a batch any user already stored (every record comes back ``duplicate``)
- list stored feedback with a filter (``GET /v1/feedback``), the model, or touchpoint scores

A request fails when it gets no answer (connection error, timeout) or a status other than the
one the mix expects. Afterwards the database itself is read: every acknowledged record must
be stored exactly once (count, no duplicate keys) with the public id the API gave and the text
it was sent (a SHA-256 over the sorted ``id, text`` pairs on both sides). Traffic goes to
127.0.0.1 only; the run stops after ``--duration`` seconds (requests in flight then finish).

    python benchmarks/load_mixed.py                      # 50 users, 120 s, shipped model
    python benchmarks/load_mixed.py --users 10 --duration 15 --model fake

Writes docs/benchmarks/load_mixed.{json,md} (``_postgresql`` and ``_fake`` added to the name for
those runs; ``--out-dir``); exits 1 if a request failed or
the store audit found a difference. ``tests/api/test_load.py`` imports this module for the
fast CI version.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
FAKE_SERVER = ROOT / "tests" / "fake_server.py"
SOURCE = "load-test"

PHRASES = [
    "Love the app, but the delivery took two weeks",
    "Terrible service, I was charged twice on my bill",
    "Great staff at the store, lovely people",
    "The website login is broken again",
    "How do I change my delivery address",
    "Thanks for the quick refund, great",
    "I called three times and was on hold for an hour",
    "The parcel arrived late and damaged",
    "Checkout was easy and the prices are fair",
    "Cancelling my account, switching to a competitor",
]
KINDS = ["review", "survey", "social"]
#: (action, weight); the weights are percentages of a user's requests.
MIX = [
    ("classify", 35),
    ("ingest", 25),
    ("ingest_twice", 5),
    ("resend", 5),
    ("list", 20),
    ("model", 5),
    ("scores", 5),
]


# -- the server --------------------------------------------------------------------------------


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    """A service process on 127.0.0.1; ``log`` holds everything it wrote (stdout and stderr)."""

    process: subprocess.Popen[bytes]
    base: str
    log: Path

    def kill(self) -> None:
        """SIGKILL: no shutdown, no draining (what a crash or an OOM kill does)."""
        self.process.kill()
        self.process.wait(timeout=30)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it has not exited within 30 s."""
        if self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.kill()


def server_env(database_url: str, **settings: str) -> dict[str, str]:
    """The environment for a service process: ``DATABASE_URL`` and ``FEEDBACK_NLP_<NAME>`` settings."""
    env = {**os.environ, "DATABASE_URL": database_url, "PYTHONPATH": str(ROOT)}
    env.update({f"FEEDBACK_NLP_{name.upper()}": value for name, value in settings.items()})
    return env


def start_server(
    model: str,
    database_url: str,
    log: Path,
    *,
    bundle: Path | None = None,
    fake_args: Sequence[str] = (),
    ready_timeout: float = 180.0,
    **settings: str,
) -> Server:
    """Start ``feedback-nlp serve`` (``model="real"``) or tests/fake_server.py (``"fake"``, with
    ``bundle`` and ``fake_args``) and wait until ``/ready`` answers 200.

    Raises:
        RuntimeError: the process exited or was not ready within ``ready_timeout`` seconds.
    """
    port = free_port()
    if model == "real":
        command = [sys.executable, "-m", "feedback_nlp", "serve", "--port", str(port)]
    else:
        command = [sys.executable, str(FAKE_SERVER), "--port", str(port)]
        if bundle is not None:
            command += ["--bundle", str(bundle)]
        command += list(fake_args)
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, env=server_env(database_url, **settings), stdout=out, stderr=subprocess.STDOUT, cwd=ROOT
        )
    server = Server(process, f"http://127.0.0.1:{port}", log)
    deadline = time.monotonic() + ready_timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}: {log.read_text()[-3000:]}")
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(f"{server.base}/ready", timeout=2).status_code == 200:
                return server
        time.sleep(0.2)
    server.kill()
    raise RuntimeError(f"the server was not ready within {ready_timeout:.0f} s: {log.read_text()[-3000:]}")


def create_keys(database_url: str, n: int, scopes: str = "classify,ingest,read") -> list[str]:
    """Migrate the database and create ``n`` keys with ``scopes``; their plaintexts."""
    from feedback_nlp.storage.db import init_db, make_session_factory
    from feedback_nlp.storage.keys_repo import create_key

    engine = init_db(database_url)
    try:
        with make_session_factory(engine)() as session:
            return [create_key(session, f"load-user-{i}", scopes).plaintext for i in range(n)]
    finally:
        engine.dispose()


# -- the users ---------------------------------------------------------------------------------


@dataclass
class LoadResult:
    """What the users sent and got."""

    requests: Counter[str] = field(default_factory=Counter)
    failures: Counter[str] = field(default_factory=Counter)
    failure_examples: list[str] = field(default_factory=list)
    latencies: dict[str, list[float]] = field(default_factory=dict)
    #: Every acknowledged record: external id -> (public id, text sent).
    stored: dict[str, tuple[str, str]] = field(default_factory=dict)
    #: External ids sent only in requests that failed: stored or not, but never twice.
    unconfirmed: set[str] = field(default_factory=set)
    #: Acknowledged batches, for re-sending.
    batches: list[list[dict[str, Any]]] = field(default_factory=list)
    wall_s: float = 0.0

    @property
    def total(self) -> int:
        return sum(self.requests.values())

    @property
    def failed(self) -> int:
        return sum(self.failures.values())

    def fail(self, action: str, message: str) -> None:
        self.failures[action] += 1
        if len(self.failure_examples) < 20:
            self.failure_examples.append(f"{action}: {message}")

    def summary(self) -> dict[str, Any]:
        """Counts, throughput and latency percentiles (ms) per action, as plain JSON."""
        import numpy as np

        per_action = {}
        for action, values in sorted(self.latencies.items()):
            ms = np.array(values) * 1000
            per_action[action] = {
                "requests": self.requests[action],
                "failed": self.failures[action],
                "p50_ms": round(float(np.percentile(ms, 50)), 1),
                "p95_ms": round(float(np.percentile(ms, 95)), 1),
                "max_ms": round(float(ms.max()), 1),
            }
        return {
            "requests": self.total,
            "failed": self.failed,
            "wall_s": round(self.wall_s, 1),
            "requests_per_s": round(self.total / self.wall_s, 1) if self.wall_s else None,
            "records_acknowledged": len(self.stored),
            "batches_acknowledged": len(self.batches),
            "records_unconfirmed": len(self.unconfirmed),
            "per_action": per_action,
            "failure_examples": self.failure_examples,
        }


class User:
    """One simulated client with its own key and connection pool."""

    def __init__(
        self, number: int, key: str, base: str, result: LoadResult, rng: random.Random, think_ms: float
    ) -> None:
        self.number, self.result, self.rng, self.think_ms = number, result, rng, think_ms
        # Idle connections are dropped after 2 s, before uvicorn's 5 s keep-alive closes them:
        # with both at 5 s, a request sent on a connection the server was closing at that moment
        # failed with a ReadError (seen once under load), which says nothing about the service.
        self.client = httpx.AsyncClient(
            base_url=base,
            headers={"Authorization": f"Bearer {key}"},
            timeout=httpx.Timeout(60.0),
            limits=httpx.Limits(keepalive_expiry=2.0),
        )
        self.sent = 0

    def _records(self, n: int) -> list[dict[str, Any]]:
        records = []
        for _ in range(n):
            self.sent += 1
            ref = f"u{self.number}-{self.sent}"
            records.append(
                {
                    "id": ref,
                    "kind": self.rng.choice(KINDS),
                    "text": f"{self.rng.choice(PHRASES)} (ref {ref}).",
                    "created_at": f"2026-{self.rng.randint(1, 12):02d}-{self.rng.randint(1, 28):02d}T12:00:00Z",
                }
            )
        return records

    async def _call(
        self, action: str, method: str, path: str, expected: set[int], **kwargs: Any
    ) -> httpx.Response | None:
        self.result.requests[action] += 1
        started = time.perf_counter()
        try:
            response = await self.client.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            self.result.fail(action, f"{type(exc).__name__} on {method} {path}")
            return None
        self.result.latencies.setdefault(action, []).append(time.perf_counter() - started)
        if response.status_code not in expected:
            self.result.fail(action, f"{method} {path} answered {response.status_code}: {response.text[:200]}")
            return None
        return response

    def _unconfirmed(self, batch: list[dict[str, Any]]) -> None:
        """The batch's request failed: its records may or may not be stored (a retry would tell)."""
        self.result.unconfirmed.update(r["id"] for r in batch if r["id"] not in self.result.stored)

    def _acknowledge(self, batch: list[dict[str, Any]], body: dict[str, Any], action: str, new: bool) -> bool:
        results = body["results"]
        if [r["external_id"] for r in results] != [r["id"] for r in batch]:
            self.result.fail(action, "results do not follow the input order")
            return False
        for record, outcome in zip(batch, results, strict=True):
            known = self.result.stored.get(record["id"])
            if known is not None and known[0] != outcome["id"]:
                self.result.fail(action, f"{record['id']} answered id {outcome['id']}, stored as {known[0]}")
                return False
            if new is False and outcome["status"] != "duplicate":
                self.result.fail(action, f"re-sent {record['id']} came back {outcome['status']}")
                return False
            self.result.stored[record["id"]] = (outcome["id"], record["text"])
        return True

    async def step(self) -> None:
        action = self.rng.choices([a for a, _ in MIX], weights=[w for _, w in MIX])[0]
        if action == "classify":
            records = self._records(self.rng.randint(1, 8))
            response = await self._call(action, "POST", "/v1/classify", {200}, json={"records": records})
            if response is not None and len(response.json()["results"]) != len(records):
                self.result.fail(action, "fewer results than records")
        elif action == "ingest":
            batch = self._records(self.rng.randint(1, 8))
            response = await self._call(
                action, "POST", "/v1/feedback", {201}, json={"source": SOURCE, "records": batch}
            )
            if response is None:
                self._unconfirmed(batch)
            elif self._acknowledge(batch, response.json(), action, new=True):
                self.result.batches.append(batch)
        elif action == "ingest_twice":
            batch = self._records(self.rng.randint(1, 8))
            payload = {"source": SOURCE, "records": batch}
            both = await asyncio.gather(
                self._call(action, "POST", "/v1/feedback", {200, 201}, json=payload),
                self._call(action, "POST", "/v1/feedback", {200, 201}, json=payload),
            )
            bodies = [r.json() for r in both if r is not None]
            if len(bodies) < 2:
                self._unconfirmed(batch)
            if len(bodies) == 2:
                statuses = [[o["status"] for o in b["results"]] for b in bodies]
                # Each record is stored by exactly one of the two requests; the other sees a duplicate.
                pairs = [{statuses[0][i], statuses[1][i]} for i in range(len(batch))]
                if any(p != {"stored", "duplicate"} for p in pairs):
                    self.result.fail(action, f"a record sent twice at once came back {pairs}")
                    return
                if [o["id"] for o in bodies[0]["results"]] != [o["id"] for o in bodies[1]["results"]]:
                    self.result.fail(action, "the two answers name different stored ids")
                    return
            if bodies and self._acknowledge(batch, bodies[0], action, new=True):
                self.result.batches.append(batch)
        elif action == "resend":
            if not self.result.batches:
                return
            batch = self.rng.choice(self.result.batches)
            response = await self._call(
                action, "POST", "/v1/feedback", {200}, json={"source": SOURCE, "records": batch}
            )
            if response is not None:
                self._acknowledge(batch, response.json(), action, new=False)
        elif action == "list":
            params = self.rng.choice(
                [
                    {},
                    {"kind": "review"},
                    {"sentiment": "negative"},
                    {"source": SOURCE, "limit": 20},
                    {"created_from": "2026-06-01T00:00:00Z"},
                ]
            )
            response = await self._call(action, "GET", "/v1/feedback", {200}, params=params)
            if response is not None and "items" not in response.json():
                self.result.fail(action, "no items in the page")
        elif action == "model":
            await self._call(action, "GET", "/v1/models/current", {200})
        elif action == "scores":
            await self._call(
                action,
                "GET",
                "/v1/scores/touchpoints",
                {200},
                params={"period": "month", "from": "2026-01-01T00:00:00Z"},
            )

    async def run(self, deadline: float, min_steps: int = 0) -> None:
        """Send requests until ``deadline``, and at least ``min_steps`` of them however long that takes."""
        steps = 0
        try:
            while time.monotonic() < deadline or steps < min_steps:
                await self.step()
                steps += 1
                if self.think_ms:
                    await asyncio.sleep(self.rng.uniform(0, self.think_ms) / 1000)
        finally:
            await self.client.aclose()


async def run_load(
    base: str,
    keys: list[str],
    duration_s: float,
    *,
    think_ms: float = 100.0,
    seed: int = 0,
    min_steps_per_user: int = 0,
) -> LoadResult:
    """Run one user per key against ``base`` for ``duration_s`` seconds (and at least
    ``min_steps_per_user`` requests each, so a test's minimum does not depend on the machine's speed)."""
    result = LoadResult()
    users = [User(i, key, base, result, random.Random(seed * 1000 + i), think_ms) for i, key in enumerate(keys)]
    started = time.monotonic()
    await asyncio.gather(*(user.run(started + duration_s, min_steps_per_user) for user in users))
    result.wall_s = time.monotonic() - started
    return result


# -- the audit ---------------------------------------------------------------------------------


@dataclass
class StoreAudit:
    """The database's view of what the load stored, against what the API acknowledged."""

    expected: int
    rows: int
    distinct_keys: int
    unconfirmed_stored: int
    missing: list[str]
    unexpected: list[str]
    wrong_id: list[str]
    checksum_expected: str
    checksum_stored: str

    @property
    def ok(self) -> bool:
        """Every acknowledged record stored once, with its id and text; no key twice; nothing else."""
        return (
            self.rows == self.distinct_keys
            and self.rows - self.unconfirmed_stored == self.expected
            and not self.missing
            and not self.unexpected
            and not self.wrong_id
            and self.checksum_expected == self.checksum_stored
        )

    def summary(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "acknowledged_records": self.expected,
            "stored_rows": self.rows,
            "distinct_keys": self.distinct_keys,
            "unconfirmed_stored": self.unconfirmed_stored,
            "missing": self.missing[:10],
            "unexpected": self.unexpected[:10],
            "wrong_id": self.wrong_id[:10],
            "checksum_expected": self.checksum_expected,
            "checksum_stored": self.checksum_stored,
        }


def _checksum(pairs: list[tuple[str, str]]) -> str:
    digest = hashlib.sha256()
    for external_id, text in sorted(pairs):
        digest.update(f"{external_id}\t{text}\n".encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


def audit_store(
    database_url: str,
    stored: dict[str, tuple[str, str]],
    source: str = SOURCE,
    unconfirmed: set[str] | frozenset[str] = frozenset(),
) -> StoreAudit:
    """Read ``source``'s rows from the database and compare them with the acknowledged records.

    ``stored`` maps each external id to the public id the API answered and the text sent; the
    stored text is the redacted customer text, so it is compared with what redaction makes of
    the text sent. Ids in ``unconfirmed`` (sent only in requests that failed) may be stored or
    not; they are counted apart and left out of the checksum, but may not be stored twice either.
    """
    from sqlalchemy import create_engine, select

    from feedback_nlp.pipeline import FeedbackPipeline
    from feedback_nlp.storage.db import resolve_database_url
    from feedback_nlp.storage.models import Feedback
    from feedback_nlp.taxonomy.records import FeedbackRecord

    engine = create_engine(resolve_database_url(database_url))
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                select(Feedback.external_id, Feedback.id, Feedback.text).where(Feedback.source == source)
            ).all()
    finally:
        engine.dispose()
    maybe = set(unconfirmed) - set(stored)
    confirmed_rows = [row for row in rows if row[0] not in maybe]
    texts = FeedbackPipeline.customer_texts([FeedbackRecord(kind="survey", text=t) for _, t in stored.values()])
    by_key = {external_id: public_id for external_id, public_id, _ in confirmed_rows}
    return StoreAudit(
        expected=len(stored),
        rows=len(rows),
        distinct_keys=len({row[0] for row in rows}),
        unconfirmed_stored=len(rows) - len(confirmed_rows),
        missing=sorted(set(stored) - set(by_key)),
        unexpected=sorted(set(by_key) - set(stored)),
        wrong_id=sorted(k for k, (public_id, _) in stored.items() if k in by_key and by_key[k] != public_id),
        checksum_expected=_checksum(list(zip(stored, texts, strict=True))),
        checksum_stored=_checksum([(e, t) for e, _, t in confirmed_rows]),
    )


# -- the command -------------------------------------------------------------------------------


@contextlib.contextmanager
def _database(url: str | None) -> Iterator[str]:
    if url:
        yield url
        return
    with tempfile.TemporaryDirectory(prefix="load-mixed-") as folder:
        yield f"sqlite:///{Path(folder) / 'load.db'}"


def main() -> None:
    """Run the load, audit the store, write the result files; exit 1 on any failure."""
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
    )

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--duration", type=float, default=120.0, help="seconds of load")
    parser.add_argument("--think-ms", type=float, default=100.0, help="each user waits 0 to this between requests")
    parser.add_argument("--model", choices=["real", "fake"], default="real")
    parser.add_argument("--database-url", default=None, help="an empty database to use (default: a new SQLite file)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out-dir", type=Path, default=DEFAULT_OUT_DIR)
    args = parser.parse_args()

    result_doc: dict[str, Any] = {
        "date": now_utc(),
        "command": command_line(),
        "machine": machine_info(),
        "load_average_start": load_average(),
    }
    with _database(args.database_url) as url, tempfile.TemporaryDirectory(prefix="load-logs-") as logs:
        keys = create_keys(url, args.users)
        server = start_server(
            args.model, url, Path(logs) / "server.log", rate_limit_per_second="1000", rate_limit_burst="1000"
        )
        try:
            load = asyncio.run(run_load(server.base, keys, args.duration, think_ms=args.think_ms, seed=args.seed))
        finally:
            server.stop()
        audit = audit_store(url, load.stored, unconfirmed=load.unconfirmed)
        backend = "postgresql" if url.startswith("postgres") else "sqlite"
    summary = load.summary()
    result_doc.update(
        {
            "settings": {
                "users": args.users,
                "duration_s": args.duration,
                "think_ms": args.think_ms,
                "model": args.model,
                "database": backend,
                "mix": dict(MIX),
            },
            "load": summary,
            "store_audit": audit.summary(),
            "load_average_end": load_average(),
        }
    )
    on = " on PostgreSQL" if backend == "postgresql" else ""
    lines = md_header(f"Mixed load{on}: classify, ingest and reads, then a store audit", result_doc)
    lines += [
        f"{args.users} users (one API key each) for {args.duration:.0f} s on loopback, {args.model} model, "
        f"{backend} store, think time 0-{args.think_ms:.0f} ms. Mix (% of requests): "
        + ", ".join(f"{a} {w}" for a, w in MIX)
        + ".",
        "",
        f"- Requests: **{summary['requests']}**, failed: **{summary['failed']}**, "
        f"{summary['requests_per_s']} requests/s over {summary['wall_s']} s",
        f"- Records acknowledged: {summary['records_acknowledged']} (and {summary['records_unconfirmed']} sent only "
        f"in failed requests, {audit.unconfirmed_stored} of them stored); stored rows: {audit.rows} "
        f"({audit.distinct_keys} distinct keys); missing {len(audit.missing)}, unexpected {len(audit.unexpected)}, "
        f"wrong id {len(audit.wrong_id)}; "
        f"checksum {'matches' if audit.checksum_expected == audit.checksum_stored else 'DIFFERS'}",
        "",
    ]
    lines += md_table(
        ["action", "requests", "failed", "p50 ms", "p95 ms", "max ms"],
        [
            [a, s["requests"], s["failed"], s["p50_ms"], s["p95_ms"], s["max_ms"]]
            for a, s in summary["per_action"].items()
        ],
    )
    if summary["failure_examples"]:
        lines += ["", "Failures (first 20):", ""] + [f"- {f}" for f in summary["failure_examples"]]
    name = "load_mixed" + ("_fake" if args.model == "fake" else "") + ("_postgresql" if backend == "postgresql" else "")
    json_path, md_path = write_results(name, args.out_dir, result_doc, lines)
    print("\n".join(lines))
    print(f"wrote {json_path} and {md_path}")
    sys.exit(0 if summary["failed"] == 0 and audit.ok else 1)


if __name__ == "__main__":
    main()
