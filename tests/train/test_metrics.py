"""Metrics on tiny inputs, checked against numbers worked out by hand."""

from __future__ import annotations

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


def test_multi_label_report_unsupported_label_left_out_of_macro() -> None:
    # "chat" is never true: it is in per_label but not in the macro average.
    labels = ["phone", "chat"]
    report = multi_label_report([["phone"], []], [["phone"], ["chat"]], labels)
    assert report["macro_f1"] == pytest.approx(1.0)
    assert report["micro_f1"] == pytest.approx(2 / 3)  # tp 1, fp 1, fn 0
    assert report["per_label"]["chat"]["support"] == 0


def test_multi_label_report_unknown_labels_ignored() -> None:
    report = multi_label_report([["phone", "fax"]], [["phone"]], ["phone", "chat"])
    assert report["micro_f1"] == 1.0 and report["exact_match"] == 1.0


def test_multi_label_report_all_empty() -> None:
    report = multi_label_report([[], []], [[], []], ["phone", "email"])
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
