"""The behavioural suite: its construction, its checks, and a fixed subset on the shipped bundle."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from feedback_nlp.taxonomy.labels import load_taxonomy
from feedback_nlp.taxonomy.records import FeedbackKind
from feedback_nlp.train.behaviour import Case, build_suite, check, pass_rates, run_suite

PROJECT_ROOT = Path(__file__).resolve().parents[2]
REAL_BUNDLE = PROJECT_ROOT / "models" / "default"
# Regression floors for the fast subset, a little under what the shipped bundles measured on it
# (round-1 default MFT 0.895, INV 0.880; round-2 default MFT 0.842, INV 0.820, Intel Xeon; the
# stage-cue default MFT 0.930, INV 0.880, with PyTorch bfloat16 and ONNX float32 alike, AMD EPYC;
# DIR 1.0; a retrain with another seed moves INV by several points). The INV target
# (>= 0.97) is not met yet: docs/results.md.
MFT_FLOOR, INV_FLOOR, DIR_FLOOR = 0.88, 0.80, 1.0


def test_suite_covers_industries_kinds_stages_and_touchpoints() -> None:
    cases = build_suite()
    taxonomy = load_taxonomy()
    assert len(cases) >= 300
    assert len({c.industry for c in cases if c.industry != "general"}) >= 10
    assert {c.kind for c in cases} == set(FeedbackKind)
    assert {c.expect["journey_stage"] for c in cases if "journey_stage" in c.expect} == set(taxonomy.stage_labels)
    assert {c.expect["touchpoint"] for c in cases if "touchpoint" in c.expect} == set(taxonomy.touchpoint_labels)
    assert {c.type for c in cases} == {"MFT", "INV", "DIR"}
    assert len({c.id for c in cases}) == len(cases)


def _view(
    sentiment: str = "negative", score: float = -0.5, stage: str = "usage", touchpoints: list[str] | None = None
) -> dict:
    return {"sentiment": sentiment, "score": score, "journey_stage": stage, "touchpoints": touchpoints or []}


def test_checks_fail_when_they_should() -> None:
    mft = Case(
        "m",
        "MFT",
        "touchpoint",
        FeedbackKind.REVIEW,
        "retail",
        ("x",),
        {"touchpoint": "phone", "sentiment": "negative"},
    )
    assert check(mft, [_view(touchpoints=["phone", "product"])])
    assert not check(mft, [_view(touchpoints=["product"])])
    assert not check(mft, [_view(sentiment="neutral", touchpoints=["phone"])])
    inv = Case("i", "INV", "handle", FeedbackKind.SOCIAL, "retail", ("x", "@a x"))
    assert check(inv, [_view(), _view()])
    assert not check(inv, [_view(), _view(stage="support")])
    assert not check(inv, [_view(), _view(touchpoints=["website"])])
    direction = Case("d", "DIR", "added-complaint", FeedbackKind.SURVEY, "retail", ("x", "x. But late."))
    assert check(direction, [_view(score=0.8), _view(score=0.1)])
    assert not check(direction, [_view(score=0.1), _view(score=0.5)])


def test_transcript_cases_carry_an_agent_turn_that_must_not_matter() -> None:
    case = next(c for c in build_suite() if c.kind is FeedbackKind.TRANSCRIPT)
    text = case.records()[0].text
    assert text.startswith("Customer: ") and "\nAgent: " in text


@pytest.fixture(scope="module")
def shipped():  # noqa: ANN201
    if not (REAL_BUNDLE / "manifest.json").is_file():
        pytest.skip("models/default is not trained")
    from feedback_nlp.pipeline import load_pipeline

    return load_pipeline(REAL_BUNDLE, topics=False)


#: Capabilities the shipped bundle is known to fail, left out of the floors below and checked
#: on their own as strict expected failures: sarcasm (docs/results.md, "Sarcasm") and praise of
#: how a problem was handled (docs/results.md, "Praise of service").
KNOWN_WEAK = {"sarcasm", "service-praise"}


def fast_subset() -> list[Case]:
    """A fixed third of the cases, drawn at random: about 180 across every capability, kind and
    industry (the full suite and its per-capability rates: benchmarks/behaviour.py,
    docs/results.md). Every fourth case would all be of one kind, since kinds take turns."""
    cases = build_suite()
    return [cases[i] for i in sorted(random.Random(0).sample(range(len(cases)), len(cases) // 3))]


def test_the_fast_subset_covers_every_kind_and_capability() -> None:
    subset, cases = fast_subset(), build_suite()
    assert {c.kind for c in subset} == set(FeedbackKind)
    assert {c.capability for c in subset} == {c.capability for c in cases}


def test_shipped_bundle_passes_the_fast_subset(shipped) -> None:  # noqa: ANN001
    subset = [c for c in fast_subset() if c.capability not in KNOWN_WEAK]
    rates = pass_rates(run_suite(shipped, subset))
    failures = {name: v for name, v in rates.items() if "/" not in name or name.startswith(("MFT/", "INV/", "DIR/"))}
    assert rates["MFT"]["rate"] >= MFT_FLOOR, failures
    assert rates["INV"]["rate"] >= INV_FLOOR, failures
    assert rates["DIR"]["rate"] >= DIR_FLOOR, failures


@pytest.mark.xfail(strict=True, reason="sarcasm after a complaint is read as praise (docs/results.md, 'Sarcasm')")
def test_shipped_bundle_reads_sarcasm_by_what_it_means(shipped) -> None:  # noqa: ANN001
    cases = [c for c in build_suite() if c.capability == "sarcasm"]
    assert pass_rates(run_suite(shipped, cases))["MFT/sarcasm"]["rate"] >= 0.9


@pytest.mark.xfail(strict=True, reason="praise of how a problem was handled reads as a complaint (docs/results.md)")
def test_shipped_bundle_reads_praise_of_service_as_positive(shipped) -> None:  # noqa: ANN001
    cases = [c for c in build_suite() if c.capability == "service-praise"]
    assert pass_rates(run_suite(shipped, cases))["MFT/service-praise"]["rate"] >= 0.9
