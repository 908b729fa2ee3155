"""Record -> what the encoder sees: the one preparation step shared by serving and training.

``customer_text`` (a transcript's customer turns) -> ``redact`` (personal data out) ->
``normalize`` (markup out, the same rules for every kind). Serving, training, head retraining,
custom taxonomies, labelling and topics all call :func:`prepare_inputs`, so a model is trained
on exactly the strings it will see (``tests/text/test_prepare.py`` holds them equal).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from feedback_nlp.taxonomy.records import FeedbackKind, FeedbackRecord
from feedback_nlp.text.normalize import normalize
from feedback_nlp.text.redact import redact
from feedback_nlp.text.transcript import customer_text

__all__ = ["PreparedInputs", "encoder_input", "prepare_inputs", "prepare_texts", "redacted_customer_texts"]


@dataclass(frozen=True)
class PreparedInputs:
    """Both views of each record, in input order.

    ``texts`` is the redacted customer-side text (what is segmented, stored and shown);
    ``encoder_inputs`` the normalised strings the encoder embeds.
    """

    texts: list[str]
    encoder_inputs: list[str]


def encoder_input(redacted_text: str) -> str:
    """The encoder's view of an already redacted text (or segment)."""
    return normalize(redacted_text)


def redacted_customer_texts(records: Sequence[FeedbackRecord]) -> list[str]:
    """The customer side of each record, personal data redacted: what is stored and shown."""
    return [redact(customer_text(record)) for record in records]


def prepare_inputs(records: Sequence[FeedbackRecord]) -> PreparedInputs:
    """Prepare records for the encoder: customer side, redacted, normalised."""
    texts = redacted_customer_texts(records)
    return PreparedInputs(texts, [encoder_input(text) for text in texts])


def prepare_texts(texts: Iterable[str], kinds: Iterable[FeedbackKind | str]) -> list[str]:
    """:func:`prepare_inputs` for plain (text, kind) pairs, as training tables hold them.

    A transcript's text may carry ``Customer:`` / ``Agent:`` prefixes: only the customer's
    lines are kept, as at serving time.
    """
    records = [
        FeedbackRecord.model_construct(id=None, kind=_kind(kind), text=text, turns=None)
        for text, kind in zip(texts, kinds, strict=True)
    ]
    return prepare_inputs(records).encoder_inputs


def _kind(kind: FeedbackKind | str) -> FeedbackKind:
    try:
        return FeedbackKind(str(kind))
    except ValueError:  # training tables name kinds of their own ("complaint", "support_message")
        return FeedbackKind.SURVEY
