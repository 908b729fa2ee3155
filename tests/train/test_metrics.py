"""Metrics on tiny inputs, checked against numbers worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from feedback_nlp.train.metrics import multi_label_report, single_label_report

LABELS = ["negative", "neutral", "positive"]


def test_single_label_report_hand_computed() -> None:
    y_true = ["negative", "negative", "neutral", "positive", "positive", "positive"]
    y_pred = ["negative", "neutral", "neutral", "positive", "negative", "positive"]
    report = single_label_report(y_true, y_pred, LABELS)
    # negative: tp 1, fp 1, fn 1 -> P 1/2, R 1/2, F1 1/2
    # neutral:  tp 1, fp 1, fn 0 -> P 1/2, R 1,   F1 2/3
    # positive: tp 2, fp 0, fn 1 -> P 1,   R 2/3, F1 4/5
    assert report["n"] == 6
    assert report["accuracy"] == pytest.approx(4 / 6)
    assert report["macro_f1"] == pytest.approx((1 / 2 + 2 / 3 + 4 / 5) / 3)
    assert report["macro_recall"] == pytest.approx((1 / 2 + 1 + 2 / 3) / 3)
    assert report["per_label"]["neutral"] == pytest.approx({"precision": 0.5, "recall": 1.0, "f1": 2 / 3, "support": 1})
    assert report["per_label"]["positive"]["support"] == 3
    assert report["confusion"] == {
        "labels": LABELS,
        "matrix": [[1, 1, 0], [0, 1, 0], [1, 0, 2]],
    }


def test_single_label_report_absent_label_left_out_of_macro() -> None:
    # "neutral" occurs in neither list: the macro averages are over the two others only.
    report = single_label_report(["negative", "positive"], ["negative", "negative"], LABELS)
    # negative: P 1/2, R 1, F1 2/3; positive: F1 0
    assert report["macro_f1"] == pytest.approx((2 / 3 + 0) / 2)
    assert report["macro_recall"] == pytest.approx((1 + 0) / 2)
    assert "neutral" not in report["per_label"]
    assert report["confusion"]["labels"] == ["negative", "positive"]


def test_single_label_report_predicted_only_label_counts() -> None:
    # A label only ever predicted (never true) still drags the macro-F1 down.
    report = single_label_report(["negative", "negative"], ["negative", "neutral"], LABELS)
    assert report["macro_f1"] == pytest.approx((2 / 3 + 0) / 2)


def test_single_label_report_perfect() -> None:
    report = single_label_report(LABELS, LABELS, LABELS)
    assert report["macro_f1"] == report["accuracy"] == report["macro_recall"] == 1.0


def test_multi_label_report_hand_computed() -> None:
    labels = ["phone", "email", "delivery"]
    y_true = [["phone"], ["phone", "email"], [], ["delivery"]]
    y_pred = [["phone"], ["email"], ["delivery"], ["delivery", "phone"]]
    report = multi_label_report(y_true, y_pred, labels)
    # phone:    tp 1, fp 1, fn 1 -> F1 1/2
    # email:    tp 1, fp 0, fn 0 -> F1 1
    # delivery: tp 1, fp 1, fn 0 -> F1 2/3
    # micro:    tp 3, fp 2, fn 1 -> F1 6 / (6 + 3) = 2/3
    assert report["n"] == 4
    assert report["micro_f1"] == pytest.approx(2 / 3)
    assert report["macro_f1"] == pytest.approx((1 / 2 + 1 + 2 / 3) / 3)
    assert report["exact_match"] == pytest.approx(1 / 4)
    assert report["per_label"]["phone"] == pytest.approx({"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2})


def test_multi_label_report_predicted_only_label_counts_in_macro() -> None:
    # "chat" is never true but predicted once: its F1 of 0 counts in the macro average, as
    # scikit-learn counts it (leaving it out inflated the macro-F1 to 1.0).
    labels = ["phone", "chat", "email"]
    report = multi_label_report([["phone"], []], [["phone"], ["chat"]], labels)
    assert report["macro_f1"] == pytest.approx((1.0 + 0.0) / 2)  # email: neither true nor predicted
    assert report["labels_scored"] == 2
    assert report["micro_f1"] == pytest.approx(2 / 3)  # tp 1, fp 1, fn 0
    assert report["per_label"]["chat"]["support"] == 0


def test_multi_label_report_macro_matches_scikit_learn_over_labels_in_gold_or_predictions() -> None:
    from sklearn.metrics import f1_score
    from sklearn.preprocessing import MultiLabelBinarizer

    labels = ["phone", "chat", "email", "billing", "product"]
    rng = np.random.default_rng(0)
    y_true = [[label for label in labels[:3] if rng.random() < 0.4] for _ in range(40)]
    y_pred = [[label for label in labels[1:4] if rng.random() < 0.4] for _ in range(40)]
    binarizer = MultiLabelBinarizer(classes=labels)
    T, P = binarizer.fit_transform(y_true), binarizer.transform(y_pred)
    used = (T.sum(axis=0) + P.sum(axis=0)) > 0
    assert not used.all()  # "product" is in neither: it must not count
    report = multi_label_report(y_true, y_pred, labels)
    assert report["macro_f1"] == pytest.approx(f1_score(T[:, used], P[:, used], average="macro", zero_division=0))
    assert report["micro_f1"] == pytest.approx(f1_score(T, P, average="micro", zero_division=0))


def test_multi_label_report_refuses_a_string_row() -> None:
    # "billing" as a string was read letter by letter and scored 0.0.
    with pytest.raises(TypeError, match=r"y_true\[0\] must be a list of labels"):
        multi_label_report(["billing"], [["billing"]], ["billing"])


def test_single_label_report_matches_scikit_learn() -> None:
    from sklearn.metrics import accuracy_score, f1_score, recall_score

    rng = np.random.default_rng(1)
    y_true = rng.choice(LABELS, 50).tolist()
    y_pred = rng.choice(LABELS[:2], 50).tolist()
    report = single_label_report(y_true, y_pred, LABELS)
    assert report["macro_f1"] == pytest.approx(f1_score(y_true, y_pred, labels=LABELS, average="macro"))
    assert report["macro_recall"] == pytest.approx(recall_score(y_true, y_pred, labels=LABELS, average="macro"))
    assert report["accuracy"] == pytest.approx(accuracy_score(y_true, y_pred))


def test_single_label_report_with_no_gold_label_among_the_labels_scores_zero() -> None:
    # A gold set of another taxonomy: none of its stages is the model's. scikit-learn's
    # confusion_matrix raised "At least one label specified must be in y_true" and lost a training run.
    report = single_label_report(["billing", "billing"], ["stay", "purchase"], ["purchase", "stay", "none"])
    assert report["macro_f1"] == 0.0 and report["accuracy"] == 0.0
    assert report["confusion"] == {"labels": ["purchase", "stay"], "matrix": [[0, 0], [0, 0]]}
    assert report["per_label"]["stay"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}


def test_multi_label_report_unknown_labels_ignored() -> None:
    report = multi_label_report([["phone", "fax"]], [["phone"]], ["phone", "chat"])
    assert report["micro_f1"] == 1.0 and report["exact_match"] == 1.0


def test_multi_label_report_all_empty() -> None:
    report = multi_label_report([[], []], [[], []], ["phone", "email"])
    # Undefined (no label in gold or predictions): reported as 0.0, and labels_scored says so.
    assert report["labels_scored"] == 0
    assert report["micro_f1"] == 0.0
    assert report["macro_f1"] == 0.0
    assert report["exact_match"] == 1.0
    assert all(row["support"] == 0 for row in report["per_label"].values())


def test_multi_label_report_single_label() -> None:
    report = multi_label_report([["phone"], []], [["phone"], ["phone"]], ["phone"])
    # phone: tp 1, fp 1, fn 0 -> P 1/2, R 1, F1 2/3 (the same as with a second, unused label)
    assert report["per_label"]["phone"] == pytest.approx({"precision": 0.5, "recall": 1.0, "f1": 2 / 3, "support": 1})
    assert report["micro_f1"] == pytest.approx(2 / 3)
    assert report["macro_f1"] == pytest.approx(2 / 3)


def test_expected_calibration_error() -> None:
    from feedback_nlp.train.metrics import expected_calibration_error

    # Perfectly calibrated: 80% confident and right 4 times in 5.
    assert expected_calibration_error([0.8] * 5, [True, True, True, True, False]) == pytest.approx(0.0)
    # Over-confident: 90% sure, always wrong.
    assert expected_calibration_error([0.9] * 4, [False] * 4) == pytest.approx(0.9)
    assert expected_calibration_error([], []) == 0.0
