"""FeedbackPipeline: records in, predictions out. The main flow of the package.

record -> prepare_inputs (customer side -> PII redaction -> normalisation, shared with training)
       -> spaCy segments -> encoder vectors of texts and segments (one pass per text when the bundle's
          segment vectors are pooled) -> heads -> the output contract
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol, cast

import numpy as np
import scipy.sparse as sp

from feedback_nlp.encoders.base import Encoder
from feedback_nlp.heads.heads import TaskHeads
from feedback_nlp.heads.linear import Joined, MultiLabelHead, SoftmaxHead
from feedback_nlp.taxonomy.keywords import KeywordMatcher
from feedback_nlp.taxonomy.labels import SENTIMENT_LABELS, Taxonomy
from feedback_nlp.taxonomy.records import (
    FeedbackKind,
    FeedbackRecord,
    LabelScore,
    Prediction,
    SegmentPrediction,
    SentimentLabel,
    SentimentResult,
    TopicResult,
)
from feedback_nlp.text import encoder_input, make_nlp, prepare_inputs, redacted_customer_texts, segment_texts

logger = logging.getLogger(__name__)

#: How segment vectors are made: each segment encoded on its own, or pooled from its text's pass.
SegmentVectors = Literal["separate", "pooled"]

#: A transcript's declared ``channel`` names the touchpoint the conversation happened on
#: (docs/taxonomy.md, ruling 3): a call transcript is about ``phone``, a chat about ``chat``.
TRANSCRIPT_CHANNELS = {
    "phone": "phone",
    "call": "phone",
    "voice": "phone",
    "call centre": "phone",
    "call center": "phone",
    "ivr": "phone",
    "chat": "chat",
    "live chat": "chat",
    "webchat": "chat",
    "web chat": "chat",
    "messaging": "chat",
    "chatbot": "chat",
    "email": "email",
    "e-mail": "email",
}


def channel_touchpoint(kind: FeedbackKind | str, channel: str | None) -> str | None:
    """The touchpoint a transcript's declared ``channel`` names, if any (other kinds: none)."""
    if str(kind) != FeedbackKind.TRANSCRIPT.value or not channel:
        return None
    return TRANSCRIPT_CHANNELS.get(channel.strip().lower())


def declared_touchpoint(record: FeedbackRecord) -> str | None:
    """The touchpoint a transcript record's ``channel`` field names, if any (other kinds: none)."""
    return channel_touchpoint(record.kind, record.channel)


@dataclass
class _Scores:
    """Head outputs for a batch of encoded texts."""

    sentiment: np.ndarray  # (n, 3) in SENTIMENT_LABELS order
    stage: np.ndarray  # (n, n_stages) in heads.stage.classes_ order
    touchpoints: np.ndarray  # (n, n_touchpoints)
    touchpoints_chosen: np.ndarray  # (n, n_touchpoints) bool: at or above the reading head's thresholds
    topics: list[TopicResult | None]  # (n,) when a topic model is attached, else all None

    def extended(self, more: _Scores) -> _Scores:
        """These rows followed by ``more``'s."""
        return _Scores(
            sentiment=np.vstack([self.sentiment, more.sentiment]),
            stage=np.vstack([self.stage, more.stage]),
            touchpoints=np.vstack([self.touchpoints, more.touchpoints]),
            touchpoints_chosen=np.vstack([self.touchpoints_chosen, more.touchpoints_chosen]),
            topics=self.topics + more.topics,
        )


class TopicAssigner(Protocol):
    """What the pipeline needs from a topic model (see :class:`feedback_nlp.topics.model.TopicModel`)."""

    def assign_texts(self, texts: Sequence[str], pipeline_embeddings: np.ndarray) -> Sequence[Any]:
        """One assignment (``topic``, ``label``, ``confidence``; topic -1 when none) per text.

        ``pipeline_embeddings`` are this pipeline's vectors for ``texts``; a model fitted in
        another embedding space (the topic space) embeds ``texts`` in it instead.
        """
        ...


class SideOutput(Protocol):
    """Where a pipeline sends the text vectors of the side encoder attached to its encoder
    (``encoder.attach_side``): the topic space's, computed in the classifier's pass over the
    layers the two share (:mod:`feedback_nlp.encoders.twin`, :func:`feedback_nlp.topics.corpus.corpus_from_file`)."""

    def wanted(self, texts: Sequence[str]) -> bool:
        """Whether any of these encoder inputs still lacks its side vector (else none is computed)."""
        ...

    def put(self, texts: Sequence[str], vectors: np.ndarray) -> None:
        """The side vectors of ``texts`` (encoder inputs), row for row."""
        ...


