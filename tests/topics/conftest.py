"""Topic models here are fitted in the fake pipeline's embedding space (``tests/topic_space.py``)."""

from tests.topic_space import _pipeline_topic_space  # noqa: F401  (an autouse fixture)
