"""Promotion: the rule refuses a worse model, --force overrides it, every attempt is logged."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from registry_factories import build_good_bundle, build_worse_bundle, load_fake, registry_settings, write_tiny_gold

from feedback_nlp.errors import BundleError, ConfigError
from feedback_nlp.model_registry import (
    GUARDED_METRICS,
    PROMOTED,
    REFUSED,
    Evaluator,
    ModelRegistry,
    PromotionLog,
    PromotionRefused,
    PromotionRule,
    live_model,
    promote,
)


@pytest.fixture(scope="module")
def bundles(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("bundles")
    return {"good": build_good_bundle(root / "good"), "worse": build_worse_bundle(root / "worse")}


@pytest.fixture
def setup(tmp_path: Path, bundles: dict[str, Path]):  # noqa: ANN201
    """A registry holding tiny:good and tiny:worse; the good bundle is the configured model_dir."""
    registry = ModelRegistry(tmp_path / "registry")
    registry.register(bundles["good"])
    registry.register(bundles["worse"])
    settings = registry_settings(registry.root, bundles["good"])
    gold = write_tiny_gold(tmp_path / "gold.jsonl")

    def run(ref: str, *, force: bool = False, gold_path: Path | None = gold, reason: str = "test", **kw):  # noqa: ANN003, ANN202
        return promote(
            registry,
            ref,
            reason=reason,
            settings=settings,
            gold=gold_path,
            by="alice",
            force=force,
            evaluator=Evaluator(registry, settings, loader=load_fake),
            **kw,
        )

    return registry, settings, run


# --- The rule ------------------------------------------------------------------------------------


def _metrics(**values: float) -> dict[str, float]:
    base = dict.fromkeys(
        [*GUARDED_METRICS, "sentiment_accuracy", "journey_stage_accuracy", "touchpoints_macro_f1"], 0.8
    )
    return {**base, **values}


def test_the_rule_refuses_a_drop_beyond_the_tolerance_on_a_guarded_metric() -> None:
    rule = PromotionRule(tolerance=0.01)
    live = _metrics()
    assert rule.worse_on(_metrics(sentiment_macro_f1=0.795), live) == []  # within tolerance
    assert rule.worse_on(_metrics(sentiment_macro_f1=0.789), live) == ["sentiment_macro_f1"]
    assert rule.worse_on(_metrics(journey_stage_macro_f1=0.7, touchpoints_micro_f1=0.5), live) == [
        "journey_stage_macro_f1",
        "touchpoints_micro_f1",
    ]
    assert rule.worse_on(_metrics(sentiment_macro_f1=0.9, journey_stage_macro_f1=0.7), live) == [
        "journey_stage_macro_f1"
    ]  # a gain elsewhere does not buy a loss
    assert rule.worse_on(_metrics(sentiment_accuracy=0.1, touchpoints_macro_f1=0.1), live) == []  # not guarded
    assert PromotionRule(tolerance=0.0).worse_on(_metrics(), live) == []  # equal is not worse


# --- Promote -------------------------------------------------------------------------------------


def test_nothing_promoted_means_model_dir_is_live(setup, bundles: dict[str, Path]) -> None:  # noqa: ANN001
    registry, settings, _ = setup
    live = live_model(registry, settings)
    assert live is not None and (live.source, live.ref, live.bundle) == ("model_dir", "tiny:good", bundles["good"])


def test_promote_refuses_a_worse_model_and_logs_the_refusal(setup) -> None:  # noqa: ANN001
    registry, settings, run = setup
    with pytest.raises(
        PromotionRefused, match=r"tiny:worse is worse than the live model tiny:good.*sentiment_macro_f1"
    ):
        run("tiny:worse", reason="try the new sentiment head")
    [record] = PromotionLog(registry.promotions_file).records()
    assert record["outcome"] == REFUSED and record["forced"] is False
    assert record["model"] == "tiny:worse" and record["previous"]["model"] == "tiny:good"
    assert record["previous"]["source"] == "model_dir"
    assert (record["by"], record["reason"]) == ("alice", "try the new sentiment head")
    assert record["worse_on"] == ["sentiment_macro_f1"]
    assert record["gold"]["n"] == 12 and len(record["gold"]["sha256"]) == 64
    metrics = record["metrics"]
    assert metrics["delta"]["sentiment_macro_f1"] == pytest.approx(
        metrics["candidate"]["sentiment_macro_f1"] - metrics["live"]["sentiment_macro_f1"]
    )
    assert metrics["delta"]["sentiment_macro_f1"] < -0.3
    assert record["rule"]["tolerance"] == settings.promotion_tolerance
    assert live_model(registry, settings).source == "model_dir"  # nothing changed


def test_force_promotes_a_worse_model_and_says_so_in_the_log(setup) -> None:  # noqa: ANN001
    registry, settings, run = setup
    result = run("tiny:worse", force=True, reason="rollback drill")
    record = result.record
    assert record["outcome"] == PROMOTED and record["forced"] is True
    assert record["worse_on"] == ["sentiment_macro_f1"]  # what was overridden is on record
    assert record["metrics"]["candidate"]["sentiment_macro_f1"] < record["metrics"]["live"]["sentiment_macro_f1"]
    live = live_model(registry, settings)
    assert (live.source, live.ref, live.promoted_by, live.promotion) == ("registry", "tiny:worse", "alice", 1)
    assert live.bundle == registry.resolve("tiny:worse").bundle


def test_a_better_model_is_promoted_and_then_guards_the_next(setup) -> None:  # noqa: ANN001
    registry, settings, run = setup
    run("tiny:worse", force=True)
    better = run("tiny:good", reason="fixes sentiment")  # better than the live tiny:worse
    assert better.record["outcome"] == PROMOTED and not better.record["forced"] and better.record["worse_on"] == []
    assert better.record["previous"]["model"] == "tiny:worse" and better.record["previous"]["source"] == "registry"
    assert better.record["metrics"]["delta"]["sentiment_macro_f1"] > 0.3
    with pytest.raises(PromotionRefused):
        run("tiny:worse")
    again = run("tiny:good")
    assert again.record is None  # already live: nothing to record
    outcomes = [(r["sequence"], r["model"], r["outcome"]) for r in PromotionLog(registry.promotions_file).records()]
    assert outcomes == [(1, "tiny:worse", PROMOTED), (2, "tiny:good", PROMOTED), (3, "tiny:worse", REFUSED)]
    assert live_model(registry, settings).ref == "tiny:good"


def test_an_equal_model_passes(setup, bundles: dict[str, Path]) -> None:  # noqa: ANN001
    registry, _, run = setup
    registry.register(bundles["good"], version="retrained")  # the same heads: the same metrics
    result = run("tiny:retrained")
    assert result.record["outcome"] == PROMOTED
    assert all(delta == pytest.approx(0.0) for delta in result.record["metrics"]["delta"].values())


def test_promote_needs_a_reason_and_a_gold_set_unless_forced(setup) -> None:  # noqa: ANN001
    registry, settings, run = setup
    with pytest.raises(ConfigError, match="--reason"):
        run("tiny:good", reason="  ")
    with pytest.raises(ConfigError, match="--gold"):
        run("tiny:good", gold_path=None)
    assert PromotionLog(registry.promotions_file).records() == []
    forced = run("tiny:worse", gold_path=None, force=True, reason="emergency: gold set unavailable")
    assert forced.record["outcome"] == PROMOTED and forced.record["metrics"] is None and forced.record["gold"] is None


def test_the_log_is_append_only(setup) -> None:  # noqa: ANN001
    registry, _, run = setup
    run("tiny:worse", force=True)
    before = registry.promotions_file.read_bytes()
    run("tiny:good")
    after = registry.promotions_file.read_bytes()
    assert after.startswith(before) and after.count(b"\n") == 2
    # A writer that died mid-line leaves a partial line: readers skip it, the next append starts a new line.
    with registry.promotions_file.open("a", encoding="utf-8") as handle:
        handle.write('{"outcome": "promo')
    log = PromotionLog(registry.promotions_file)
    assert [r["sequence"] for r in log.records()] == [1, 2]
    log.append({"outcome": "refused", "model": "tiny:x"})
    assert [r["sequence"] for r in log.records()] == [1, 2, 3]
    assert log.last_promotion()["model"] == "tiny:good"


def test_a_log_naming_a_missing_version_is_an_error(setup) -> None:  # noqa: ANN001
    registry, settings, run = setup
    run("tiny:worse", force=True)
    shutil.rmtree(registry.models_dir / "tiny" / "worse")
    with pytest.raises(BundleError, match="names tiny:worse as live"):
        live_model(registry, settings)


def test_a_damaged_log_line_is_reported_with_its_number(setup) -> None:  # noqa: ANN001
    registry, settings, run = setup
    run("tiny:worse", force=True)
    with registry.promotions_file.open("a", encoding="utf-8") as handle:
        handle.write("not json\n")
    with pytest.raises(BundleError, match="line 2 is not JSON"):
        live_model(registry, settings)
    json.loads(registry.promotions_file.read_text().splitlines()[0])
