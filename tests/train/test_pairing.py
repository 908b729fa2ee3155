"""Counterfactual logit pairing: the folded heads read plain embeddings, and pairing turns a
head's weight away from the direction its invariance pairs differ in."""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp
from factories import small_corpus_table

from feedback_nlp.heads.linear import Joined, SoftmaxHead
from feedback_nlp.train import augment
from feedback_nlp.train.corpus_data import combine
from feedback_nlp.train.data import TrainingTable
from feedback_nlp.train.pairing import PAIR_KEY, Pairing, fit_pairing, pair_differences, pair_groups
from feedback_nlp.train.segment_pairs import SegmentPairs, segment_rows


def _nuisance_data(seed: int = 0) -> tuple[np.ndarray, list[str], np.ndarray]:
    """Column 0 carries the label; column 1 is a nuisance that happens to agree with it in
    training (as a brand name may in one source); column 2 is noise."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, 400)
    X = np.column_stack(
        [(2 * y - 1) + rng.normal(0, 1.0, 400), (2 * y - 1) * 0.8 + rng.normal(0, 0.3, 400), rng.normal(0, 1, 400)]
    ).astype(np.float32)
    differences = np.column_stack([rng.normal(0, 0.02, 200), rng.normal(0, 1, 200), rng.normal(0, 0.02, 200)])
    return X, ["positive" if v else "negative" for v in y], differences.astype(np.float32)


def test_a_folded_head_gives_on_plain_embeddings_the_logits_it_gave_on_transformed_ones() -> None:
    X, y, differences = _nuisance_data()
    pairing = Pairing.fit(differences, strength=10.0)
    head = SoftmaxHead(C=1.0, class_weight=None).fit(pairing.apply(X), y, classes=["negative", "positive"])
    before = head.decision_function(pairing.apply(X))
    pairing.fold(head)
    np.testing.assert_allclose(head.decision_function(X), before, rtol=1e-4, atol=1e-4)


def test_pairing_turns_the_weight_away_from_the_nuisance_direction() -> None:
    X, y, differences = _nuisance_data()
    plain = SoftmaxHead(C=1.0, class_weight=None).fit(X, y, classes=["negative", "positive"])
    pairing = Pairing.fit(differences, strength=100.0)
    paired = SoftmaxHead(C=1.0, class_weight=None).fit(pairing.apply(X), y, classes=["negative", "positive"])
    pairing.fold(paired)
    plain_share = abs(plain.coef_[1, 1]) / abs(plain.coef_[1, 0])
    paired_share = abs(paired.coef_[1, 1]) / abs(paired.coef_[1, 0])
    assert plain_share > 0.5  # without pairing the head leans on the nuisance
    assert paired_share < plain_share / 5
    # A change along the nuisance moves the paired head's logits far less.
    shift = np.zeros_like(X)
    shift[:, 1] = 1.0
    moved_plain = np.abs(plain.decision_function(X + shift) - plain.decision_function(X)).mean()
    moved_paired = np.abs(paired.decision_function(X + shift) - paired.decision_function(X)).mean()
    assert moved_paired < moved_plain / 5


def test_only_the_embedding_columns_are_transformed() -> None:
    X, _, differences = _nuisance_data()
    pairing = Pairing.fit(differences[:, :2], strength=5.0)  # a 2-column "embedding"
    block = sp.csr_matrix(np.eye(len(X), 4, dtype=np.float32))
    applied = pairing.apply(Joined(X, block))
    assert isinstance(applied, Joined)
    np.testing.assert_array_equal(applied.dense[:, 2], X[:, 2])  # an appended keyword column
    assert (applied.block != block).nnz == 0
    assert not np.allclose(applied.dense[:, :2], X[:, :2])
    # The same as one sparse matrix, as the text heads read embedding and n-grams.
    joined = sp.hstack([sp.csr_matrix(X), block], format="csr")
    applied_sparse = pairing.apply(joined)
    assert sp.issparse(applied_sparse)
    np.testing.assert_allclose(applied_sparse[:, :3].toarray(), applied.dense, rtol=1e-6)
    assert (applied_sparse[:, 3:] != block).nnz == 0


_table = small_corpus_table


def test_copies_are_paired_with_their_own_rows_also_after_rows_are_left_out() -> None:
    table = augment.augmented(_table(), copies=2, seed=0)
    assert table.frame[PAIR_KEY].tolist() == [0, 1, 2, 3, 0, 1, 0, 1]
    embeddings = np.arange(len(table.frame) * 3, dtype=np.float32).reshape(-1, 3) ** 2
    differences = pair_differences(table, embeddings)
    expected = embeddings[[4, 5, 6, 7]] - embeddings[[0, 1, 0, 1]]
    np.testing.assert_array_equal(differences, expected)
    # Leave source "a" out, as leave-one-source-out does: its row and its copies go together.
    fold = table.select((table.frame["source"] != "a").to_numpy())
    fold_embeddings = embeddings[(table.frame["source"] != "a").to_numpy()]
    np.testing.assert_array_equal(pair_differences(fold, fold_embeddings), embeddings[[5, 7]] - embeddings[[1, 1]])


def test_copies_are_paired_with_their_text_rows_beside_segment_rows() -> None:
    # The segment heads train on the text rows plus segment rows drawn from them (trainer.py):
    # a segment row is not the text a copy was made from.
    table = augment.augmented(_table(), copies=1, seed=0)
    segments = segment_rows(table, SegmentPairs([("a.", "b"), ("c.", "a")], np.array([[0, 1], [1, 0]])))
    assert segments.frame[PAIR_KEY].isna().all()
    both = combine([table, segments])
    embeddings = np.arange(len(both.frame) * 3, dtype=np.float32).reshape(-1, 3) ** 2
    np.testing.assert_array_equal(pair_differences(both, embeddings), embeddings[[4, 5]] - embeddings[[0, 1]])


def test_no_pairing_without_strength_or_copies() -> None:
    table = augment.augmented(_table(), copies=1, seed=0)
    embeddings = np.ones((len(table.frame), 3), dtype=np.float32)
    assert fit_pairing(table, embeddings, 0.0) is None
    assert fit_pairing(_table(), np.ones((4, 3), dtype=np.float32), 5.0) is None


def _paired_training(strength: float, *overrides: str) -> tuple[np.ndarray, np.ndarray, object]:
    """Heads fitted through the trainer's path on a corpus whose "brand" direction (column 1)
    agrees with sentiment; each copy's other brand moves column 1 part of the way back, so the
    copies alone leave it predictive."""
    from feedback_nlp.settings import Settings
    from feedback_nlp.train.config import load_config
    from feedback_nlp.train.trainer import Trainer, fit_heads, head_inputs

    rng = np.random.default_rng(0)
    n = 120
    y = rng.integers(0, 2, n)
    frame = pd.DataFrame(
        {
            "text": [f"Monzo text {i}" for i in range(n)],
            "source": rng.choice(["a", "b", "c"], n),
            "kind": "review",
            "sentiment": ["positive" if v else "negative" for v in y],
            "journey_stage": rng.choice(["billing", "support", "usage"], n),
            "split": np.where(np.arange(n) < 100, "train", "eval"),
            "weight": 1.0,
            "origin": "corpus",
        }
    )
    table = augment.augmented(TrainingTable(frame, np.zeros((n, 2), np.float32), ["phone", "website"], {}), 1, 0)
    dim = 8
    X = rng.normal(0, 0.3, (len(table.frame), dim)).astype(np.float32)
    X[:n, 0] += 2 * y - 1
    X[:n, 1] = (2 * y - 1) * 1.0 + rng.normal(0, 0.2, n)
    copies = table.frame.index[table.frame["origin"] == "augmented"]
    originals = table.frame.loc[copies, PAIR_KEY].astype(int).to_numpy()
    X[copies] = X[originals]
    X[copies, 1] = 0.3 * X[originals, 1]  # the brand swapped
    config = load_config(None, [f"heads.counterfactual_pairing={strength}", "heads.keyword_features=false", *overrides])
    trainer = Trainer(config, Settings())
    texts = table.frame["text"].tolist()
    X_tp, X_stage = head_inputs(X, texts, config, trainer.taxonomy)
    heads, _ = fit_heads(X, X_tp, table, config, ["billing", "support", "usage"], X_stage, texts=texts)
    return X[originals], X[copies], heads


def test_the_trainer_fits_paired_heads_that_move_less_under_a_swap() -> None:
    plain_x, plain_copy, plain = _paired_training(0.0)
    x, copy, paired = _paired_training(10.0)
    np.testing.assert_array_equal(x, plain_x)

    def moved(heads: object, a: np.ndarray, b: np.ndarray) -> float:
        head = heads.sentiment  # type: ignore[attr-defined]
        return float(np.abs(head.decision_function(a) - head.decision_function(b)).mean())

    assert moved(paired, x, copy) < moved(plain, plain_x, plain_copy) / 3
    # The folded heads read plain embeddings: same shape as without pairing.
    assert paired.sentiment.coef_.shape == plain.sentiment.coef_.shape  # type: ignore[attr-defined]


def test_pairing_applies_only_to_the_heads_it_is_given() -> None:
    _, _, plain = _paired_training(0.0)
    _, _, paired = _paired_training(10.0, 'heads.counterfactual_pairing_heads=["sentiment"]')
    np.testing.assert_array_equal(paired.stage.coef_, plain.stage.coef_)  # type: ignore[attr-defined]
    np.testing.assert_array_equal(paired.touchpoints.coef_, plain.touchpoints.coef_)  # type: ignore[attr-defined]
    assert not np.allclose(paired.sentiment.coef_, plain.sentiment.coef_)  # type: ignore[attr-defined]


def test_a_row_and_its_copies_share_a_group_and_unkeyed_rows_stand_alone() -> None:
    frame = pd.DataFrame({PAIR_KEY: [0, 1, 2, 0, 1, np.nan, np.nan]})
    groups = pair_groups(frame)
    assert groups[0] == groups[3] and groups[1] == groups[4]
    assert len(set(groups.tolist())) == 5  # rows 5 and 6 (segment rows) are groups of their own
    assert len(set(pair_groups(pd.DataFrame({"text": ["a", "b"]})).tolist())) == 2  # no copies made
