"""Custom taxonomies: zero-shot from label descriptions, few-shot from examples (optionally with
SetFit-style contrastive fine-tuning). See ``docs/custom_taxonomy.md``."""

from feedback_nlp.custom.classifier import (
    CustomClassifier,
    FitOptions,
    fit_custom_taxonomy,
    load_custom_classifier,
)
from feedback_nlp.custom.contrastive import ContrastiveOptions
from feedback_nlp.custom.spec import LabelledText, LabelSpec, TaxonomySpec, load_spec, read_examples

__all__ = [
    "ContrastiveOptions",
    "CustomClassifier",
    "FitOptions",
    "LabelSpec",
    "LabelledText",
    "TaxonomySpec",
    "fit_custom_taxonomy",
    "load_custom_classifier",
    "load_spec",
    "read_examples",
]
