"""The service serves the promoted model and switches to a newly promoted one under load,
without failing a request (POST /v1/models/reload, or the registry poller)."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from factories import FakeEncoder, Service, fake_settings
from registry_factories import build_good_bundle, build_worse_bundle, registry_settings

from feedback_nlp.model_registry import ModelRegistry, promote

RECORDS = [
    {"id": "a", "kind": "review", "text": "I love the app, but the delivery was late"},
    {"id": "b", "kind": "survey", "text": "Charged twice on my bill, terrible"},
]


class SlowEncoder(FakeEncoder):
    """The fake encoder with a little latency, so requests overlap with a model switch."""

    def encode(self, texts, **kwargs):  # noqa: ANN001, ANN003, ANN201
        time.sleep(0.003)
        return super().encode(texts, **kwargs)


@dataclass
class Loads:
    """The service's model loader in these tests: fake encoder, a deliberate load delay."""

    delay: float = 0.0
    count: int = 0

    def __call__(self, bundle: Path):  # noqa: ANN204
        from feedback_nlp.storage.loading import load_bundle

        self.count += 1
        time.sleep(self.delay)  # a real load takes seconds; the old model must keep serving
        return load_bundle(bundle, fake_settings(), encoder=SlowEncoder())


@pytest.fixture(scope="module")
def bundles(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("bundles")
    return {"good": build_good_bundle(root / "good"), "worse": build_worse_bundle(root / "worse")}


@pytest.fixture
def registry(tmp_path: Path, bundles: dict[str, Path]) -> ModelRegistry:
    registry = ModelRegistry(tmp_path / "registry")
    registry.register(bundles["good"], version="v1")
    registry.register(bundles["worse"], version="v2")
    return registry


def _promote(registry: ModelRegistry, ref: str, model_dir: Path) -> None:
    """Promote without a gold check (these tests are about switching, not the rule)."""
    settings = registry_settings(registry.root, model_dir)
    promote(registry, ref, reason="test", settings=settings, gold=None, force=True, by="ops")


@contextmanager
def running(
    tmp_path: Path, registry: ModelRegistry, model_dir: Path, loads: Loads, **overrides: object
) -> Iterator[Service]:
    """The real app, starting with no pipeline: it loads the live model itself."""
    from fastapi.testclient import TestClient

    from feedback_nlp.storage.db import init_db, make_session_factory
    from feedback_nlp.storage.keys_repo import SCOPES, create_key
    from feedback_nlp_api.main import create_app

    url = f"sqlite:///{tmp_path / 'service.db'}"
    engine = init_db(url)
    with make_session_factory(engine)() as session:
        keys = {scope: create_key(session, f"test-{scope}", [scope]).plaintext for scope in SCOPES}
    settings = registry_settings(
        registry.root, model_dir, database_url=url, rate_limit_per_second=10_000.0, rate_limit_burst=10_000, **overrides
    )
    app = create_app(settings, engine=engine, model_loader=loads)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield Service(client=client, app=app, keys=keys)


def _current(service: Service) -> dict:
    response = service.client.get("/v1/models/current", headers=service.auth("read"))
    assert response.status_code == 200
    return response.json()


def test_without_a_promotion_the_service_serves_model_dir_and_reload_is_409(
    tmp_path: Path, registry: ModelRegistry, bundles: dict[str, Path]
) -> None:
    with running(tmp_path, registry, bundles["good"], Loads()) as service:
        current = _current(service)
        assert current["serving"]["source"] == "model_dir" and current["serving"]["version"] == "tiny:good"
        assert current["serving"]["path"] == str(bundles["good"])
        response = service.client.post("/v1/models/reload", headers=service.auth("admin"))
        assert response.status_code == 409 and "models promote" in response.json()["detail"]
        assert service.client.post("/v1/models/reload", headers=service.auth("read")).status_code == 403


def test_the_service_starts_on_the_promoted_model(
    tmp_path: Path, registry: ModelRegistry, bundles: dict[str, Path]
) -> None:
    _promote(registry, "tiny:v2", bundles["good"])
    loads = Loads()
    with running(tmp_path, registry, bundles["good"], loads) as service:
        serving = _current(service)["serving"]
        assert (serving["source"], serving["version"], serving["promoted_by"], serving["promotion"]) == (
            "registry",
            "tiny:v2",
            "ops",
            1,
        )
        response = service.client.post("/v1/classify", json={"records": RECORDS}, headers=service.auth("classify"))
        assert response.json()["model_version"] == "tiny:v2"
        again = service.client.post("/v1/models/reload", headers=service.auth("admin")).json()
        assert again == {"changed": False, "previous": "tiny:v2", "current": "tiny:v2", "seconds": 0.0}
        assert loads.count == 1  # nothing reloaded


@dataclass
class Answer:
    started: float
    finished: float
    status: int
    version: str | None
    prediction_versions: set[str]


def _hammer(service: Service, stop: threading.Event, answers: list[Answer], lock: threading.Lock) -> None:
    while not stop.is_set():
        started = time.monotonic()
        response = service.client.post("/v1/classify", json={"records": RECORDS}, headers=service.auth("classify"))
        body = response.json() if response.status_code == 200 else {}
        answer = Answer(
            started,
            time.monotonic(),
            response.status_code,
            body.get("model_version"),
            {r["model_version"] for r in body.get("results", [])},
        )
        with lock:
            answers.append(answer)


def _wait_for(answers: list[Answer], count: int, deadline: float = 60.0) -> None:
    end = time.monotonic() + deadline
    while len(answers) < count and time.monotonic() < end:
        time.sleep(0.01)
    assert len(answers) >= count, f"only {len(answers)} answers"


def test_hot_switch_under_load_fails_no_request(
    tmp_path: Path, registry: ModelRegistry, bundles: dict[str, Path]
) -> None:
    _promote(registry, "tiny:v1", bundles["good"])
    loads = Loads(delay=0.5)
    with running(tmp_path, registry, bundles["good"], loads) as service:
        assert _current(service)["serving"]["version"] == "tiny:v1"
        answers: list[Answer] = []
        lock = threading.Lock()
        stop = threading.Event()
        clients = [threading.Thread(target=_hammer, args=(service, stop, answers, lock)) for _ in range(6)]
        for thread in clients:
            thread.start()
        try:
            _wait_for(answers, 30)
            _promote(registry, "tiny:v2", bundles["good"])
            reload_started = time.monotonic()
            reloaded = service.client.post("/v1/models/reload", headers=service.auth("admin"))
            reload_done = time.monotonic()
            seen = len(answers)
            _wait_for(answers, seen + 30)
        finally:
            stop.set()
            for thread in clients:
                thread.join(timeout=30)
        assert reloaded.status_code == 200, reloaded.text
        body = reloaded.json()
        assert (body["changed"], body["previous"], body["current"]) == (True, "tiny:v1", "tiny:v2")

        failed = [a for a in answers if a.status != 200]
        assert failed == [], f"{len(failed)} of {len(answers)} requests failed: {[a.status for a in failed][:5]}"
        # Each answer comes from one model, and says which.
        assert all(a.prediction_versions == {a.version} for a in answers)
        # The old model kept answering while the new one loaded ...
        assert any(a.version == "tiny:v1" and reload_started < a.finished < reload_done for a in answers)
        # ... and every request sent after the switch was answered by the new one.
        after = [a for a in answers if a.started > reload_done]
        assert after and {a.version for a in after} == {"tiny:v2"}
        current = _current(service)
        assert current["version"] == "v2" and current["serving"]["version"] == "tiny:v2"
        assert current["serving"]["promotion"] == 2 and loads.count == 2


def test_a_promoted_bundle_that_cannot_load_leaves_the_old_model_serving(
    tmp_path: Path, registry: ModelRegistry, bundles: dict[str, Path]
) -> None:
    _promote(registry, "tiny:v1", bundles["good"])
    with running(tmp_path, registry, bundles["good"], Loads()) as service:
        _promote(registry, "tiny:v2", bundles["good"])
        (registry.resolve("tiny:v2").bundle / "heads.json").write_text("{}", encoding="utf-8")  # damaged on disk
        response = service.client.post("/v1/models/reload", headers=service.auth("admin"))
        assert response.status_code == 409
        assert "Still serving tiny:v1" in response.json()["detail"] and "heads.json" in response.json()["detail"]
        classify = service.client.post("/v1/classify", json={"records": RECORDS}, headers=service.auth("classify"))
        assert classify.status_code == 200 and classify.json()["model_version"] == "tiny:v1"


def test_the_poller_switches_without_a_request(
    tmp_path: Path, registry: ModelRegistry, bundles: dict[str, Path]
) -> None:
    with running(tmp_path, registry, bundles["good"], Loads(), registry_poll_seconds=0.05) as service:
        assert _current(service)["serving"]["source"] == "model_dir"
        _promote(registry, "tiny:v2", bundles["good"])
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and _current(service)["serving"]["version"] != "tiny:v2":
            time.sleep(0.05)
        assert _current(service)["serving"]["version"] == "tiny:v2"
        shutil.rmtree(registry.resolve("tiny:v1").bundle.parent)  # unrelated to the live model: no effect
        response = service.client.post("/v1/classify", json={"records": RECORDS}, headers=service.auth("classify"))
        assert response.json()["model_version"] == "tiny:v2"
