"""Multi-task fine-tuning of the encoder's top transformer layers.

Only the top ``layers`` layers learn; the rest stay as released. The bundle then ships
just those layers (a few MB in float16) and applies them over the packaged base model at
load time, so the base weights' hash check still holds.

The loss is the sum of three masked losses on one shared embedding: cross-entropy for
sentiment and journey stage, binary cross-entropy for touchpoints. A text whose label for
a task is unknown (``-1``, or NaN for a touchpoint) adds nothing to that task's loss.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from feedback_nlp.encoders.base import Encoder
from feedback_nlp.errors import ConfigError

logger = logging.getLogger(__name__)

_LAYER = re.compile(r"encoder\.layer\.(\d+)\.")


@dataclass
class MultiTaskTargets:
    """Integer targets (-1 = unknown) and a touchpoint matrix (NaN = unknown)."""

    sentiment: np.ndarray
    stage: np.ndarray
    touchpoints: np.ndarray


def first_fine_tuned_layer(layers_file: Path) -> int:
    """The lowest transformer layer a fine-tuned layers file (a bundle's ``encoder_layers.safetensors``)
    replaces: the layers below it, and the embeddings, are the released model's. 0 when the file
    replaces anything outside the transformer layers."""
    from safetensors import safe_open

    with safe_open(str(layers_file), framework="numpy") as weights:
        found = [_LAYER.match(name) for name in weights.keys()]  # noqa: SIM118 (safe_open is no dict)
    if not found or any(match is None for match in found):
        return 0
    return min(int(match.group(1)) for match in found if match is not None)


def trainable_names(auto_model: object, layers: int) -> list[str]:
    """Parameter names of the top ``layers`` transformer layers."""
    names = [name for name, _ in auto_model.named_parameters()]  # type: ignore[attr-defined]
    depth = 1 + max(int(m.group(1)) for n in names if (m := _LAYER.search(n)))
    top = {str(i) for i in range(depth - layers, depth)}
    return [n for n in names if (m := _LAYER.search(n)) and m.group(1) in top]


def finetune_top_layers(
    encoder: Encoder,
    texts: Sequence[str],
    targets: MultiTaskTargets,
    *,
    n_sentiment: int,
    n_stage: int,
    layers: int = 2,
    epochs: float = 1.0,
    batch_size: int = 32,
    learning_rate: float = 5e-5,
    seed: int = 42,
    device: str | None = None,
    progress: bool = True,
) -> dict[str, np.ndarray]:
    """Fine-tune ``encoder`` (a :class:`SentenceEncoder`) in place; return the changed weights.

    Returns:
        The trained parameters of the top layers, by their name in the transformer model.
    """
    import torch
    from torch import nn
    from tqdm.auto import tqdm

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = encoder.trainable_model()
    if model is None:
        raise ConfigError(f"Fine-tuning needs a trainable encoder (PyTorch), got {type(encoder).__name__}.")
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    model.to(device)
    auto_model = model[0].auto_model
    names = set(trainable_names(auto_model, layers))
    for name, param in auto_model.named_parameters():
        param.requires_grad = name in names
    dim = model.get_embedding_dimension()
    heads = nn.ModuleDict(
        {
            "sentiment": nn.Linear(dim, n_sentiment),
            "stage": nn.Linear(dim, n_stage),
            "touchpoints": nn.Linear(dim, targets.touchpoints.shape[1]),
        }
    ).to(device)
    # Embeddings are unit-length; a fixed scale gives the linear heads usable logits.
    scale = 20.0
    params = [p for p in auto_model.parameters() if p.requires_grad] + list(heads.parameters())
    optimiser = torch.optim.AdamW(params, lr=learning_rate, weight_decay=0.01)
    n_steps = max(1, math.ceil(epochs * len(texts) / batch_size))
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, max_lr=learning_rate, total_steps=n_steps, pct_start=0.1)
    y_sent = torch.as_tensor(targets.sentiment, dtype=torch.long)
    y_stage = torch.as_tensor(targets.stage, dtype=torch.long)
    y_tp = torch.as_tensor(targets.touchpoints, dtype=torch.float32)
    ce = nn.CrossEntropyLoss(ignore_index=-1)
    bce = nn.BCEWithLogitsLoss(reduction="none")
    model.train()
    order = np.concatenate([rng.permutation(len(texts)) for _ in range(math.ceil(epochs) or 1)])
    bar = tqdm(range(n_steps), desc="fine-tuning encoder", unit="batch", disable=not progress)
    for step in bar:
        idx = order[step * batch_size : (step + 1) * batch_size]
        if len(idx) == 0:
            break
        features = model.tokenize([texts[i] for i in idx])
        features = {k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in features.items()}
        emb = model(features)["sentence_embedding"] * scale
        loss = ce(heads["sentiment"](emb), y_sent[idx].to(device))
        loss = loss + ce(heads["stage"](emb), y_stage[idx].to(device))
        tp = y_tp[idx].to(device)
        known = ~torch.isnan(tp)
        if known.any():
            tp_loss = bce(heads["touchpoints"](emb), torch.nan_to_num(tp))
            loss = loss + (tp_loss * known).sum() / known.sum()
        if torch.isnan(loss):
            continue  # a batch with no known label for any task
        optimiser.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimiser.step()
        schedule.step()
        if step % 20 == 0:
            bar.set_postfix(loss=f"{loss.item():.3f}")
    model.eval()
    model.to("cpu")
    return {name: param.detach().cpu().numpy() for name, param in auto_model.named_parameters() if name in names}


def apply_layer_weights(encoder: Encoder, weights: dict[str, np.ndarray]) -> None:
    """Overwrite the encoder's transformer parameters named in ``weights``."""
    import torch

    model = encoder.trainable_model()
    if model is None:
        raise ConfigError(f"Fine-tuned layers need a trainable encoder (PyTorch), got {type(encoder).__name__}.")
    auto_model = model[0].auto_model
    params = dict(auto_model.named_parameters())
    unknown = sorted(set(weights) - set(params))
    if unknown:
        from feedback_nlp.errors import BundleError

        raise BundleError(
            f"The bundle's encoder layers name parameters the encoder does not have: {unknown[:3]}; "
            "the bundle was trained on a different encoder."
        )
    with torch.no_grad():
        for name, value in weights.items():
            if tuple(params[name].shape) != tuple(value.shape):
                from feedback_nlp.errors import BundleError

                raise BundleError(
                    f"Encoder parameter {name} has shape {tuple(params[name].shape)}, the bundle "
                    f"holds {tuple(value.shape)}; the bundle was trained on a different encoder."
                )
            params[name].copy_(torch.as_tensor(value, dtype=params[name].dtype))
