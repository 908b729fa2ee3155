"""Two encoders that share their lower layers, run as one pass: the classifier's and a side encoder's.

The default bundle fine-tunes only MiniLM's top layers (the manifest's ``fine_tuned_layers``):
its embeddings and lower layers are the released model's, exactly the base MiniLM that the
topic space reads (:mod:`feedback_nlp.topics.space`). A topic report classifies every record
and then embeds it for topics, which ran those lower layers twice. Here they run once: the
classifier's pass stops after the shared layers, its own upper layers finish the classification,
and the side encoder's upper layers finish the topic vector from the same states.

Nothing is assumed: :func:`shared_lower_layers` compares the weights, and a pair that shares
no layer (another encoder, a bundle that fine-tuned every layer) runs as two passes, as before.
Measured cost and vectors: docs/topics.md, "Scale".
"""

from __future__ import annotations

from typing import Any

import torch

from feedback_nlp.encoders.fastpath import BertFastPath, mean_pooled


def shared_lower_layers(main: Any, side: Any) -> int:  # noqa: ANN401 (two Hugging Face BertModels)
    """How many leading transformer layers two BERT encoders have identical, embeddings included.

    0 when their embeddings (or shapes) differ: nothing can be shared. Equal to the depth when
    the two are the same model.
    """
    if not _same_weights(main.embeddings, side.embeddings):
        return 0
    shared = 0
    for a, b in zip(main.encoder.layer, side.encoder.layer, strict=False):
        if not _same_weights(a, b):
            break
        shared += 1
    return shared


def _same_weights(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    first, second = a.state_dict(), b.state_dict()
    return first.keys() == second.keys() and all(
        first[name].shape == second[name].shape and torch.equal(first[name], second[name]) for name in first
    )


class TwinTop:
    """The main encoder's pass with a side encoder's upper layers over the shared lower ones.

    Args:
        main: the main encoder's fast path (its token states are the pass's output).
        side: the side encoder's fast path, in the same dtype.
        shared: leading layers the two have identical (:func:`shared_lower_layers`), at least 1.

    Raises:
        ValueError: the dtypes or depths differ, or ``shared`` is out of range.
    """

    def __init__(self, main: BertFastPath, side: BertFastPath, shared: int) -> None:
        if main.dtype != side.dtype or main.depth != side.depth:
            raise ValueError(
                f"Two encoders of one dtype and depth are expected, got {main.dtype}/{main.depth} "
                f"and {side.dtype}/{side.depth}"
            )
        if not 1 <= shared <= main.depth:
            raise ValueError(f"Between 1 and {main.depth} shared layers are expected, got {shared}")
        self.main = main
        self.side = side
        self.shared = shared

    @torch.inference_mode()
    def token_states(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The main encoder's final token states (float32) and the side encoder's sentence
        vectors (mean-pooled, unit length, float32) for one padded batch."""
        lower = self.main.run_layers(self.main.embed_tokens(input_ids, token_type_ids), attention_mask, 0, self.shared)
        if self.shared == self.main.depth:  # the same model: the side's vectors are the main's
            states = lower.float()
            return states, mean_pooled(states, attention_mask)
        states = self.main.run_layers(lower, attention_mask, self.shared).float()
        side = self.side.run_layers(lower, attention_mask, self.shared)
        return states, mean_pooled(side, attention_mask)
