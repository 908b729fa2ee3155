"""Loading a pipeline from a model bundle, refusing bundles that do not match this code.

The one loader of the package: :func:`load_pipeline` (exported as ``feedback_nlp.load_pipeline``)
is :func:`load_bundle` plus the deployed topic model, wrapped in a
:class:`~feedback_nlp.lanes.ParallelPredictor` with the parallel lanes the settings ask for.
"""

from __future__ import annotations

import logging
from pathlib import Path

from feedback_nlp.encoders.backends import build_encoder, resolve_backend
from feedback_nlp.encoders.base import Encoder
from feedback_nlp.errors import BundleError
from feedback_nlp.heads.heads import TaskHeads
from feedback_nlp.lanes import ParallelPredictor, auto_lanes
from feedback_nlp.pipeline import FeedbackPipeline
from feedback_nlp.settings import Settings, get_settings
from feedback_nlp.storage.artifacts import BundleManifest
from feedback_nlp.taxonomy.labels import SENTIMENT_LABELS, Taxonomy
from feedback_nlp.topics.deploy import attach_deployed

logger = logging.getLogger(__name__)

ENCODER_LAYERS_FILE = "encoder_layers.safetensors"
TAXONOMY_FILE = "taxonomy.yaml"
CARD_FILE = "README.md"

#: Taxonomy versions this code knows how to serve.
SUPPORTED_TAXONOMY_VERSIONS = range(1, 100)


def _check_taxonomy(folder: Path, manifest: BundleManifest, settings: Settings) -> Taxonomy:
    taxonomy = Taxonomy.from_file(folder / TAXONOMY_FILE)
    expected = manifest.taxonomy
    if taxonomy.version not in SUPPORTED_TAXONOMY_VERSIONS or expected.version != taxonomy.version:
        raise BundleError(
            f"Bundle {folder} is for taxonomy version {expected.version!r} but holds "
            f"version {taxonomy.version}; retrain it."
        )
    if expected.fingerprint != taxonomy.fingerprint:
        raise BundleError(f"Bundle {folder}: taxonomy.yaml does not match the manifest's fingerprint.")
    if settings.taxonomy_path is not None:
        wanted = Taxonomy.from_file(settings.taxonomy_path)
        if wanted.fingerprint != taxonomy.fingerprint:
            raise BundleError(
                f"The configured taxonomy {settings.taxonomy_path} ({wanted.name} v{wanted.version}) "
                f"is not the one bundle {folder} was trained on ({taxonomy.name} v{taxonomy.version}). "
                "Train a bundle for it with `feedback-nlp train --set paths.taxonomy=...`, or unset "
                "FEEDBACK_NLP_TAXONOMY_PATH."
            )
    return taxonomy


def _check_labels(heads: TaskHeads, taxonomy: Taxonomy, folder: Path) -> None:
    checks = {
        "sentiment": (sorted(heads.sentiment.classes_), sorted(SENTIMENT_LABELS)),
        "journey_stage": (sorted(heads.stage.classes_), sorted(taxonomy.stage_labels)),
        "touchpoints": (list(heads.touchpoints.classes_), taxonomy.touchpoint_labels),
    }
    for task, (have, want) in checks.items():
        if list(have) != list(want):
            raise BundleError(
                f"Bundle {folder}: the {task} head predicts {list(have)} but the taxonomy has {list(want)}."
            )


def load_bundle(
    model_dir: str | Path | None = None,
    settings: Settings | None = None,
    *,
    encoder: Encoder | None = None,
) -> FeedbackPipeline:
    """Load and verify the bundle at ``model_dir``; return a ready :class:`FeedbackPipeline`.

    Args:
        model_dir: the bundle folder; the ``model_dir`` setting when None.
        settings: settings to use instead of the environment's.
        encoder: an already-loaded encoder (tests pass a fake); the configured one when None.

    Raises:
        BundleError: the bundle is missing, tampered with, or was built for another taxonomy
            or another encoder.
    """
    settings = settings or get_settings()
    folder = Path(model_dir) if model_dir is not None else settings.model_dir
    manifest = BundleManifest.read(folder)  # checks every file's sha256
    taxonomy = _check_taxonomy(folder, manifest, settings)
    heads = TaskHeads.load(folder)
    _check_labels(heads, taxonomy, folder)
    recorded = manifest.encoder.sha256
    expected_sha = settings.encoder_sha256 or None
    if expected_sha and recorded and recorded != expected_sha:
        raise BundleError(
            f"Bundle {folder} was trained on encoder weights {recorded[:12]}..., "
            f"but the configured encoder is {expected_sha[:12]}...; retrain the bundle."
        )
    version = manifest.ref
    if encoder is not None:
        if recorded and encoder.weights_sha256 != recorded:
            raise BundleError(
                f"Bundle {folder} was trained on encoder weights {recorded[:12]}..., but the encoder "
                f"passed in has {str(encoder.weights_sha256)[:12]}...; retrain the bundle."
            )
    else:
        layers_file = folder / ENCODER_LAYERS_FILE
        encoder = build_encoder(
            settings,
            layers_file=layers_file if layers_file.is_file() else None,
            # BundleManifest.read has just checked the file against this hash.
            layers_sha256=manifest.files.get(ENCODER_LAYERS_FILE),
            max_seq_length=manifest.encoder.max_seq_length or settings.max_seq_length,
        )
        logger.info(
            "Loaded bundle %s (%s), encoder backend %s, precision %s",
            folder,
            version,
            resolve_backend(settings),
            encoder.precision,
        )
    return FeedbackPipeline(
        encoder,
        heads,
        taxonomy,
        version=version,
        manifest=manifest.to_json(),
        segment_vectors=manifest.encoder.segment_vectors,
    )


def load_pipeline(
    model_dir: str | Path | None = None, *, topics: bool = True, lanes: int | None = None
) -> ParallelPredictor:
    """Load the pipeline from a bundle folder (the ``model_dir`` setting by default), ready to
    predict on parallel lanes.

    With ``topics``, a topic model deployed at the ``topic_model_dir`` setting is attached, so
    predictions carry topics; it must have been fitted on this bundle's embeddings.

    Args:
        model_dir: the bundle folder; the ``model_dir`` setting when None.
        topics: attach the deployed topic model, if one is deployed.
        lanes: threads a large ``predict`` call is split over (1: none); when None, the
            ``lanes`` setting, or when that is 0 one per encoder thread (:func:`auto_lanes`).

    Returns:
        The pipeline in a :class:`~feedback_nlp.lanes.ParallelPredictor`, which reads as the
        pipeline (``.taxonomy``, ``.embed``, ...); ``.pipeline`` is the pipeline itself.
    """
    settings = get_settings()
    pipeline = load_bundle(model_dir, settings)
    if topics:
        attach_deployed(pipeline)
    count = lanes if lanes is not None else settings.lanes or auto_lanes(pipeline.encoder)
    logger.info("Predicting on %d lane(s)", count)
    return ParallelPredictor(pipeline, count)
