"""ServingState: the one place that holds the served pipeline; routes reach it (and everything
else on the app) only through the dependencies in api.deps."""

from __future__ import annotations

import asyncio
import copy
from pathlib import Path

import pytest
from factories import fake_settings

from feedback_nlp.taxonomy.records import FeedbackRecord
from feedback_nlp_api.deps import get_serving_state
from feedback_nlp_api.model_switch import ModelSwitcher
from feedback_nlp_api.state import ModelNotLoadedError, Serving, ServingState

RECORDS = [
    {"id": "a", "kind": "review", "text": "I love it, great quality"},
    {"id": "b", "kind": "social", "text": "terrible service, the delivery was late"},
]


def renamed(pipeline, version: str):  # noqa: ANN001, ANN201
    """The same model under another version, so a test can tell which one answered."""
    other = copy.copy(pipeline)
    other.version = version
    return other


def _classify(service) -> dict:  # noqa: ANN001
    response = service.client.post("/v1/classify", json={"records": RECORDS}, headers=service.auth("classify"))
    assert response.status_code == 200, response.text
    return response.json()


def test_serving_a_new_model_changes_what_every_route_answers_with(service, fake_pipeline) -> None:  # noqa: ANN001
    state: ServingState = service.app.state.serving
    assert _classify(service)["model_version"] == fake_pipeline.version

    switched = renamed(fake_pipeline, "tiny:switched")
    state.serve(
        Serving(
            pipeline=switched,
            source="registry",
            path="/registry/tiny/switched",
            loaded_at="now",
            promoted_by="ops",
            promotion=7,
        )
    )

    body = _classify(service)
    assert body["model_version"] == "tiny:switched"
    assert {r["model_version"] for r in body["results"]} == {"tiny:switched"}  # the batcher runs the new one
    current = service.client.get("/v1/models/current", headers=service.auth("read")).json()["serving"]
    assert (current["version"], current["source"], current["promotion"]) == ("tiny:switched", "registry", 7)
    assert service.client.get("/ready").json()["model_version"] == "tiny:switched"
    ingested = service.client.post("/v1/feedback", json={"records": RECORDS}, headers=service.auth("ingest"))
    assert ingested.status_code == 201 and ingested.json()["model_version"] == "tiny:switched"


def test_routes_follow_an_overridden_serving_state(service, fake_pipeline) -> None:  # noqa: ANN001
    other = ServingState()
    other.adopt(renamed(fake_pipeline, "tiny:override"))
    service.app.dependency_overrides[get_serving_state] = lambda: other
    try:
        current = service.client.get("/v1/models/current", headers=service.auth("read"))
        assert current.status_code == 200 and current.json()["serving"]["version"] == "tiny:override"
        assert service.client.get("/ready").json()["model_version"] == "tiny:override"
        # The override has no batcher running: classification waits for start-up (503), it does
        # not fall back to the app's own state.
        refused = service.client.post("/v1/classify", json={"records": RECORDS}, headers=service.auth("classify"))
        assert refused.status_code == 503 and refused.headers["Retry-After"]
        empty = ServingState()  # nothing loaded
        service.app.dependency_overrides[get_serving_state] = lambda: empty
        assert service.client.get("/ready").status_code == 503
        not_loaded = service.client.get("/v1/models/current", headers=service.auth("read"))
        assert not_loaded.status_code == 503 and "not loaded" in not_loaded.json()["detail"]
    finally:
        service.app.dependency_overrides.clear()
    assert _classify(service)["model_version"] == fake_pipeline.version  # the app's own state again


def test_predict_before_a_model_is_loaded_says_what_to_do() -> None:
    state = ServingState()
    assert state.pipeline is None and state.current is None and state.queue_depth == 0
    with pytest.raises(ModelNotLoadedError, match="load one"):
        state.predict([])


def test_a_batch_runs_on_the_model_served_when_it_starts(fake_pipeline) -> None:  # noqa: ANN001
    records = [FeedbackRecord(**r) for r in RECORDS]

    async def scenario() -> tuple[set[str], set[str]]:
        state = ServingState()
        state.adopt(renamed(fake_pipeline, "tiny:one"))
        batcher = await state.start_batcher(max_wait_ms=0)
        try:
            first = await batcher.submit(records)
            state.serve(
                Serving(pipeline=renamed(fake_pipeline, "tiny:two"), source="in-process", path=None, loaded_at="now")
            )
            second = await batcher.submit(records)
        finally:
            await state.stop_batcher()
        return {p.model_version for p in first}, {p.model_version for p in second}

    assert asyncio.run(scenario()) == ({"tiny:one"}, {"tiny:two"})


def test_the_model_switcher_loads_into_the_serving_state(tmp_path: Path, fake_pipeline) -> None:  # noqa: ANN001
    state = ServingState()
    loaded: list[Path] = []

    def loader(bundle: Path):  # noqa: ANN202
        loaded.append(bundle)
        return renamed(fake_pipeline, "tiny:loaded")

    settings = fake_settings(registry_dir=tmp_path / "registry", model_dir=tmp_path / "bundle")
    serving = asyncio.run(ModelSwitcher(settings, state, loader=loader).load_initial())
    assert state.current is serving and state.pipeline is not None and state.pipeline.version == "tiny:loaded"
    assert serving.source == "model_dir" and loaded == [tmp_path / "bundle"]
