"""The error tree. Every message says what was expected, what arrived and what to do."""

from __future__ import annotations


class FeedbackNLPError(Exception):
    """Base class of every error this package raises on purpose."""


class ConfigError(FeedbackNLPError):
    """A setting, config file or taxonomy file is invalid."""


class InputError(FeedbackNLPError):
    """A feedback record or input file cannot be read as feedback."""


class EncoderError(FeedbackNLPError):
    """The encoder is missing or its weights are not the expected ones."""


class BundleError(FeedbackNLPError):
    """A model bundle is missing, incomplete, tampered with or built for another taxonomy."""


class DataError(FeedbackNLPError):
    """A training dataset is missing or not in the expected shape."""


class ConflictError(FeedbackNLPError):
    """A write contradicts what is stored (same idempotency key, different content)."""
