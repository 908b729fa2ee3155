"""Topic-space vectors in bfloat16 against float32: speed, closeness, and topic assignments.

The topic pass (base MiniLM, sentiment directions projected out) runs on the classifier's
backend. Where the CPU multiplies bfloat16 natively, the classifier runs in bfloat16; this
measures what running the topic pass in bfloat16 too would change:

- CPU seconds to embed ``--texts`` short texts (the topic-scale benchmark's mix) each way;
- the cosine between each text's two vectors (after the projection);
- a topic model fitted on the float32 vectors: the share of texts it assigns to the same topic
  from their bfloat16 vectors (a model fitted on one machine, used on another);
- a second model fitted on the bfloat16 vectors: NMI between the two fits' assignments, against
  the NMI between two float32 fits that differ only in their UMAP seed (what a refit costs anyway).

    python benchmarks/topic_precision.py --texts 3000
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    DEFAULT_OUT_DIR,
    command_line,
    cpu_seconds,
    load_average,
    machine_info,
    md_header,
    md_table,
    now_utc,
    publish,
)  # noqa: E402
from topic_scale import short_texts  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--texts", type=int, default=3000)
    parser.add_argument("--out-dir", type=Path, default=DEFAULT_OUT_DIR)
    args = parser.parse_args()

    from sklearn.metrics import normalized_mutual_info_score

    from feedback_nlp.encoders.backends import build_encoder, resolve_backend
    from feedback_nlp.encoders.minilm import cpu_has_bfloat16
    from feedback_nlp.settings import get_settings
    from feedback_nlp.text import encoder_input
    from feedback_nlp.topics.model import TopicConfig, TopicModel
    from feedback_nlp.topics.space import load_directions, project_out

    settings = get_settings()
    result: dict[str, object] = {
        "date": now_utc(),
        "command": command_line(),
        "machine": machine_info(),
        "load_average_start": load_average(),
    }
    if not cpu_has_bfloat16():
        result["skipped"] = "this CPU has no native bfloat16: the topic pass runs in float32 only"
        publish(
            "topic_precision", args.out_dir, result, lambda r: md_header("Topic vectors, bfloat16", r) + [r["skipped"]]
        )
        return
    backend = "torch" if resolve_backend(settings) == "torch" else "onnx"
    texts = [encoder_input(t) for t in short_texts(Path(settings.data_dir), args.texts)]
    directions, _ = load_directions()
    vectors, seconds, encoders = {}, {}, {}
    for precision in ("float32", "bfloat16"):
        encoder = build_encoder(
            settings.model_copy(update={"encoder_backend": backend, "quantize": False, "precision": precision})
        )
        encoders[precision] = encoder
        encoder.encode(texts[:64])  # warm-up: the fast path copies the weights on first use
        cpu0, wall0 = cpu_seconds(), time.perf_counter()
        vectors[precision] = project_out(encoder.encode(texts), directions)
        seconds[precision] = {"cpu_s": round(cpu_seconds() - cpu0, 1), "wall_s": round(time.perf_counter() - wall0, 1)}
    cosine = np.sum(vectors["float32"] * vectors["bfloat16"], axis=1)

    def fit(precision: str, seed: int) -> tuple[TopicModel, np.ndarray]:
        def embed(batch):  # type: ignore[no-untyped-def]
            return project_out(encoders[precision].encode(list(batch)), directions)

        model, assigned = TopicModel.fit(
            texts, vectors[precision], embed=embed, config=TopicConfig(min_topic_size=15, random_state=seed)
        )
        return model, np.array([a.topic for a in assigned])

    model32, fit32 = fit("float32", 42)
    same_model_bf16 = np.array([a.topic for a in model32.assign(vectors["bfloat16"])])
    same_model_f32 = np.array([a.topic for a in model32.assign(vectors["float32"])])
    _, fit_bf16 = fit("bfloat16", 42)
    _, fit32_other_seed = fit("float32", 43)
    result.update(
        {
            "texts": len(texts),
            "backend": backend,
            "seconds": seconds,
            "cosine": {
                "min": round(float(cosine.min()), 5),
                "p01": round(float(np.quantile(cosine, 0.01)), 5),
                "mean": round(float(cosine.mean()), 5),
            },
            "same_topic_share": round(float((same_model_bf16 == same_model_f32).mean()), 4),
            "topics": len(model32.topics),
            "nmi_float32_vs_bfloat16_fit": round(float(normalized_mutual_info_score(fit32, fit_bf16)), 4),
            "nmi_float32_seed42_vs_seed43": round(float(normalized_mutual_info_score(fit32, fit32_other_seed)), 4),
        }
    )

    def render(r: dict) -> list[str]:  # type: ignore[type-arg]
        md = md_header(f"Topic vectors in bfloat16 against float32 ({r['texts']:,} texts, {r['backend']})", r)
        md += md_table(
            ["precision", "CPU s", "wall s"],
            [[p, s["cpu_s"], s["wall_s"]] for p, s in r["seconds"].items()],
        )
        c = r["cosine"]
        md += [
            "",
            f"Cosine between a text's two vectors: min {c['min']}, 1st percentile {c['p01']}, mean {c['mean']}.",
            f"A model fitted on the float32 vectors ({r['topics']} topics) puts {r['same_topic_share']:.2%} of the "
            "texts in the same topic from their bfloat16 vectors.",
            f"NMI between a fit on float32 and a fit on bfloat16 vectors (same seed): "
            f"{r['nmi_float32_vs_bfloat16_fit']}; between two float32 fits with UMAP seeds 42 and 43: "
            f"{r['nmi_float32_seed42_vs_seed43']}.",
        ]
        return md

    publish("topic_precision", args.out_dir, result, render)


if __name__ == "__main__":
    main()
