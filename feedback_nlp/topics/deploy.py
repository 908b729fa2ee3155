"""The deployed topic model: where it lives, how it is attached to the pipeline."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

from feedback_nlp.errors import BundleError
from feedback_nlp.settings import get_settings
from feedback_nlp.storage.artifacts import atomic_dir
from feedback_nlp.topics.manifest import TopicManifest
from feedback_nlp.topics.model import MANIFEST, TopicModel
from feedback_nlp.topics.space import PIPELINE, topic_space

logger = logging.getLogger(__name__)


def deployed_dir() -> Path:
    """The folder the service and the commands read the deployed topic model from."""
    return get_settings().topic_model_dir


def is_deployed() -> bool:
    """Whether a topic model is deployed."""
    return (deployed_dir() / MANIFEST).is_file()


def load_for(pipeline, path: str | Path | None = None) -> TopicModel:
    """Load the topic model at ``path`` (the deployed one by default), checked against the
    fingerprint of the embedding space it was fitted in (``pipeline``'s encoder for old models)."""
    import json

    folder = Path(path or deployed_dir())
    try:
        name = TopicManifest.parse(json.loads((folder / MANIFEST).read_text(encoding="utf-8"))).space or PIPELINE
    except (OSError, ValueError, BundleError):
        name = PIPELINE  # TopicModel.load says what is wrong with the folder
    space = topic_space(pipeline, name)
    return TopicModel.load(folder, encoder=space.fingerprint, embed=space.embed)


def attach_deployed(pipeline) -> TopicModel | None:
    """Attach the deployed topic model to ``pipeline``, if one is deployed.

    Predictions then carry topics assigned in the model's own space: the model was loaded with
    that space's encoder (:func:`load_for`), and the pipeline hands it the texts
    (:meth:`~feedback_nlp.topics.model.TopicModel.assign_texts`), not only its classifier vectors.

    Raises:
        BundleError: a model is deployed but damaged or fitted on another encoder; the message
            says to refit it or remove it.
    """
    if not is_deployed():
        return None
    try:
        model = load_for(pipeline)
    except BundleError as exc:
        raise BundleError(
            f"{exc} (deployed topic model at {deployed_dir()}; remove that folder or set "
            "FEEDBACK_NLP_TOPIC_MODEL_DIR to run without topics)"
        ) from None
    pipeline.use_topics(model)
    logger.info("topic model %s attached (%d topics, %s space)", deployed_dir(), len(model.topics), model.space_name)
    return model


def deploy(source: str | Path) -> Path:
    """Copy the topic model at ``source`` to the deployed location, replacing the old one atomically.

    The model is loaded (and so verified) before anything is replaced.
    """
    source = Path(source)
    TopicModel.load(source)  # checks the files; raises BundleError
    target = deployed_dir()
    if source.resolve() == target.resolve():
        return target
    with atomic_dir(target) as staging:
        shutil.copytree(source, staging, dirs_exist_ok=True)
    return target
