"""The annotated CX corpus: texts read from the shared datasets, labels kept in the project.

The labels (``annotations/cx_corpus.jsonl``) are keyed to the shared file, its row id and a
sha256 of the text; the texts stay in ``../shared/data`` and :func:`load_cx_corpus` joins them.
"""

from feedback_nlp.corpus.annotations import (
    AnnotatedCorpus,
    Annotation,
    load_annotations,
    load_cx_corpus,
    text_sha256,
)
from feedback_nlp.corpus.sources import CORPUS_SOURCES, read_source

__all__ = [
    "CORPUS_SOURCES",
    "AnnotatedCorpus",
    "Annotation",
    "load_annotations",
    "load_cx_corpus",
    "read_source",
    "text_sha256",
]
