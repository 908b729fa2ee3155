"""Does another clustering of the same vectors find the themes better? (issue 16)

On each theme-labelled corpus of ``topic_quality.py`` (same samples), the shipped fit
(``TopicModel.fit``: UMAP, HDBSCAN, outliers folded to 15%) is run with UMAP seeds 42 and 43; then,
with as many clusters as that fit found, so that the number of topics (which raises NMI by itself)
is the same:

- k-means on the same 5-d UMAP layout (same seed),
- Ward agglomerative clustering on that layout,
- k-means and Ward on the topic-space vectors themselves (centred, unit length).

Reports NMI against the people's themes for each. Every method sees the default topic space
(base MiniLM, sentiment directions projected out).

    python benchmarks/topic_clusterers.py [--n 1000]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    DEFAULT_OUT_DIR,
    command_line,
    load_average,
    machine_info,
    md_header,
    md_table,
    now_utc,
    publish,
)
from topic_quality import corpora  # noqa: E402

METHODS = ("shipped fit", "UMAP + k-means", "UMAP + Ward", "k-means", "Ward")


def run(n: int, seeds: tuple[int, ...]) -> dict[str, Any]:
    import umap
    from sklearn.cluster import AgglomerativeClustering, KMeans
    from sklearn.metrics import normalized_mutual_info_score as nmi

    from feedback_nlp.pipeline import load_pipeline
    from feedback_nlp.settings import get_settings
    from feedback_nlp.text import encoder_input, redact
    from feedback_nlp.topics.model import TopicConfig, TopicModel
    from feedback_nlp.topics.space import BASE_NO_SENTIMENT, topic_space

    pipeline = load_pipeline(topics=False)
    space = topic_space(pipeline, BASE_NO_SENTIMENT)
    rows = []
    for name, df in corpora(Path(get_settings().data_dir), n).items():
        texts = [encoder_input(redact(t)) for t in df["text"]]
        themes = df["intent"].astype(str).to_numpy()
        X = space.embed(texts)
        unit = X - X.mean(axis=0)
        unit /= np.linalg.norm(unit, axis=1, keepdims=True)
        for seed in seeds:
            _, assignments = TopicModel.fit(
                texts, X, embed=space.embed, seeds=pipeline.taxonomy.topic_seeds, config=TopicConfig(random_state=seed)
            )
            topics = np.array([a.topic for a in assignments])
            k = len(set(topics.tolist()) - {-1})
            layout = umap.UMAP(n_neighbors=15, n_components=5, metric="cosine", random_state=seed).fit_transform(unit)
            labels = {
                "shipped fit": topics,
                "UMAP + k-means": KMeans(k, n_init=5, random_state=seed).fit_predict(layout),
                "UMAP + Ward": AgglomerativeClustering(k, linkage="ward").fit_predict(layout),
                "k-means": KMeans(k, n_init=5, random_state=seed).fit_predict(unit),
                "Ward": AgglomerativeClustering(k, linkage="ward").fit_predict(unit),
            }
            row = {"corpus": name, "n": len(df), "seed": seed, "topics": k}
            row.update({method: round(float(nmi(themes, labels[method])), 3) for method in METHODS})
            print(row, flush=True)
            rows.append(row)
    return {"rows": rows}


def render(result: dict[str, Any]) -> list[str]:
    lines = md_header("Other clusterings of the same vectors, at the same number of topics", result)
    lines += [
        "NMI against the people's themes; every method has as many clusters as the shipped fit found",
        "with the same UMAP seed (unassigned texts count as one more cluster for the shipped fit).",
        "",
    ]
    lines += md_table(
        ["corpus", "n", "seed", "topics", *METHODS],
        [[r["corpus"], r["n"], r["seed"], r["topics"], *(r[m] for m in METHODS)] for r in result["rows"]],
    )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000, help="texts per corpus (CFPB at most 600)")
    parser.add_argument("--out-dir", type=Path, default=DEFAULT_OUT_DIR)
    args = parser.parse_args()
    result: dict[str, Any] = {
        "date": now_utc(),
        "command": command_line(),
        "machine": machine_info(),
        "load_average_start": load_average(),
    }
    result.update(run(args.n, (42, 43)))
    result["load_average_end"] = load_average()
    publish("topic_clusterers", args.out_dir, result, render)


if __name__ == "__main__":
    main()
