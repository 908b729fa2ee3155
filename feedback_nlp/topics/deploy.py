"""The deployed topic model: where it lives, how it is attached to the pipeline."""

from __future__ import annotations

import contextlib
import logging
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

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


#: How long a command waits for another one writing the same topic model (an update folding in a
#: large batch, a deploy) before it gives up and says so.
LOCK_TIMEOUT_S = 600.0


def lock_path(folder: str | Path) -> Path:
    """The lock file that guards the topic model at ``folder``: beside it, since the folder itself
    is replaced by every save (``atomic_dir``)."""
    folder = Path(folder).resolve()
    return folder.with_name(f".{folder.name}.lock")


@contextlib.contextmanager
def model_lock(*folders: str | Path, timeout: float | None = None) -> Iterator[None]:
    """Hold the exclusive locks of the topic models at ``folders`` while reading, updating and
    saving them, so two ``topics update`` runs (or an update and a deploy) never write over each
    other: the second waits, then reads the model the first wrote. Several folders (an update's
    source and its output) are locked in one order, so two commands never wait on each other.

    Raises:
        BundleError: another process held a lock for over ``timeout`` seconds (default
            :data:`LOCK_TIMEOUT_S`).
    """
    from filelock import FileLock, Timeout

    timeout = LOCK_TIMEOUT_S if timeout is None else timeout
    paths = sorted({lock_path(folder) for folder in folders})
    with contextlib.ExitStack() as held:
        for path in paths:
            path.parent.mkdir(parents=True, exist_ok=True)
            lock = FileLock(str(path), timeout=timeout)
            try:
                lock.acquire()
            except Timeout as exc:
                raise BundleError(
                    f"Expected to write the topic model at {path.parent / path.name[1:-5]}, but another "
                    f"feedback-nlp process has held its lock ({path}) for over {timeout:.0f} s; wait for that "
                    "command to finish and run this one again."
                ) from exc
            held.callback(lock.release)
        yield


def load_for(pipeline: Any, path: str | Path | None = None) -> TopicModel:
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


def attach_deployed(pipeline: Any) -> TopicModel | None:
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


def deploy(source: str | Path, pipeline: Any) -> Path:  # noqa: ANN401 (a Pipeline)
    """Copy the topic model at ``source`` to the deployed location, replacing the old one atomically.

    The model is loaded and verified against ``pipeline`` first, exactly as the service and
    ``classify`` will load it (:func:`load_for`: its files, its format and the fingerprint of the
    embedding space it was fitted in). A model fitted on another encoder or space is refused and
    the deployed model stays as it was: deployed, it would make every later command fail.

    Raises:
        BundleError: the model is damaged or does not fit ``pipeline``.
    """
    source = Path(source)
    target = deployed_dir()
    try:
        load_for(pipeline, source)
    except BundleError as exc:
        kept = f"the deployed model at {target} is unchanged" if is_deployed() else "nothing was deployed"
        raise BundleError(f"{exc} Not deployed: {kept}.") from None
    if source.resolve() == target.resolve():
        return target
    with model_lock(target), atomic_dir(target) as staging:
        shutil.copytree(source, staging, dirs_exist_ok=True)
    return target
