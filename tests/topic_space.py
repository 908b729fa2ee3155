"""The topic tests' shared fixture: fits run in the fake pipeline's embedding space.

Topic models here are fitted on the fake pipeline's embeddings (the ``pipeline`` space), so
every fit stays fast and offline; the base-MiniLM space has its own tests in tests/topics/test_space.py.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True, scope="module")
def _pipeline_topic_space() -> Iterator[None]:
    # Module scope: the module-scoped fits (fixtures) must see it too.
    before = os.environ.get("FEEDBACK_NLP_TOPIC_SPACE")
    os.environ["FEEDBACK_NLP_TOPIC_SPACE"] = "pipeline"
    yield
    if before is None:
        os.environ.pop("FEEDBACK_NLP_TOPIC_SPACE", None)
    else:
        os.environ["FEEDBACK_NLP_TOPIC_SPACE"] = before
