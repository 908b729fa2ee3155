"""Word n-grams beside the embedding: a fixed tf-idf vocabulary the text heads also read.

MiniLM's vector blurs words a linear head could use as they are ("refund", "not working",
"on hold"). :class:`WordNgrams` keeps a vocabulary of words and word pairs and turns texts into
l2-normalised tf-idf rows (scikit-learn's ``TfidfVectorizer`` with that vocabulary), scaled
down so the embedding still carries most of the signal. The vocabulary holds only n-grams
found in the texts of at least ``min_sources`` training sources: a brand, a product line or a
person's name that one source repeats is left out, so a label never rests on words that
belong to one company (leave-one-source-out measurements: docs/results.md, "Word n-grams beside
the embedding").

Redaction placeholders (``[EMAIL]``, ``[PHONE]``) and numbers are no words here: a redacted
phone number must not read as the `phone` touchpoint. Handles and URLs never reach this point
(normalisation removes them).

Saved as JSON (the terms and settings) and safetensors (the idf weights) inside the heads'
files; nothing is pickled.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer

#: Redaction placeholders such as ``[EMAIL]``: removed before counting words.
_PLACEHOLDER = re.compile(r"\[[A-Z_]{2,20}\]")
#: Words of two or more letters, with an apostrophe inside ("don't"); no digits.
TOKEN_PATTERN = r"(?u)\b[^\W\d_]{2,}(?:'[^\W\d_]+)?\b"
NGRAM_RANGE = (1, 2)


def _preprocess(text: str) -> str:
    return _PLACEHOLDER.sub(" ", text).lower()


@dataclass
class WordNgrams:
    """A fixed vocabulary of words and word pairs, and the tf-idf rows of texts over it.

    Attributes:
        terms: the n-grams, one feature column each, in column order.
        idf: each term's inverse document frequency, from the texts the vocabulary was fitted on.
        scale: every row is l2-normalised, then multiplied by this (the weight of the n-gram
            block against the unit-length embedding).
        min_sources: how many training sources a term had to occur in (kept for the record).
    """

    terms: list[str]
    idf: np.ndarray
    scale: float = 0.5
    min_sources: int = 3
    _vectorizer: TfidfVectorizer | None = field(default=None, init=False, repr=False, compare=False)

    @classmethod
    def fit(
        cls,
        texts: Sequence[str],
        sources: Sequence[str],
        *,
        min_sources: int = 3,
        min_df: int = 3,
        scale: float = 0.5,
    ) -> WordNgrams:
        """The n-grams of ``texts`` (encoder inputs) found in at least ``min_df`` texts and in the
        texts of at least ``min_sources`` distinct ``sources``, with their idf over ``texts``.

        Raises:
            ValueError: ``texts`` and ``sources`` differ in length, or no n-gram qualifies.
        """
        if len(texts) != len(sources):
            raise ValueError(f"{len(texts)} texts but {len(sources)} sources: give one source per text")
        vectorizer = TfidfVectorizer(**_vectorizer_options(), min_df=min_df)
        try:
            counts = vectorizer.fit_transform(list(texts))
        except ValueError as exc:  # an empty vocabulary
            raise ValueError(f"no word n-gram occurs in {min_df} or more of the {len(texts)} texts") from exc
        present = (counts > 0).tocsc()
        source_array = np.asarray(sources, dtype=object)
        n_sources = np.zeros(counts.shape[1], dtype=int)
        for source in np.unique(source_array):
            n_sources += np.asarray(present[source_array == source].sum(axis=0)).ravel() > 0
        keep = np.flatnonzero(n_sources >= min_sources)
        if not len(keep):
            raise ValueError(
                f"no word n-gram occurs in the texts of {min_sources} or more sources "
                f"({len(np.unique(source_array))} sources given); lower min_sources or train without n-grams"
            )
        terms = vectorizer.get_feature_names_out()[keep].tolist()
        idf = np.asarray(vectorizer.idf_[keep], dtype=np.float32)
        return cls(terms, idf, scale=scale, min_sources=min_sources)

    def __len__(self) -> int:
        return len(self.terms)

    def features(self, texts: Sequence[str]) -> sp.csr_matrix:
        """One sparse row per text: its tf-idf over :attr:`terms`, l2-normalised, times :attr:`scale`."""
        if self._vectorizer is None:
            vectorizer = TfidfVectorizer(**_vectorizer_options(), vocabulary=self.terms, dtype=np.float32)
            vectorizer.idf_ = self.idf.astype(np.float64)
            self._vectorizer = vectorizer
        rows = self._vectorizer.transform(list(texts))
        return (rows * self.scale).astype(np.float32).tocsr()

    def beside(self, X: np.ndarray | sp.spmatrix, texts: Sequence[str]) -> sp.csr_matrix:
        """``X`` (one row per text) with the n-gram block of ``texts`` appended."""
        return with_block(X, self.features(texts))

    def to_meta(self) -> dict[str, Any]:
        """The JSON half of the serialisation (the idf weights are a tensor)."""
        return {"terms": self.terms, "scale": self.scale, "min_sources": self.min_sources}

    @classmethod
    def from_meta(cls, meta: dict[str, Any], idf: np.ndarray) -> WordNgrams:
        """Rebuild what :meth:`to_meta` and the ``idf`` tensor hold.

        Raises:
            ValueError: the terms and the idf weights differ in length.
        """
        terms = [str(term) for term in meta["terms"]]
        if len(terms) != len(idf):
            raise ValueError(f"{len(terms)} n-gram terms but {len(idf)} idf weights")
        return cls(terms, np.asarray(idf, dtype=np.float32), float(meta["scale"]), int(meta["min_sources"]))


def with_block(X: np.ndarray | sp.spmatrix, block: sp.csr_matrix) -> sp.csr_matrix:
    """``X`` with an n-gram ``block`` (:meth:`WordNgrams.features` of the same rows) appended, as
    one sparse matrix: what a head is fitted on."""
    return sp.hstack([sp.csr_matrix(X, dtype=np.float32), block], format="csr")


def _vectorizer_options() -> dict[str, Any]:
    return {
        "preprocessor": _preprocess,
        "token_pattern": TOKEN_PATTERN,
        "ngram_range": NGRAM_RANGE,
        "sublinear_tf": True,
        "norm": "l2",
    }