class FeedbackPipeline:
    """Classifies feedback by sentiment, journey stage and touchpoints, per text and per segment.

    Args:
        encoder: turns texts into embeddings (the heads were trained on its output).
        heads: the task heads.
        taxonomy: the labels the heads predict.
        version: the model version written into every prediction.
        manifest: the bundle manifest, served by the API.
        segment_vectors: ``separate`` encodes each segment on its own; ``pooled`` pools a segment's
            vector from its text's pass (one pass per text; the bundle's heads must have been
            trained on such vectors, see :mod:`feedback_nlp.encoders.spans`).

    Examples:
        >>> pipeline = load_pipeline()
        >>> record = FeedbackRecord(kind="review", text="Love the app, but delivery took two weeks")
        >>> [segment.text for segment in pipeline.predict([record])[0].segments]
        ['Love the app,', 'but delivery took two weeks']
    """

    def __init__(
        self,
        encoder: Encoder,
        heads: TaskHeads,
        taxonomy: Taxonomy,
        *,
        version: str,
        manifest: dict[str, Any] | None = None,
        segment_vectors: SegmentVectors = "separate",
    ) -> None:
        if segment_vectors not in ("separate", "pooled"):
            raise ValueError(f"segment_vectors must be 'separate' or 'pooled', got {segment_vectors!r}")
        self.encoder = encoder
        self.segment_vectors = segment_vectors
        self.heads = heads
        self.taxonomy = taxonomy
        self.version = version
        self.manifest = manifest or {}
        self.nlp = make_nlp()
        self.keywords = KeywordMatcher(taxonomy)
        self.stage_cues = KeywordMatcher.stage_cues(taxonomy)
        #: The deployed topic model, if any: fills the ``topic`` fields (see ``use_topics``).
        self.topic_model: TopicAssigner | None = None
        #: Receives the side encoder's text vectors from pooled passes, if any (see :class:`SideOutput`).
        self.side_output: SideOutput | None = None
        # Columns of the sentiment head in the fixed negative/neutral/positive order.
        classes = list(heads.sentiment.classes_)
        self._sentiment_order = [classes.index(label) for label in SENTIMENT_LABELS]

    def predict(self, records: Sequence[FeedbackRecord]) -> list[Prediction]:
        """Classify ``records`` in the calling thread; one prediction per record, in input order.

        To split large calls over the cores, wrap the pipeline in a
        :class:`~feedback_nlp.lanes.ParallelPredictor` (``load_pipeline`` does).
        """
        if not records:
            return []
        # 1. The customer's words only, redacted, and the encoder's view of them (shared with training).
        prepared = prepare_inputs(records)
        # 2. Sentences and clauses, with offsets into the redacted text.
        segments = segment_texts(self.nlp, prepared.texts)
        # 3. Vectors for every text and segment, then the heads.
        doc_inputs = prepared.encoder_inputs
        seg_inputs = [[encoder_input(seg.text) for seg in segs] if len(segs) > 1 else [] for segs in segments]
        if self.segment_vectors == "pooled":
            scores, doc_rows, seg_rows = self._score_pooled(doc_inputs, seg_inputs)
        else:
            scores, doc_rows, seg_rows = self._score_separate(doc_inputs, seg_inputs)
        # 4. Assemble the contract, mapping columns back to taxonomy labels.
        return [
            self._assemble(record, scores, doc_rows[i], segments[i], seg_rows[i] or [doc_rows[i]] * len(segments[i]))
            for i, record in enumerate(records)
        ]

    def copy_for_thread(self) -> FeedbackPipeline:
        """A copy that may predict in another thread beside this one: its own encoder (and
        tokenizer) and spaCy pipeline; the read-only parts (heads, keywords, topic model) shared."""
        twin = copy.copy(self)
        twin.encoder = copy.deepcopy(self.encoder)
        twin.nlp = copy.deepcopy(self.nlp)
        return twin

    def use_topics(self, topic_model: TopicAssigner | None) -> None:
        """Attach a topic model fitted on this pipeline's embeddings (``None`` detaches it)."""
        self.topic_model = topic_model

    @staticmethod
    def customer_texts(records: Sequence[FeedbackRecord]) -> list[str]:
        """The redacted customer-side text of each record: what is classified and stored."""
        return redacted_customer_texts(records)

    def predict_texts(self, texts: Sequence[str], kind: FeedbackKind | str = "survey") -> list[Prediction]:
        """Convenience: classify plain texts of one kind."""
        return self.predict([FeedbackRecord(kind=FeedbackKind(kind), text=t) for t in texts])

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Embeddings of already-redacted, normalised texts (the heads' input, without keywords)."""
        return self.encoder.encode(list(texts))

    def _score_separate(
        self, doc_inputs: list[str], seg_inputs: list[list[str]]
    ) -> tuple[_Scores, list[int], list[list[int]]]:
        """One encoder pass over every distinct text and segment, each encoded on its own."""
        unique = list(dict.fromkeys(doc_inputs + [s for segs in seg_inputs for s in segs]))
        row = {text: i for i, text in enumerate(unique)}
        scores = self._heads(unique, self.embed(unique))
        return scores, [row[d] for d in doc_inputs], [[row[s] for s in segs] for segs in seg_inputs]

    def _score_pooled(
        self, doc_inputs: list[str], seg_inputs: list[list[str]]
    ) -> tuple[_Scores, list[int], list[list[int]]]:
        """One pass per distinct text; its segments' vectors pooled from it (``segment_vectors = "pooled"``)."""
        texts = [tuple(segs) if segs else (doc,) for doc, segs in zip(doc_inputs, seg_inputs, strict=True)]
        doc_of: dict[tuple[str, ...], str] = {}
        for doc, text in zip(doc_inputs, texts, strict=True):
            doc_of.setdefault(text, doc)
        unique = list(doc_of)
        docs = list(doc_of.values())
        side = self.side_output if self.side_output is not None and self.side_output.wanted(docs) else None
        vectors = self.encoder.encode_segmented(unique, side=side is not None)
        if side is not None and vectors.side is not None:
            # A text whose segments leave characters out (a run of "???", a bullet) was encoded
            # as its segments, not as itself: its side vector is left to the side encoder's own pass.
            whole = [i for i, (text, doc) in enumerate(zip(unique, docs, strict=True)) if _same_characters(text, doc)]
            side.put([docs[i] for i in whole], vectors.side[whole])
        # Rows: the distinct texts, then the segments of each distinct multi-segment text.
        segment_inputs: list[str] = []
        first_segment: dict[tuple[str, ...], int] = {}
        kept: list[int] = []  # rows of vectors.segments that are real segments
        position = 0
        for text in unique:
            if len(text) > 1:
                first_segment[text] = len(unique) + len(segment_inputs)
                segment_inputs.extend(text)
                kept.extend(range(position, position + len(text)))
            position += len(text)
        scores = self._heads(docs, vectors.texts).extended(
            self._heads(segment_inputs, vectors.segments[kept], segments=True)
        )
        text_row = {text: i for i, text in enumerate(unique)}
        seg_rows = [
            list(range(first_segment[text], first_segment[text] + len(text))) if len(text) > 1 else [] for text in texts
        ]
        return scores, [text_row[text] for text in texts], seg_rows

    def _heads(self, inputs: list[str], X: np.ndarray, *, segments: bool = False) -> _Scores:
        """The heads' outputs for ``X``, the vectors of the encoder ``inputs`` (row for row);
        ``segments``: rows are pooled segment vectors, read by the bundle's segment heads."""
        sentiment, touchpoints = self.heads.for_segments if segments else (self.heads.sentiment, self.heads.touchpoints)
        block: sp.csr_matrix | None = None  # the n-gram rows of ``inputs``, made when a head first reads them

        def read(head: SoftmaxHead | MultiLabelHead, F: np.ndarray) -> np.ndarray:
            nonlocal block
            if self.heads.ngrams is None or not self.heads.reads_ngrams(head):
                return head.predict_proba(F)
            if block is None:
                block = self.heads.ngrams.features(inputs)
            return head.predict_proba(Joined(F, block))

        touchpoint_proba = read(touchpoints, self._with_keywords(inputs, X))
        return _Scores(
            sentiment=read(sentiment, X)[:, self._sentiment_order],
            # Segments are given no stage: their rows are left at 0 rather than read.
            stage=np.zeros((len(X), len(self.heads.stage.classes_)), dtype=np.float32)
            if segments
            else read(self.heads.stage, self._with_stage_cues(inputs, X)),
            touchpoints=touchpoint_proba,
            touchpoints_chosen=touchpoint_proba >= touchpoints.thresholds_,
            topics=self._topics(inputs, X),
        )

    def sentiment_input(self, inputs: Sequence[str], X: np.ndarray) -> np.ndarray | sp.csr_matrix:
        """What the text sentiment head reads for ``X``, the vectors of the encoder ``inputs``:
        ``X``, with the word n-grams appended when the bundle's heads read them."""
        return self._with_ngrams(inputs, X)

    def touchpoint_input(self, inputs: Sequence[str], X: np.ndarray) -> np.ndarray | sp.csr_matrix:
        """What the text touchpoint head reads for ``X``: with the keyword hits appended when the
        bundle's heads use them, then the word n-grams when they read them."""
        return self._with_ngrams(inputs, self._with_keywords(inputs, X))

    def stage_input(self, inputs: Sequence[str], X: np.ndarray) -> np.ndarray | sp.csr_matrix:
        """What the stage head reads for ``X``: with the stage-cue hits appended when the
        bundle's stage head uses them, then the word n-grams when the heads read them."""
        return self._with_ngrams(inputs, self._with_stage_cues(inputs, X))

    def _with_keywords(self, inputs: Sequence[str], X: np.ndarray) -> np.ndarray:
        return np.hstack([X, self.keywords.features(inputs)]) if self.heads.keyword_features else X

    def _with_stage_cues(self, inputs: Sequence[str], X: np.ndarray) -> np.ndarray:
        return np.hstack([X, self.stage_cues.features(inputs)]) if self.heads.stage_cue_features else X

    def _with_ngrams(self, inputs: Sequence[str], F: np.ndarray) -> np.ndarray | sp.csr_matrix:
        return F if self.heads.ngrams is None else self.heads.ngrams.beside(F, inputs)

    def _topics(self, texts: list[str], X: np.ndarray) -> list[TopicResult | None]:
        if self.topic_model is None:
            return [None] * len(X)
        return [
            TopicResult(id=a.topic, label=a.label, confidence=a.confidence) if a.topic >= 0 else None
            for a in self.topic_model.assign_texts(texts, X)
        ]

    def _sentiment(self, proba: np.ndarray, *, with_probabilities: bool) -> SentimentResult:
        label = cast(SentimentLabel, SENTIMENT_LABELS[int(proba.argmax())])
        score = float(np.clip(proba[2] - proba[0], -1.0, 1.0))
        probabilities = (
            {name: round(float(p), 4) for name, p in zip(SENTIMENT_LABELS, proba, strict=True)}
            if with_probabilities
            else None
        )
        return SentimentResult(label=label, score=round(score, 4), probabilities=probabilities)

    @staticmethod
    def _text_sentiment(scores: _Scores, row: int, seg_rows: Sequence[int]) -> np.ndarray:
        """The text's sentiment: its own view averaged with the mean of its segments' views.

        The whole-text view sees only the first ``max_seq_length`` tokens; the segments see
        every sentence, so a complaint in the last lines of a long review still counts.
        """
        if len(set(seg_rows)) <= 1:
            return scores.sentiment[row]
        return 0.5 * scores.sentiment[row] + 0.5 * scores.sentiment[list(seg_rows)].mean(axis=0)

    def _touchpoints(self, scores: _Scores, row: int, declared: str | None = None) -> list[LabelScore]:
        proba = scores.touchpoints[row]
        chosen = set(np.flatnonzero(scores.touchpoints_chosen[row]).tolist())
        classes = [str(c) for c in self.heads.touchpoints.classes_]
        if declared in classes:
            chosen.add(classes.index(declared))
        ranked = sorted(chosen, key=lambda j: -proba[j])
        return [
            LabelScore(
                label=classes[j],
                # The declared channel is a fact of the record, not a guess.
                confidence=1.0 if classes[j] == declared else round(float(proba[j]), 4),
            )
            for j in ranked
        ]

    def _assemble(
        self,
        record: FeedbackRecord,
        scores: _Scores,
        row: int,
        segments: Sequence[Any],
        seg_rows: Sequence[int],
    ) -> Prediction:
        stage_proba = scores.stage[row]
        best = int(stage_proba.argmax())
        segment_predictions = [
            SegmentPrediction(
                text=seg.text,
                start=seg.start,
                end=seg.end,
                sentiment=self._sentiment(scores.sentiment[seg_row], with_probabilities=False),
                touchpoints=self._touchpoints(scores, seg_row),
                topic=scores.topics[seg_row],
            )
            for seg, seg_row in zip(segments, seg_rows, strict=True)
        ]
        return Prediction(
            id=record.id,
            kind=record.kind,
            sentiment=self._sentiment(self._text_sentiment(scores, row, seg_rows), with_probabilities=True),
            journey_stage=LabelScore(
                label=str(self.heads.stage.classes_[best]), confidence=round(float(stage_proba[best]), 4)
            ),
            touchpoints=self._touchpoints(scores, row, declared_touchpoint(record)),
            topic=scores.topics[row],
            segments=segment_predictions,
            model_version=self.version,
        )


def _same_characters(segments: Sequence[str], text: str) -> bool:
    """Whether ``segments`` hold exactly the text's characters but whitespace, in order (their
    tokens joined are then the text's tokens).

    >>> _same_characters(["Great app.", "but slow"], "Great app. but slow")
    True
    >>> _same_characters(["love this blouse."], "?? love this blouse.")
    False
    """
    return "".join("".join(segments).split()) == "".join(text.split())


def __getattr__(name: str) -> Any:
    """``feedback_nlp.pipeline.load_pipeline``: the loader's old address, resolved on each access.

    The loader lives in :mod:`feedback_nlp.storage.loading` (use ``feedback_nlp.load_pipeline``);
    this alias keeps older callers working without an import cycle at module load.
    """
    if name == "load_pipeline":
        from feedback_nlp.storage import loading

        return loading.load_pipeline
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
