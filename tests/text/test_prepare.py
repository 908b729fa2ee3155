"""Training and serving prepare a record the same way (one step, shared)."""

from __future__ import annotations

import pandas as pd

from feedback_nlp.taxonomy.records import FeedbackRecord, Speaker, Turn
from feedback_nlp.text import prepare_inputs, prepare_texts
from feedback_nlp.train.trainer import encoder_inputs

TRANSCRIPT = (
    "Agent: Thanks for calling, how can I help?\nCustomer: @acme my card was charged twice, mail me at a@b.com\n"
    "Agent: Sorry!"
)


def test_training_table_and_serving_see_the_same_strings() -> None:
    frame = pd.DataFrame(
        {
            "text": [TRANSCRIPT, "@acme thanks for sorting my refund!! https://t.co/x", "Great fit #LoveIt"],
            "kind": ["transcript", "social", "review"],
        }
    )
    served = prepare_inputs([FeedbackRecord(kind=k, text=t) for t, k in zip(frame["text"], frame["kind"], strict=True)])
    assert encoder_inputs(frame) == served.encoder_inputs
    # The agent's turns never reach the encoder, in training as in serving; personal data is redacted.
    assert "Thanks for calling" not in served.encoder_inputs[0]
    assert "a@b.com" not in served.encoder_inputs[0]
    assert served.encoder_inputs[1] == "thanks for sorting my refund!!"


def test_turns_and_prefixed_text_prepare_alike() -> None:
    turns = [
        Turn(speaker=Speaker.AGENT, text="Thanks for calling, how can I help?"),
        Turn(speaker=Speaker.CUSTOMER, text="@acme my card was charged twice, mail me at a@b.com"),
        Turn(speaker=Speaker.AGENT, text="Sorry!"),
    ]
    by_turns = prepare_inputs([FeedbackRecord(kind="transcript", turns=turns)])
    by_text = prepare_inputs([FeedbackRecord(kind="transcript", text=TRANSCRIPT)])
    assert by_turns == by_text


def test_kind_does_not_change_what_the_encoder_sees() -> None:
    text = "@shop the parcel never arrived https://t.co/abc #fail"
    inputs = {kind: prepare_texts([text], [kind])[0] for kind in ("social", "review", "survey")}
    assert len(set(inputs.values())) == 1
