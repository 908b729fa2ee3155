"""Faults: the database failing mid-ingest or unreachable, the server SIGKILLed mid-ingest, a
damaged model bundle at start-up, and a full inference queue.

The promise under test: a failed ingest answers 503 with Retry-After and stores nothing of its
request; once the fault is gone the client's retry with the same ids stores every record
exactly once; the service never hangs and never starts on a bundle it cannot verify.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from factories import build_service
from sqlalchemy import Engine, create_engine, event, func, make_url, select, text

from feedback_nlp.storage.models import Feedback, FeedbackTouchpoint

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

import load_mixed  # noqa: E402

# Each text gets at least one touchpoint from the tiny bundle, so an ingest writes both tables.
TEXTS = [
    "The delivery was late, terrible courier",
    "I love the app, it is great",
    "Awful, I was charged twice on my bill, terrible",
    "Where is my invoice for March?",
    "Rude staff at the branch, awful and terrible",
]
RECORDS = [{"id": f"f{i}", "kind": "review", "text": t} for i, t in enumerate(TEXTS)]


def _count(engine: Engine) -> tuple[int, int]:
    with engine.connect() as connection:
        return (
            connection.execute(select(func.count()).select_from(Feedback)).scalar_one(),
            connection.execute(select(func.count()).select_from(FeedbackTouchpoint)).scalar_one(),
        )


@contextmanager
def _before_first_insert(engine: Engine, table: str, action: Callable[[Any], None]) -> Iterator[list[int]]:
    """Run ``action(dbapi_cursor)`` just before the first INSERT into ``table`` is sent, where a
    DBAPI error is handled as the driver's own (wrapped, the connection invalidated on a
    disconnect); yields a hit counter."""
    hits: list[int] = []

    def hook(cursor: Any, statement: str, *_: Any) -> bool:
        if not hits and statement.lstrip().upper().startswith(f"INSERT INTO {table.upper()} "):
            hits.append(1)
            action(cursor)
        return False  # the dialect runs the statement as usual

    for name in ("do_execute", "do_executemany"):
        event.listen(engine, name, hook)
    try:
        yield hits
    finally:
        for name in ("do_execute", "do_executemany"):
            event.remove(engine, name, hook)


def _assert_503_retry_later(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert int(response.headers["Retry-After"]) >= 1
    assert "nothing was stored" in response.json()["detail"].lower()


def _assert_recovers(service) -> None:  # noqa: ANN001
    """The client's retry of RECORDS stores each once; a second retry finds them all."""
    retried = service.client.post("/v1/feedback", json={"records": RECORDS}, headers=service.auth("ingest"))
    assert retried.status_code == 201, retried.text
    assert [r["status"] for r in retried.json()["results"]] == ["stored"] * len(RECORDS)
    again = service.client.post("/v1/feedback", json={"records": RECORDS}, headers=service.auth("ingest"))
    assert again.status_code == 200 and {r["status"] for r in again.json()["results"]} == {"duplicate"}
    assert _count(service.app.state.engine)[0] == len(RECORDS)


# -- the database fails during an ingest --------------------------------------------------------


def test_connection_lost_mid_ingest_is_503_stores_nothing_and_recovers(any_db_service) -> None:  # noqa: ANN001
    """The connection breaks after the feedback rows were inserted, before their touchpoints."""
    service = any_db_service
    engine: Engine = service.app.state.engine
    dbapi_error = engine.dialect.loaded_dbapi.OperationalError

    def lose_connection(_cursor: Any) -> None:
        raise dbapi_error("server closed the connection unexpectedly")

    with _before_first_insert(engine, "feedback_touchpoint", lose_connection) as hits:
        response = service.client.post("/v1/feedback", json={"records": RECORDS}, headers=service.auth("ingest"))
    assert hits, "the fault was never injected: the ingest wrote no touchpoints"
    _assert_503_retry_later(response)
    assert _count(engine) == (0, 0)
    _assert_recovers(service)


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_postgres_backend_terminated_mid_ingest_is_503_and_recovers(db_url: str, fake_pipeline) -> None:  # noqa: ANN001
    """A real fault: the server ends our backend (pg_terminate_backend) half-way through the ingest."""
    admin = create_engine(db_url, isolation_level="AUTOCOMMIT")
    try:
        with build_service(db_url, fake_pipeline) as service:
            engine: Engine = service.app.state.engine

            def terminate_own_backend(cursor: Any) -> None:
                with admin.connect() as other:
                    ended = other.execute(
                        text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": cursor.connection.info.backend_pid}
                    ).scalar()
                assert ended

            with _before_first_insert(engine, "feedback_touchpoint", terminate_own_backend) as hits:
                response = service.client.post(
                    "/v1/feedback", json={"records": RECORDS}, headers=service.auth("ingest")
                )
            assert hits
            _assert_503_retry_later(response)
            assert _count(engine) == (0, 0)
            _assert_recovers(service)
    finally:
        admin.dispose()


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_postgres_database_unreachable_is_503_on_ingest_and_ready_then_recovers(db_url: str, fake_pipeline) -> None:  # noqa: ANN001
    """The database refuses connections for a while (ALLOW_CONNECTIONS false, its backends ended)."""
    name = make_url(db_url).database
    admin = create_engine(make_url(db_url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with build_service(db_url, fake_pipeline) as service:
            warm = service.client.get("/v1/feedback", headers=service.auth("ingest"))  # the key is now cached
            assert warm.status_code == 403
            with admin.connect() as connection:
                connection.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false'))
                connection.execute(
                    text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"), {"n": name}
                )
            try:
                down = service.client.post("/v1/feedback", json={"records": RECORDS}, headers=service.auth("ingest"))
                ready = service.client.get("/ready")
            finally:
                with admin.connect() as connection:
                    connection.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))
            _assert_503_retry_later(down)
            assert ready.status_code == 503 and ready.json()["database"] == "unreachable"
            assert service.client.get("/ready").status_code == 200
            _assert_recovers(service)
    finally:
        admin.dispose()


