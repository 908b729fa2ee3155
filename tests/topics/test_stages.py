"""Stage timing of a topic fit (benchmarks/topic_scale.py reports each stage's share)."""

from __future__ import annotations

import time

from factories import FakeEncoder, topic_corpus

from feedback_nlp.topics.model import FIT_STAGES, TopicConfig, TopicModel
from feedback_nlp.topics.stages import StageClock


def test_an_inner_stage_is_not_counted_in_the_outer_one() -> None:
    clock = StageClock()
    with clock.stage("outer"):
        time.sleep(0.02)
        with clock.stage("inner"):
            time.sleep(0.05)
    with clock.stage("inner"):
        time.sleep(0.01)
    assert set(clock.seconds) == {"outer", "inner"}
    # Inner stages (0.06 s in all) are not charged to the outer one (about 0.02 s).
    assert clock.seconds["inner"] >= 0.06
    assert clock.seconds["outer"] < clock.seconds["inner"]


def test_wrap_times_each_call_and_keeps_the_result() -> None:
    clock = StageClock()
    double = clock.wrap("double", lambda x: 2 * x)
    assert double(3) == 6 and double(4) == 8
    assert list(clock.seconds) == ["double"]


def test_a_fit_reports_every_stage() -> None:
    encoder = FakeEncoder(dimension=64)
    texts, _ = topic_corpus(("delivery", "refund", "app"), 30)
    clock = StageClock(progress=True, expected=len(FIT_STAGES))
    TopicModel.fit(
        texts, encoder.encode(texts), embed=encoder.encode, config=TopicConfig(min_topic_size=10), clock=clock
    )
    clock.close()
    assert set(clock.seconds) == set(FIT_STAGES)
    assert all(seconds >= 0 for seconds in clock.seconds.values())


def test_naming_words_computed_once_name_the_same_topics(monkeypatch) -> None:  # noqa: ANN001
    """BERTopic's own first representation is skipped (it was recomputed after outlier reduction
    anyway); the topics, words and names are those of a fit that computes it twice."""
    from feedback_nlp.topics import model as topic_model

    encoder = FakeEncoder(dimension=64)
    texts, _ = topic_corpus(("delivery", "refund", "app", "staff"), 30)
    X = encoder.encode(texts)
    config = TopicConfig(min_topic_size=10)
    once, once_assigned = TopicModel.fit(texts, X, embed=encoder.encode, seeds=["delivery delay"], config=config)
    original = topic_model._fit_bertopic

    def twice(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        kwargs["represent"] = True
        return original(*args, **kwargs)

    monkeypatch.setattr(topic_model, "_fit_bertopic", twice)
    both, both_assigned = TopicModel.fit(texts, X, embed=encoder.encode, seeds=["delivery delay"], config=config)
    assert once.topic_table() == both.topic_table()
    assert [a.topic for a in once_assigned] == [a.topic for a in both_assigned]
    assert once.bertopic.topic_aspects_ == both.bertopic.topic_aspects_
