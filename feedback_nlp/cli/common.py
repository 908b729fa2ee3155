"""What several commands share: logging on stderr and the bundle to classify with."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from feedback_nlp.settings import get_settings


def setup_logging(verbose: bool) -> None:
    """Log lines on stderr (INFO when ``verbose``, else WARNING), library chatter kept out."""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # Library chatter (transformers, sentence-transformers) stays out of the user's way.
    for name in ("transformers", "sentence_transformers", "httpx", "huggingface_hub"):
        logging.getLogger(name).setLevel(logging.ERROR)


def live_bundle(model: Path | None) -> Path | None:
    """The bundle a command classifies with: ``--model``, else the registry's promoted model,
    else the ``model_dir`` setting (``None`` lets :func:`load_pipeline` use it)."""
    if model is not None:
        return model
    from feedback_nlp.model_registry import ModelRegistry, live_model

    settings = get_settings()
    live = live_model(ModelRegistry(settings.registry_dir), settings)
    if live is not None and live.source == "registry":
        logging.getLogger(__name__).info("Using the promoted model %s (%s)", live.ref, live.bundle)
        return live.bundle
    return None