# -- the server is killed mid-ingest ------------------------------------------------------------

BATCHES = [
    [{"id": f"k{b}-{i}", "kind": "review", "text": f"{TEXTS[(b + i) % len(TEXTS)]} (ref k{b}-{i})"} for i in range(5)]
    for b in range(40)
]


async def _ingest_until_killed(
    base: str, key: str, server: load_mixed.Server, acks_before_kill: int
) -> tuple[dict, int]:
    """Four clients ingest BATCHES; after ``acks_before_kill`` answers the server gets SIGKILL.

    Returns the acknowledged batches (index -> answer) and how many requests the kill cut off.
    """
    pending = list(range(len(BATCHES)))
    acked: dict[int, dict] = {}
    cut_off = 0
    killed = asyncio.Event()

    async def client() -> None:
        nonlocal cut_off
        async with httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=60) as http:
            while pending and not killed.is_set():
                index = pending.pop(0)
                try:
                    response = await http.post("/v1/feedback", json={"source": "crash", "records": BATCHES[index]})
                except httpx.TransportError:
                    cut_off += 1
                    return
                assert response.status_code == 201, response.text
                acked[index] = response.json()

    async def killer() -> None:
        while len(acked) < acks_before_kill:
            await asyncio.sleep(0.01)
        await asyncio.to_thread(server.kill)
        killed.set()

    await asyncio.gather(killer(), *(client() for _ in range(4)))
    return acked, cut_off


def test_server_killed_mid_ingest_loses_nothing_and_retries_store_once(
    db_url: str, tiny_bundle: Path, tmp_path: Path
) -> None:
    [key] = load_mixed.create_keys(db_url, 1, "ingest")
    # Each commit waits 300 ms first, so the kill lands inside open transactions.
    server = load_mixed.start_server(
        "fake", db_url, tmp_path / "first.log", bundle=tiny_bundle, fake_args=["--commit-delay-ms", "300"]
    )
    try:
        acked, cut_off = asyncio.run(_ingest_until_killed(server.base, key, server, acks_before_kill=4))
    finally:
        server.stop()
    assert cut_off >= 1, "the kill cut off no request: nothing was mid-ingest"
    assert len(acked) < len(BATCHES)

    # Acknowledged batches survived the kill; every batch is stored whole or not at all.
    engine = create_engine(db_url)
    try:
        with engine.connect() as connection:
            stored = set(connection.execute(select(Feedback.external_id).where(Feedback.source == "crash")).scalars())
    finally:
        engine.dispose()
    for index, batch in enumerate(BATCHES):
        ids = {record["id"] for record in batch}
        if index in acked:
            assert ids <= stored, f"acknowledged batch {index} was lost"
        assert ids <= stored or not ids & stored, f"batch {index} is half stored"

    # The client retries everything it sent with the same ids, against a restarted server.
    server = load_mixed.start_server("fake", db_url, tmp_path / "second.log", bundle=tiny_bundle)
    answers: dict[str, tuple[str, str]] = {}
    try:
        with httpx.Client(base_url=server.base, headers={"Authorization": f"Bearer {key}"}, timeout=60) as http:
            for index, batch in enumerate(BATCHES):
                response = http.post("/v1/feedback", json={"source": "crash", "records": batch})
                assert response.status_code in (200, 201), response.text
                for record, result in zip(batch, response.json()["results"], strict=True):
                    if index in acked:
                        assert result["status"] == "duplicate"
                        assert result["id"] == next(
                            r["id"] for r in acked[index]["results"] if r["external_id"] == record["id"]
                        )
                    answers[record["id"]] = (result["id"], record["text"])
    finally:
        server.stop()
    audit = load_mixed.audit_store(db_url, answers, source="crash")
    assert audit.ok, audit.summary()
    assert audit.rows == sum(len(batch) for batch in BATCHES)


