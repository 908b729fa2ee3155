"""Custom taxonomies: a classifier from label descriptions (zero-shot) or from a few examples.

```python
from feedback_nlp.custom import fit_custom_taxonomy, load_custom_classifier

classifier = fit_custom_taxonomy("hotel.yaml")                        # zero-shot
classifier = fit_custom_taxonomy("hotel.yaml", "labelled.csv")         # few-shot
classifier.predict("the wifi in room 12 keeps dropping")               # -> "problem"
classifier.save("models/hotel")
same = load_custom_classifier("models/hotel")
```

- **Zero-shot** (no examples): cosine similarity to each label's description, with a fixed
  temperature and per-label centring (:mod:`feedback_nlp.custom.zeroshot`).
- **Few-shot**: a softmax regression (:class:`~feedback_nlp.heads.linear.SoftmaxHead`) on the
  encoder's embeddings of the examples, with each label's description as one more example, and a
  temperature fitted on cross-validated predictions when every label has three examples or more.
- **Contrastive** (optional): SetFit-style fine-tuning of the encoder's top layers on pairs of
  examples first (:mod:`feedback_nlp.custom.contrastive`); the tuned layers are saved with the
  classifier.

A saved classifier is a folder written atomically: ``manifest.json`` (labels, method, encoder
hash, example counts, file hashes), ``head.safetensors``, ``taxonomy.yaml`` and, after
contrastive fine-tuning, ``encoder_layers.safetensors``. Nothing is pickled.
"""

from __future__ import annotations

import copy
import logging
import platform
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any, ClassVar, Final, Literal, overload

import numpy as np
from pydantic import Field
from safetensors.numpy import load_file, save_file

from feedback_nlp.custom.contrastive import ContrastiveOptions, contrastive_finetune
from feedback_nlp.custom.spec import LabelledText, TaxonomySpec, check_labels, load_spec, read_examples
from feedback_nlp.custom.zeroshot import ZERO_SHOT_TEMPERATURE, label_centres, prototype_texts
from feedback_nlp.encoders.base import Encoder
from feedback_nlp.errors import BundleError, ConfigError
from feedback_nlp.heads.linear import SoftmaxHead
from feedback_nlp.settings import Settings, get_settings
from feedback_nlp.storage.artifacts import EncoderInfo, Manifest, TaxonomyRef
from feedback_nlp.text import prepare_texts

logger = logging.getLogger(__name__)

MANIFEST_KIND: Final = "custom-classifier"
HEAD_FILE = "head.safetensors"
LAYERS_FILE = "encoder_layers.safetensors"
SPEC_FILE = "taxonomy.yaml"


class ClassifierManifest(Manifest):
    """The ``manifest.json`` of a saved custom classifier (unknown keys are kept as they are)."""

    artifact: ClassVar[str] = "a custom classifier"
    remedy: ClassVar[str] = "Fit one with `feedback-nlp taxonomy fit SPEC.yaml -o DIR`."

    kind: Literal["custom-classifier"] = MANIFEST_KIND
    name: str
    version: str
    created_at: str | None = None
    taxonomy: TaxonomyRef
    labels: list[str]
    method: str
    temperature: float
    kind_normalisation: str = "survey"
    examples: dict[str, int] = Field(default_factory=dict)
    reference_texts: int = 0
    encoder: EncoderInfo = Field(default_factory=EncoderInfo)
    packages: dict[str, str] = Field(default_factory=dict)

    @classmethod
    def _check_kind(cls, folder: Path, data: dict[str, Any]) -> None:
        if data.get("kind") != MANIFEST_KIND:
            raise BundleError(
                f"{folder} is a {data.get('kind', 'pipeline')!r} bundle, not a custom classifier. {cls.remedy}"
            )

    def to_json(self) -> dict[str, Any]:
        return {**super().to_json(), "kind": self.kind}


ZERO_SHOT = "zero-shot"
FEW_SHOT = "few-shot"
CONTRASTIVE = "few-shot+contrastive"


@dataclass(frozen=True)
class FitOptions:
    """How a custom classifier is fitted.

    Attributes:
        C: inverse L2 strength of the few-shot softmax regression.
        description_weight: weight of each label's description as an extra example
            (0 leaves descriptions out of few-shot fits).
        calibrate: fit a temperature on cross-validated predictions (needs >= 3 examples a label).
        contrastive: fine-tune the encoder on example pairs first; None skips it.
        kind: how texts are normalised before encoding (``survey``, ``review``, ``social``,
            ``transcript``), as the main pipeline does.
        seed: seeds the fits.
    """

    C: float = 10.0
    description_weight: float = 1.0
    calibrate: bool = True
    contrastive: ContrastiveOptions | None = None
    kind: str = "survey"
    seed: int = 0

    def __post_init__(self) -> None:
        if self.C <= 0 or self.description_weight < 0:
            raise ConfigError(
                f"C must be > 0 and description_weight >= 0, got C={self.C}, "
                f"description_weight={self.description_weight}"
            )


