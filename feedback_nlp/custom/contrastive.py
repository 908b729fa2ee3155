"""SetFit-style contrastive fine-tuning of the encoder's top layers on a few labelled examples.

SetFit (Tunstall et al., 2022) turns N labelled texts into sentence pairs: two texts with the
same label should embed close together (cosine 1), two with different labels far apart
(cosine 0); a few passes over those pairs with a cosine-similarity loss adapt the encoder, and a
logistic regression is then fitted on the adapted embeddings.

Here each step draws a label-balanced batch of examples and scores *every* pair inside it
(all positive and all negative pairs), averaging the positive and the negative pairs'
squared errors separately so that the many negative pairs do not drown the few positive ones.
Only the top ``layers`` transformer layers learn, as for the shipped bundle
(:mod:`feedback_nlp.encoders.finetune`): backward passes stay short on a CPU, and the classifier
stores just those layers.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from feedback_nlp.encoders.base import Encoder
from feedback_nlp.encoders.finetune import trainable_names
from feedback_nlp.errors import ConfigError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ContrastiveOptions:
    """How long and how hard to fine-tune.

    Attributes:
        layers: top transformer layers that learn (MiniLM has six).
        steps: optimiser steps; each sees one label-balanced batch.
        batch_size: examples per batch (every pair among them is scored).
        learning_rate: AdamW learning rate.
    """

    layers: int = 3
    steps: int = 30
    batch_size: int = 32
    learning_rate: float = 3e-5

    def __post_init__(self) -> None:
        if not 1 <= self.layers <= 6:
            raise ConfigError(f"contrastive layers must be between 1 and 6, got {self.layers}")
        if self.steps < 1 or self.batch_size < 4 or self.learning_rate <= 0:
            raise ConfigError(
                "contrastive steps must be >= 1, batch_size >= 4 and learning_rate > 0; got "
                f"steps={self.steps}, batch_size={self.batch_size}, learning_rate={self.learning_rate}"
            )


def balanced_batch(y: np.ndarray, batch_size: int, rng: np.random.Generator) -> np.ndarray:
    """Positions of a batch with (up to) the same number of examples from each chosen label.

    Each chosen label gives at least two examples where it has them, so every batch holds
    positive pairs; with more labels than fit, a random subset of labels is chosen.
    """
    classes = np.unique(y)
    per_class = max(2, batch_size // len(classes))
    n_classes = min(len(classes), max(2, batch_size // per_class))
    chosen = rng.choice(classes, size=n_classes, replace=False)
    picked = []
    for label in chosen:
        members = np.flatnonzero(y == label)
        picked.append(rng.choice(members, size=min(per_class, len(members)), replace=False))
    return np.concatenate(picked)


def contrastive_finetune(
    encoder: Encoder,
    texts: Sequence[str],
    labels: Sequence[str],
    options: ContrastiveOptions | None = None,
    *,
    seed: int = 0,
) -> dict[str, np.ndarray]:
    """Fine-tune ``encoder`` (a :class:`~feedback_nlp.encoders.minilm.SentenceEncoder`) in place.

    Args:
        encoder: the encoder to adapt; pass a copy to keep the original.
        texts: the examples as the encoder sees them (redacted, normalised).
        labels: one label per text.
        options: steps, batch size, layers, learning rate.
        seed: seeds the batches and torch.

    Returns:
        The trained parameters of the top layers, by name in the transformer model.

    Raises:
        ConfigError: the encoder has no trainable model, or fewer than two labels have examples.
    """
    import torch

    options = options or ContrastiveOptions()
    model = encoder.trainable_model()
    if model is None:
        raise ConfigError(
            "Contrastive fine-tuning needs the MiniLM sentence encoder (a PyTorch encoder with a "
            f"trainable model), got {type(encoder).__name__}."
        )
    y = np.asarray(labels)
    if len(np.unique(y)) < 2:
        raise ConfigError("Contrastive fine-tuning needs examples of at least two labels.")
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    auto_model = model[0].auto_model
    names = set(trainable_names(auto_model, options.layers))
    for name, param in auto_model.named_parameters():
        param.requires_grad = name in names
    params = [p for p in auto_model.parameters() if p.requires_grad]
    optimiser = torch.optim.AdamW(params, lr=options.learning_rate, weight_decay=0.01)
    logger.info("Contrastive fine-tuning: %d examples, %d steps", len(texts), options.steps)
    model.train()
    try:
        for step in range(options.steps):
            batch = balanced_batch(y, options.batch_size, rng)
            loss = _pair_loss(model, [texts[i] for i in batch], y[batch])
            optimiser.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            optimiser.step()
            if step % 10 == 0 or step == options.steps - 1:
                logger.info("step %d/%d: pair loss %.4f", step + 1, options.steps, loss.item())
    finally:
        model.eval()
        for param in auto_model.parameters():
            param.requires_grad = True
    return {name: p.detach().cpu().numpy() for name, p in auto_model.named_parameters() if name in names}


def _pair_loss(model: object, texts: list[str], y: np.ndarray):  # noqa: ANN202 - a torch scalar
    import torch
    import torch.nn.functional as F  # noqa: N812

    # sentence-transformers 6 renamed tokenize() to preprocess(); the old name warns.
    prepare = getattr(model, "preprocess", None) or model.tokenize  # type: ignore[attr-defined]
    features = prepare(texts)
    embeddings = F.normalize(model(features)["sentence_embedding"], dim=1)  # type: ignore[operator]
    cosine = embeddings @ embeddings.T
    labels = torch.as_tensor(np.unique(y, return_inverse=True)[1])
    same = labels[:, None] == labels[None, :]
    off_diagonal = ~torch.eye(len(texts), dtype=torch.bool)
    positive = cosine[same & off_diagonal]
    negative = cosine[~same]
    loss = torch.zeros((), dtype=cosine.dtype)
    if positive.numel():
        loss = loss + ((1.0 - positive) ** 2).mean()
    if negative.numel():
        loss = loss + (negative**2).mean()
    return loss
