"""The examples in docstrings are run, so they stay true (pytest does not collect them itself)."""

from __future__ import annotations

import doctest
import importlib

import pytest

#: Modules whose docstring examples document behaviour users rely on: dates, topic names.
MODULES = ["feedback_nlp.dates", "feedback_nlp.topics.naming", "feedback_nlp.topics.model"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_hold(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0, f"{name} has no examples to run"
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples in {name} failed (see above)"
