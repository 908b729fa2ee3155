"""The labelling round-trip: pick informative texts, export them to labelling tools, import labels.

See ``docs/labelling.md``."""

from feedback_nlp.labelling.import_formats import ImportResult, read_labels, validate_labels
from feedback_nlp.labelling.select import Selection, select_for_labelling, uncertainty

__all__ = ["ImportResult", "Selection", "read_labels", "select_for_labelling", "uncertainty", "validate_labels"]
