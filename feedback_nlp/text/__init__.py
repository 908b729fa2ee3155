"""Text processing: PII redaction, transcripts, normalisation and spaCy segmentation.

The order matters and is the pipeline's: ``customer_text`` (the customer's side) ->
``redact`` (before anything is stored, logged or returned) -> ``segment_texts`` (offsets
into the redacted text) -> ``normalize`` (what the encoder sees). ``prepare_inputs`` is that
chain for whole records, shared by serving and training.
"""

from feedback_nlp.text.nlp import (
    CLAUSE_SPLITTER,
    DEFAULT_MAX_SEGMENTS,
    DEFAULT_SEGMENT_MAX_CHARS,
    ClauseSplitter,
    Segment,
    make_nlp,
    segment_texts,
)
from feedback_nlp.text.normalize import DEFAULT_MAX_CHARS, normalize
from feedback_nlp.text.prepare import (
    PreparedInputs,
    encoder_input,
    prepare_inputs,
    prepare_texts,
    redacted_customer_texts,
)
from feedback_nlp.text.redact import PiiKind, PiiSpan, find_pii, redact
from feedback_nlp.text.transcript import customer_text, parse_transcript

__all__ = [
    "CLAUSE_SPLITTER",
    "DEFAULT_MAX_CHARS",
    "DEFAULT_MAX_SEGMENTS",
    "DEFAULT_SEGMENT_MAX_CHARS",
    "ClauseSplitter",
    "PiiKind",
    "PiiSpan",
    "PreparedInputs",
    "Segment",
    "customer_text",
    "encoder_input",
    "find_pii",
    "make_nlp",
    "normalize",
    "parse_transcript",
    "prepare_inputs",
    "prepare_texts",
    "redacted_customer_texts",
    "redact",
    "segment_texts",
]
