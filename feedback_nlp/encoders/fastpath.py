"""PyTorch's fused transformer fast path for the BERT encoder: no work on padding tokens.

Hugging Face's ``BertModel`` pads every text of a pass to the longest one and runs each small
operation as its own Python call. For inference, the same weights fit PyTorch's own
:class:`torch.nn.TransformerEncoderLayer` (post-norm, GELU, fused QKV), whose inference fast
path runs each layer as one native call and can pack a ragged batch into a nested tensor, so
the linear layers and attention see only real tokens. Packing has its own cost (copies and one
softmax per text), so only passes that are mostly padding run nested; passes already grouped by
length run padded (see :data:`NESTED_BELOW_REAL_SHARE`). Measured figures: docs/performance.md.

Only the transformer layers move; the embeddings, mean pooling and L2 normalisation are the
model's own, so the vectors match the Hugging Face ones (cosine >= 0.9999 in float32). In
bfloat16 the layers run with bfloat16 weights (autocast would switch the fast path off).
"""

from __future__ import annotations

import warnings
from typing import Any, cast

import torch

#: A pass whose real tokens are fewer than this share of its padded size runs as a nested tensor
#: (no work on padding); denser passes run padded, which skips the nested tensors' packing and
#: per-text softmax. Passes grouped by length are nearly all real tokens; a small service call
#: mixes a text with its short segments.
NESTED_BELOW_REAL_SHARE = 0.75


class BertFastPath(torch.nn.Module):
    """Inference-only copy of a Hugging Face BERT encoder on PyTorch's fused layers.

    Args:
        bert: the ``BertModel`` (``SentenceTransformer[0].auto_model``) whose weights to copy.
        dtype: ``torch.float32`` or ``torch.bfloat16`` for the transformer layers.

    The copy does not follow later changes to ``bert``'s weights: build a new one after
    loading fine-tuned layers.
    """

    def __init__(self, bert: Any, dtype: torch.dtype = torch.float32) -> None:
        super().__init__()
        config = bert.config
        if getattr(config, "hidden_act", "gelu") != "gelu":
            raise ValueError(f"The fast path needs a GELU encoder, this one uses {config.hidden_act!r}")
        self.embeddings = bert.embeddings
        self.dtype = dtype
        fused = [_fused_layer(layer, config) for layer in bert.encoder.layer]
        self.layers = torch.nn.ModuleList(fused).to(dtype)  # in place: layers[i] is fused[i]
        #: (nested, padded) drivers of ``layers[start:]`` by ``start``, made on first use.
        self._drivers: dict[int, tuple[torch.nn.TransformerEncoder, torch.nn.TransformerEncoder]] = {}
        self.eval()

    @property
    def depth(self) -> int:
        """The number of transformer layers."""
        return len(self.layers)

    @torch.inference_mode()
    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Mean-pooled, L2-normalised sentence vectors (float32) for a padded batch."""
        return mean_pooled(self.token_states(input_ids, attention_mask, token_type_ids), attention_mask)

    @torch.inference_mode()
    def token_states(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: torch.Tensor | None = None
    ) -> torch.Tensor:
        """The final layer's token states (float32, padding rows zero or arbitrary) for a padded batch."""
        return self.run_layers(self.embed_tokens(input_ids, token_type_ids), attention_mask).float()

    @torch.inference_mode()
    def embed_tokens(self, input_ids: torch.Tensor, token_type_ids: torch.Tensor | None = None) -> torch.Tensor:
        """The embedding layer's output, in the layers' dtype: the first layer's input."""
        return self.embeddings(input_ids=input_ids, token_type_ids=token_type_ids).to(self.dtype)

    @torch.inference_mode()
    def run_layers(
        self, hidden: torch.Tensor, attention_mask: torch.Tensor, start: int = 0, stop: int | None = None
    ) -> torch.Tensor:
        """``hidden`` (padded, the layers' dtype) through ``layers[start:stop]``; padded out, same dtype.

        Slices let two encoders that share their lower layers run those once
        (:mod:`feedback_nlp.encoders.twin`).
        """
        nested, padded = self._driver(start, self.depth if stop is None else stop)
        real_share = float(attention_mask.sum()) / attention_mask.numel()
        if real_share == 1.0:
            return padded(hidden)  # no padding: nothing to mask
        if real_share >= NESTED_BELOW_REAL_SHARE:
            return padded(hidden, src_key_padding_mask=attention_mask == 0)
        with warnings.catch_warnings():
            # "The PyTorch API of nested tensors is in prototype stage": the fast path's
            # own internal use of them, nothing a caller can act on.
            warnings.filterwarnings("ignore", message=".*nested tensors is in prototype stage.*")
            return nested(hidden, src_key_padding_mask=attention_mask == 0)

    def _driver(self, start: int, stop: int) -> tuple[torch.nn.TransformerEncoder, torch.nn.TransformerEncoder]:
        """Two drivers over ``layers[start:stop]``: one packs a ragged pass into a nested tensor,
        the other runs it padded. TransformerEncoder wants one layer to clone; the real layers
        replace the clones."""
        key = start * 1000 + stop
        if key not in self._drivers:
            if not 0 <= start < stop <= self.depth:
                raise ValueError(f"A layer slice within 0..{self.depth} is expected, got {start}:{stop}")
            layers = torch.nn.ModuleList(self.layers[start:stop])
            pair = []
            for nested in (True, False):
                first = cast(torch.nn.TransformerEncoderLayer, layers[0])
                driver = torch.nn.TransformerEncoder(first, num_layers=len(layers), enable_nested_tensor=nested)
                driver.layers = layers
                pair.append(driver.eval())
            self._drivers[key] = (pair[0], pair[1])
        return self._drivers[key]


def mean_pooled(hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """Mean of each row's real token states, L2-normalised (float32), as sentence-transformers pools."""
    hidden = hidden.float()
    mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
    pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
    return torch.nn.functional.normalize(pooled, p=2, dim=1)


def _fused_layer(layer: Any, config: Any) -> torch.nn.TransformerEncoderLayer:
    """One ``BertLayer``'s weights in a :class:`torch.nn.TransformerEncoderLayer`."""
    fused = torch.nn.TransformerEncoderLayer(
        d_model=config.hidden_size,
        nhead=config.num_attention_heads,
        dim_feedforward=config.intermediate_size,
        dropout=0.0,
        activation="gelu",
        layer_norm_eps=config.layer_norm_eps,
        batch_first=True,
        norm_first=False,
    )
    attention = layer.attention.self
    with torch.no_grad():
        fused.self_attn.in_proj_weight.copy_(
            torch.cat([attention.query.weight, attention.key.weight, attention.value.weight])
        )
        fused.self_attn.in_proj_bias.copy_(torch.cat([attention.query.bias, attention.key.bias, attention.value.bias]))
        for target, source in (
            (fused.self_attn.out_proj, layer.attention.output.dense),
            (fused.norm1, layer.attention.output.LayerNorm),
            (fused.linear1, layer.intermediate.dense),
            (fused.linear2, layer.output.dense),
            (fused.norm2, layer.output.LayerNorm),
        ):
            target.weight.copy_(source.weight)
            target.bias.copy_(source.bias)
    return fused.eval()
