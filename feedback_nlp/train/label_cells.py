"""Label cells as labelled tables and gold sets write them, read the same way everywhere.

Shared by heads-only retraining (:mod:`feedback_nlp.train.retrain`) and gold-set evaluation
(:mod:`feedback_nlp.train.evaluate`), so a file that one of them reads means the same to the other.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

#: The label columns of a labelled table or gold set, in head order.
LABEL_COLUMNS = ("sentiment", "journey_stage", "touchpoints")
#: A touchpoints cell meaning "not labelled" (an empty cell means "no touchpoint applies").
TOUCHPOINTS_UNKNOWN = "?"
#: What may separate the touchpoints of a cell given as one string ("billing;phone").
SEPARATORS = (";", "|", ",")


def is_missing(value: Any) -> bool:  # noqa: ANN401 (any cell)
    """Whether a cell holds nothing: None or a NaN (a list, even an empty one, holds something).

    >>> is_missing(None), is_missing(float("nan")), is_missing([]), is_missing("")
    (True, True, False, False)
    """
    return value is None or (not isinstance(value, list | tuple | np.ndarray) and bool(pd.isna(value)))


def touchpoint_cell(value: Any) -> list[str] | None:  # noqa: ANN401 (any cell)
    """A touchpoints cell as a sorted list of labels; None where unknown (null, NaN or ``?``).

    A list (JSONL, Parquet) is taken as it is; a string is a JSON list or labels separated by
    ``;``, ``|`` or ``,``; an empty string means no touchpoint applies.

    >>> touchpoint_cell("phone; billing"), touchpoint_cell(""), touchpoint_cell("?")
    (['billing', 'phone'], [], None)
    """
    if isinstance(value, list | tuple | np.ndarray):
        return sorted({str(v).strip() for v in value if str(v).strip()})
    if is_missing(value):
        return None
    text = str(value).strip()
    if text == TOUCHPOINTS_UNKNOWN:
        return None
    if text.startswith("["):
        try:
            return touchpoint_cell(json.loads(text))
        except json.JSONDecodeError:
            pass
    for separator in SEPARATORS:
        text = text.replace(separator, ";")
    return sorted({part.strip() for part in text.split(";") if part.strip()})


def case_hint(value: str, allowed: Sequence[str]) -> str:
    """`` (labels are case-sensitive: did you mean 'negative'?)`` when ``value`` is an allowed label
    in another case or with spaces around it; empty otherwise.

    >>> case_hint("Negative ", ["negative", "positive"])
    " (labels are case-sensitive and have no spaces around them: did you mean 'negative'?)"
    >>> case_hint("awful", ["negative", "positive"])
    ''
    """
    wanted = value.strip().lower()
    for label in allowed:
        if label.lower() == wanted:
            return f" (labels are case-sensitive and have no spaces around them: did you mean {label!r}?)"
    return ""
