"""KeywordMatcher: explicit touchpoint mentions, whole words, case-insensitive."""

from __future__ import annotations

import numpy as np
import pytest

from feedback_nlp.taxonomy.keywords import KeywordMatcher
from feedback_nlp.taxonomy.labels import Taxonomy


@pytest.fixture(scope="module")
def matcher() -> KeywordMatcher:
    return KeywordMatcher(Taxonomy.default())


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The live chat was useless", ["chat"]),
        ("I tried the LIVE CHAT twice", ["chat"]),
        ("Your chatbot kept looping", ["chat"]),
        ("Downloaded the app yesterday", ["mobile_app"]),
        ("I called and was on hold for ages", ["phone"]),
        ("She e-mailed me the invoice", ["email", "billing"]),
        ("Follow-up by e-mail, please", ["email"]),
        ("Saw your tweet about the promo", ["social_media", "marketing"]),
        ("The parcel never arrived", ["delivery"]),
        ("Rude staff at the front desk", ["in_person"]),
        ("The website login is broken", ["website"]),
    ],
)
def test_keyword_matcher_finds_named_touchpoints(matcher: KeywordMatcher, text: str, expected: list[str]) -> None:
    found = matcher.matches(text)
    assert set(expected) <= set(found), found
    # matches() follows the taxonomy's touchpoint order.
    assert found == [label for label in matcher.labels if label in found]


@pytest.mark.parametrize(
    ("text", "absent"),
    [
        ("I am so happy with it", "mobile_app"),  # "app" inside "happy"
        ("Such a snappy application", "mobile_app"),
        ("I will chatter about this", "chat"),
        ("The shipment was fine", "delivery"),  # "ship" inside "shipment"
        ("Unfortunately broken", "product"),
        ("A mailbox full of nothing", "delivery"),
    ],
)
def test_keyword_matcher_whole_words_only(matcher: KeywordMatcher, text: str, absent: str) -> None:
    assert absent not in matcher.matches(text)


@pytest.mark.parametrize("text", ["", "   ", "I am happy", "Nothing to see here at all"])
def test_keyword_matcher_no_touchpoint(matcher: KeywordMatcher, text: str) -> None:
    assert matcher.matches(text) == []


def test_keyword_matcher_email_variants(matcher: KeywordMatcher) -> None:
    for text in ("sent an email", "sent an e-mail", "she emailed me", "check your inbox"):
        assert "email" in matcher.matches(text), text


def test_keyword_matcher_features_matrix(matcher: KeywordMatcher) -> None:
    texts = ["live chat and the app", "I am happy", "on hold, then a parcel"]
    features = matcher.features(texts)
    assert features.shape == (3, len(Taxonomy.default().touchpoint_labels))
    assert features.dtype == np.float32
    labels = matcher.labels
    for row, text in enumerate(texts):
        hit = [labels[j] for j in np.flatnonzero(features[row])]
        assert hit == matcher.matches(text)
    assert features[1].sum() == 0
    assert features[0, labels.index("chat")] == 1 and features[0, labels.index("mobile_app")] == 1


def test_keyword_matcher_features_empty_input(matcher: KeywordMatcher) -> None:
    assert matcher.features([]).shape == (0, len(matcher.labels))


def test_keyword_matcher_touchpoint_without_keywords_never_matches() -> None:
    data = Taxonomy.default().model_dump(mode="json")
    data["touchpoints"]["chat"]["keywords"] = []
    matcher = KeywordMatcher(Taxonomy.from_dict(data))
    assert "chat" not in matcher.matches("the live chat and the chatbot")
    assert matcher.features(["the live chat"])[0, matcher.labels.index("chat")] == 0


def test_keyword_matcher_escapes_regex_characters() -> None:
    data = Taxonomy.default().model_dump(mode="json")
    data["touchpoints"]["website"]["keywords"] = ["c++ portal", "a.b"]
    matcher = KeywordMatcher(Taxonomy.from_dict(data))
    assert "website" in matcher.matches("the C++ portal is down")
    assert "website" not in matcher.matches("axb")


@pytest.mark.parametrize(
    ("text", "stage"),
    [
        ("I tried to buy the laptop but checkout failed three times", "purchase"),
        ("Signing up for the card took two minutes", "purchase"),
        ("Setting up the router was a pain", "onboarding"),
        ("I want to cancel and switch to another provider", "retention"),
        ("Saw your TV advert last night", "awareness"),
        ("Why is there an extra fee on my bill?", "billing"),
    ],
)
def test_stage_cues_find_the_stage_a_text_names(text: str, stage: str) -> None:
    matcher = KeywordMatcher.stage_cues(Taxonomy.default())
    assert stage in matcher.matches(text)


def test_stage_cues_follow_the_stage_order_and_stages_without_cues_never_match() -> None:
    taxonomy = Taxonomy.default()
    matcher = KeywordMatcher.stage_cues(taxonomy)
    assert matcher.labels == taxonomy.stage_labels
    assert "none" not in taxonomy.stage_cues
    features = matcher.features(["checkout failed", "lovely weather today"])
    assert features.shape == (2, len(taxonomy.stage_labels))
    assert features[0].tolist() == [float(label == "purchase") for label in taxonomy.stage_labels]
    assert not features[1].any()
    data = taxonomy.model_dump(mode="json")
    data["stage_cues"] = {}
    assert not KeywordMatcher.stage_cues(Taxonomy.from_dict(data)).features(["checkout failed"]).any()