# -- a damaged bundle -----------------------------------------------------------------------------


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _flip_a_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("damage", [_truncate, _flip_a_byte], ids=["truncated", "tampered"])
def test_server_refuses_to_start_on_a_damaged_bundle(
    damage: Callable[[Path], None], tiny_bundle: Path, tmp_path: Path
) -> None:
    bundle = tmp_path / "bundle"
    shutil.copytree(tiny_bundle, bundle)
    damage(bundle / "heads.safetensors")
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}",
        "FEEDBACK_NLP_MODEL_DIR": str(bundle),
        "FEEDBACK_NLP_REGISTRY_DIR": str(tmp_path / "registry"),
        "PYTHONPATH": str(ROOT),
    }
    port = load_mixed.free_port()
    finished = subprocess.run(
        [sys.executable, "-m", "feedback_nlp", "serve", "--port", str(port)],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = finished.stdout + finished.stderr
    assert finished.returncode != 0, output[-2000:]
    assert "heads.safetensors" in output and "changed or truncated" in output, output[-2000:]
    assert "Application startup failed" in output


# -- a full queue ---------------------------------------------------------------------------------


class _GatedPipeline:
    """The fake pipeline whose ``predict`` waits for ``release`` (a model stuck on a long batch)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.entered = threading.Event()
        self.release = threading.Event()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def predict(self, records: list) -> list:
        self.entered.set()
        self.release.wait(timeout=60)
        return self.inner.predict(records)


def test_full_queue_answers_503_with_retry_after_at_once_then_serves_the_waiting(tmp_path: Path, fake_pipeline) -> None:  # noqa: ANN001
    gated = _GatedPipeline(fake_pipeline)
    with (
        build_service(f"sqlite:///{tmp_path / 'q.db'}", gated, queue_max_records=4) as service,
        ThreadPoolExecutor(max_workers=2) as pool,
    ):
        headers = service.auth("classify")

        def classify(n: int) -> httpx.Response:
            return service.client.post("/v1/classify", json={"records": RECORDS[:n]}, headers=headers)

        running = pool.submit(classify, 1)  # taken by the model, which now blocks
        assert gated.entered.wait(timeout=30)
        waiting = pool.submit(classify, 3)  # queued behind it: 3 of 4 places
        batcher = service.app.state.serving.batcher
        for _ in range(3000):
            if batcher.queue_depth == 3:
                break
            threading.Event().wait(0.01)
        assert batcher.queue_depth == 3
        refused = classify(2)  # 3 + 2 > 4: refused without waiting for the model
        assert refused.status_code == 503 and refused.headers["Retry-After"] == "1"
        assert "capacity" in refused.json()["detail"]
        assert not running.done() and not waiting.done()
        gated.release.set()
        assert running.result(timeout=60).status_code == 200
        assert waiting.result(timeout=60).status_code == 200
        assert classify(2).status_code == 200


# -- many writers on SQLite -----------------------------------------------------------------------


def test_concurrent_sqlite_ingests_take_turns_instead_of_failing(
    tmp_path: Path,
    fake_pipeline,  # noqa: ANN001
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """SQLite's busy handler polls with growing sleeps, so under load a writer could lose the race
    for longer than the busy timeout and fail with "database is locked" (503s at 50 users); the
    writers of one process now queue on a lock. A 20 ms busy timeout makes the race easy to lose."""
    from feedback_nlp.storage import db, feedback_repo
    from feedback_nlp.taxonomy.records import FeedbackRecord

    monkeypatch.setattr(db, "_SQLITE_BUSY_TIMEOUT_MS", 20)
    engine = db.init_db(f"sqlite:///{tmp_path / 'writers.db'}")
    sessions = db.make_session_factory(engine)
    records = [FeedbackRecord(kind="review", text=t) for t in TEXTS]
    predictions, texts = fake_pipeline.predict(records), fake_pipeline.customer_texts(records)
    errors: list[BaseException] = []

    def writer(number: int) -> None:
        for batch in range(15):
            items = [
                (r.model_copy(update={"id": f"w{number}-{batch}-{i}"}), p, t)
                for i, (r, p, t) in enumerate(zip(records, predictions, texts, strict=True))
            ]
            try:
                with sessions() as session:
                    feedback_repo.ingest(session, items, default_source="writers")
            except BaseException as exc:  # noqa: BLE001 - collected and asserted below
                errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert errors == []
        assert _count(engine)[0] == 12 * 15 * len(TEXTS)
    finally:
        engine.dispose()