@dataclass
class FitReport:
    """What a fit used: method, examples per label, temperature."""

    method: str
    examples: dict[str, int] = field(default_factory=dict)
    temperature: float = 1.0
    reference_texts: int = 0


def model_inputs(texts: Sequence[str], kind: str = "survey") -> list[str]:
    """Texts as the encoder sees them: the pipeline's own preparation (:func:`prepare_texts`)."""
    return prepare_texts(texts, [kind] * len(texts))


class CustomClassifier:
    """A single-label classifier for a custom taxonomy, over the sentence encoder.

    Probability columns follow :attr:`labels`, the spec's label order.

    Args:
        spec: the taxonomy.
        head: a fitted softmax head whose ``classes_`` are the spec's labels in spec order.
        encoder: the encoder the head was fitted on.
        report: how it was fitted.
        layer_weights: fine-tuned top-layer weights already applied to ``encoder`` (contrastive).
        kind: normalisation kind for input texts.

    Examples:
        >>> classifier = fit_custom_taxonomy(spec, examples, encoder=encoder)
        >>> classifier.predict("wifi is broken again")
        'problem'
        >>> classifier.predict_proba(["wifi is broken again"]).shape
        (1, 5)
    """

    def __init__(
        self,
        spec: TaxonomySpec,
        head: SoftmaxHead,
        encoder: Encoder,
        report: FitReport,
        *,
        layer_weights: dict[str, np.ndarray] | None = None,
        kind: str = "survey",
        manifest: ClassifierManifest | None = None,
    ) -> None:
        if list(head.classes_) != spec.label_names:
            raise ConfigError(f"head classes {list(head.classes_)} do not match the spec's labels {spec.label_names}")
        self.spec = spec
        self.head = head
        self.encoder = encoder
        self.report = report
        self.layer_weights = layer_weights
        self.kind = kind
        self.manifest = manifest  # None until saved or loaded

    @property
    def labels(self) -> list[str]:
        """The labels, in probability-column order."""
        return self.spec.label_names

    @property
    def method(self) -> str:
        """``zero-shot``, ``few-shot`` or ``few-shot+contrastive``."""
        return self.report.method

    @property
    def version(self) -> str:
        """``name:version`` once saved or loaded, else ``name:unsaved``."""
        return f"{self.spec.name}:{self.manifest.version if self.manifest else 'unsaved'}"

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Embeddings of raw texts (redacted and normalised first)."""
        return np.asarray(self.encoder.encode(model_inputs(texts, self.kind)), dtype=np.float32)

    def proba_from_embeddings(self, X: np.ndarray) -> np.ndarray:
        """Probabilities for already-computed embeddings; shape (n, n_labels)."""
        return self.head.predict_proba(np.asarray(X, dtype=np.float32))

    @overload
    def predict_proba(self, texts: str) -> np.ndarray: ...
    @overload
    def predict_proba(self, texts: Sequence[str]) -> np.ndarray: ...

    def predict_proba(self, texts: str | Sequence[str]) -> np.ndarray:
        """Probabilities: shape (n_labels,) for one text, (n, n_labels) for a list."""
        if isinstance(texts, str):
            return self.predict_proba([texts])[0]
        if not texts:
            return np.zeros((0, len(self.labels)), dtype=np.float32)
        return self.proba_from_embeddings(self.embed(texts))

    @overload
    def predict(self, texts: str) -> str: ...  # type: ignore[overload-overlap]  # a str is a Sequence[str] to mypy
    @overload
    def predict(self, texts: Sequence[str]) -> list[str]: ...

    def predict(self, texts: str | Sequence[str]) -> str | list[str]:
        """The most probable label: one string for one text, a list for a list."""
        if isinstance(texts, str):
            return self.predict([texts])[0]
        proba = self.predict_proba(texts)
        return [self.labels[int(i)] for i in proba.argmax(axis=1)] if len(proba) else []

    def save(self, folder: str | Path) -> Path:
        """Write the classifier to ``folder`` atomically (an existing one there is replaced)."""
        from feedback_nlp.storage.bundle import new_bundle

        target = Path(folder)
        version = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        manifest = self._manifest(version)
        with new_bundle(target) as staging:
            save_file(
                {
                    "coef": np.ascontiguousarray(self.head.coef_, dtype=np.float32),
                    "intercept": np.ascontiguousarray(self.head.intercept_, dtype=np.float32),
                },
                str(staging / HEAD_FILE),
            )
            if self.layer_weights:
                save_file(
                    {k: np.ascontiguousarray(v, dtype=np.float16) for k, v in self.layer_weights.items()},
                    str(staging / LAYERS_FILE),
                )
            (staging / SPEC_FILE).write_text(self.spec.to_yaml(), encoding="utf-8")
            manifest.write(staging)
        self.manifest = ClassifierManifest.read(target, verify=False)  # with the file hashes
        logger.info("Wrote custom classifier %s to %s", self.spec.name, target)
        return target

    def _manifest(self, version: str) -> ClassifierManifest:
        return ClassifierManifest(
            kind=MANIFEST_KIND,
            name=self.spec.name,
            version=version,
            created_at=datetime.now(UTC).isoformat(timespec="seconds"),
            taxonomy=TaxonomyRef(name=self.spec.name, version=self.spec.version, fingerprint=self.spec.fingerprint),
            labels=self.labels,
            method=self.method,
            temperature=float(self.head.temperature_),
            kind_normalisation=self.kind,
            examples=self.report.examples,
            reference_texts=self.report.reference_texts,
            encoder=EncoderInfo(
                location=self.encoder.location,
                sha256=self.encoder.weights_sha256,
                max_seq_length=self.encoder.max_seq_length,
                fine_tuned_layers=sorted({_layer_of(k) for k in self.layer_weights}) if self.layer_weights else [],
            ),
            packages=_package_versions(),
        )


def _layer_of(name: str) -> int:
    match = re.search(r"encoder\.layer\.(\d+)\.", name)
    return int(match.group(1)) if match else -1


def _package_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in ("feedback-nlp", "torch", "sentence-transformers", "scikit-learn", "numpy"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


# --------------------------------------------------------------------------------------- fitting


def default_encoder(settings: Settings | None = None) -> Encoder:
    """The configured sentence encoder (base all-MiniLM-L6-v2, hash-checked), shared per process."""
    from feedback_nlp.encoders.minilm import load_encoder

    settings = settings or get_settings()
    encoder = load_encoder(
        settings.encoder,
        settings.encoder_sha256 or None,
        settings.max_seq_length,
        settings.pass_size(),
        settings.num_threads,
    )
    encoder.set_precision(settings.precision)
    return encoder


def fit_custom_taxonomy(
    spec: TaxonomySpec | str | Path,
    examples: Sequence[LabelledText] | str | Path | None = None,
    *,
    encoder: Encoder | None = None,
    options: FitOptions | None = None,
    unlabelled: Sequence[str] | None = None,
) -> CustomClassifier:
    """Fit a classifier for ``spec``: zero-shot without examples, few-shot with them.

    Args:
        spec: the taxonomy, or the path of its YAML file.
        examples: labelled examples (or a CSV/JSONL/Parquet path with ``text`` and ``label``
            columns); the spec's inline examples are always added. None and no inline
            examples: zero-shot.
        encoder: the sentence encoder (default: the configured MiniLM). Contrastive fitting
            works on a copy, so the encoder passed in is never changed.
        options: see :class:`FitOptions`.
        unlabelled: texts of the task without labels; zero-shot centres each label's
            similarity over them (their labels are never needed or read).

    Returns:
        The fitted classifier.

    Raises:
        ConfigError: the spec is invalid, or contrastive fitting was asked without examples.
        InputError: an example's label is not in the spec.
    """
    options = options or FitOptions()
    spec = spec if isinstance(spec, TaxonomySpec) else load_spec(spec)
    labelled = _gather_examples(spec, examples)
    encoder = encoder or default_encoder()
    if not labelled:
        if options.contrastive is not None:
            raise ConfigError("Contrastive fine-tuning needs labelled examples; give --examples or inline examples.")
        return _fit_zero_shot(spec, encoder, options, unlabelled)
    return _fit_few_shot(spec, labelled, encoder, options)


def _gather_examples(spec: TaxonomySpec, examples: Sequence[LabelledText] | str | Path | None) -> list[LabelledText]:
    given: list[LabelledText] = []
    if isinstance(examples, (str, Path)):
        given = read_examples(examples, spec)
    elif examples is not None:
        given = check_labels(list(examples), spec, "examples")
    return spec.inline_examples() + given


def _fit_zero_shot(
    spec: TaxonomySpec, encoder: Encoder, options: FitOptions, unlabelled: Sequence[str] | None
) -> CustomClassifier:
    names = spec.label_names
    prototypes = _prototypes(spec, encoder, options.kind)
    reference = None
    if unlabelled:
        reference = np.asarray(encoder.encode(model_inputs(list(unlabelled), options.kind)), dtype=np.float32)
    head = SoftmaxHead()
    head.classes_ = np.asarray(names)
    head.coef_ = prototypes
    head.intercept_ = -label_centres(prototypes, reference)
    head.temperature_ = ZERO_SHOT_TEMPERATURE
    report = FitReport(
        ZERO_SHOT, {name: 0 for name in names}, ZERO_SHOT_TEMPERATURE, 0 if reference is None else len(reference)
    )
    logger.info(
        "Zero-shot classifier for %s (%d labels, %d reference texts)", spec.name, len(names), report.reference_texts
    )
    return CustomClassifier(spec, head, encoder, report, kind=options.kind)


def _prototypes(spec: TaxonomySpec, encoder: Encoder, kind: str) -> np.ndarray:
    names = spec.label_names
    texts = prototype_texts(names, [spec.labels[n].description for n in names])
    return np.asarray(encoder.encode(model_inputs(texts, kind)), dtype=np.float32)


def _fit_few_shot(
    spec: TaxonomySpec, labelled: list[LabelledText], encoder: Encoder, options: FitOptions
) -> CustomClassifier:
    names = spec.label_names
    counts = Counter(e.label for e in labelled)
    inputs = model_inputs([e.text for e in labelled], options.kind)
    y = np.asarray([e.label for e in labelled])
    layer_weights = None
    method = FEW_SHOT
    if options.contrastive is not None:
        encoder = copy.deepcopy(encoder)  # the caller's encoder stays as it was
        weights = contrastive_finetune(encoder, inputs, y.tolist(), options.contrastive, seed=options.seed)
        # The classifier stores float16 layers; fit the head on exactly what will be loaded.
        layer_weights = {k: v.astype(np.float16) for k, v in weights.items()}
        from feedback_nlp.encoders.finetune import apply_layer_weights

        apply_layer_weights(encoder, layer_weights)
        method = CONTRASTIVE
    X = np.asarray(encoder.encode(inputs), dtype=np.float32)
    X_desc = _prototypes(spec, encoder, options.kind) if options.description_weight > 0 else None
    head = _fit_head(X, y, X_desc, names, options)
    missing = [n for n in names if counts.get(n, 0) == 0]
    if missing and X_desc is None:
        logger.warning("labels %s have no example and descriptions are off: they will never be predicted", missing)
    if options.calibrate and min(counts.get(n, 0) for n in names) >= 3:
        head.temperature_ = _cv_temperature(X, y, X_desc, names, options)
    report = FitReport(method, {n: int(counts.get(n, 0)) for n in names}, float(head.temperature_))
    logger.info(
        "%s classifier for %s: %d examples, temperature %.2f", method, spec.name, len(labelled), head.temperature_
    )
    return CustomClassifier(spec, head, encoder, report, layer_weights=layer_weights, kind=options.kind)


def _fit_head(
    X: np.ndarray, y: np.ndarray, X_desc: np.ndarray | None, names: list[str], options: FitOptions
) -> SoftmaxHead:
    """Softmax regression on the examples (plus descriptions), columns in spec order."""
    weights = np.ones(len(y), dtype=np.float64)
    if X_desc is not None:
        X = np.vstack([X, X_desc])
        y = np.concatenate([y, np.asarray(names)])
        weights = np.concatenate([weights, np.full(len(names), options.description_weight)])
    head = SoftmaxHead(C=options.C, class_weight="balanced", random_state=options.seed)
    if len(np.unique(y)) < 2:
        raise ConfigError(
            f"Few-shot fitting needs examples of at least two labels; got only {np.unique(y).tolist()}. "
            "Add examples or keep descriptions on."
        )
    head.fit(X, y.tolist(), sample_weight=weights, classes=names)
    order = [int(np.flatnonzero(head.classes_ == name)[0]) for name in names]
    head.classes_ = np.asarray(names)
    head.coef_ = np.ascontiguousarray(head.coef_[order])
    head.intercept_ = np.ascontiguousarray(head.intercept_[order])
    return head


def _cv_temperature(
    X: np.ndarray, y: np.ndarray, X_desc: np.ndarray | None, names: list[str], options: FitOptions
) -> float:
    """Temperature minimising the log-loss of out-of-fold predictions (stratified k-fold)."""
    from scipy.special import log_softmax
    from sklearn.model_selection import StratifiedKFold

    counts = Counter(y.tolist())
    folds = StratifiedKFold(n_splits=min(5, min(counts.values())), shuffle=True, random_state=options.seed)
    logits = np.zeros((len(y), len(names)), dtype=np.float64)
    for train, held in folds.split(X, y):
        head = _fit_head(X[train], y[train], X_desc, names, options)
        logits[held] = head.decision_function(X[held])
    index = {name: j for j, name in enumerate(names)}
    truth = np.array([index[label] for label in y])
    grid = np.exp(np.linspace(np.log(0.05), np.log(20.0), 80))
    losses = [-log_softmax(logits / t, axis=1)[np.arange(len(truth)), truth].mean() for t in grid]
    return float(grid[int(np.argmin(losses))])


# --------------------------------------------------------------------------------------- loading


def load_custom_classifier(
    folder: str | Path, *, encoder: Encoder | None = None, settings: Settings | None = None
) -> CustomClassifier:
    """Load a classifier written by :meth:`CustomClassifier.save`, checking every file's hash.

    Args:
        folder: the classifier folder.
        encoder: an encoder to use instead of the configured one (its weights' hash must match
            the one the classifier was fitted on, when both are known).
        settings: settings to use instead of the environment's.

    Raises:
        BundleError: the folder is not a custom classifier, a file is missing or changed, or
            the encoder differs from the one it was fitted on.
    """
    from feedback_nlp.encoders.finetune import apply_layer_weights

    folder = Path(folder)
    manifest = ClassifierManifest.read(folder)  # checks every file's sha256
    spec = load_spec(folder / SPEC_FILE)
    if spec.fingerprint != manifest.taxonomy.fingerprint:
        raise BundleError(f"{folder}: taxonomy.yaml does not match the manifest's fingerprint.")
    tensors = load_file(str(folder / HEAD_FILE))
    head = SoftmaxHead()
    head.classes_ = np.asarray(manifest.labels)
    head.coef_ = tensors["coef"]
    head.intercept_ = tensors["intercept"]
    head.temperature_ = manifest.temperature
    layers_path = folder / LAYERS_FILE
    layer_weights = load_file(str(layers_path)) if layers_path.is_file() else None
    encoder = _encoder_for(manifest, encoder, settings, fresh=layer_weights is not None)
    if layer_weights:
        apply_layer_weights(encoder, layer_weights)
    report = FitReport(manifest.method, dict(manifest.examples), head.temperature_, manifest.reference_texts)
    return CustomClassifier(
        spec, head, encoder, report, layer_weights=layer_weights, kind=manifest.kind_normalisation, manifest=manifest
    )


def _encoder_for(
    manifest: ClassifierManifest, encoder: Encoder | None, settings: Settings | None, *, fresh: bool
) -> Encoder:
    """The encoder to load onto: the one given, or the configured one; a private copy when layers will change it."""
    if encoder is not None:
        chosen = copy.deepcopy(encoder) if fresh else encoder
    elif not fresh:
        chosen = default_encoder(settings)
    else:
        from feedback_nlp.encoders.minilm import SentenceEncoder

        settings = settings or get_settings()
        max_len = manifest.encoder.max_seq_length or settings.max_seq_length
        sentence_encoder = SentenceEncoder(
            settings.encoder,
            expected_sha256=settings.encoder_sha256 or None,
            max_seq_length=int(max_len),
            batch_size=settings.pass_size(),
            num_threads=settings.num_threads,
        )
        sentence_encoder.set_precision(settings.precision)
        chosen = sentence_encoder
    recorded = manifest.encoder.sha256
    have = chosen.weights_sha256
    if recorded and have and have != recorded:
        raise BundleError(
            f"This classifier was fitted on encoder weights {recorded[:12]}..., but the encoder here has "
            f"{have[:12]}...; refit the classifier with this encoder (or configure the one it was fitted on)."
        )
    return chosen


def fit_summary(classifier: CustomClassifier) -> dict[str, Any]:
    """A JSON-able summary of how a classifier was fitted (for the CLI)."""
    return {"name": classifier.spec.name, "labels": classifier.labels, **asdict(classifier.report)}
