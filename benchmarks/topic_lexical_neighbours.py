"""Screen: UMAP's neighbour graph from the embedding's cosine mixed with tf-idf word cosine.

    python benchmarks/topic_lexical_neighbours.py [--n 1000] [--betas 0,0.5,1] [--corpus nhs_fft_themes ...]

The topic model finds each text's neighbours by the cosine of its embedding
(``feedback_nlp.topics.model.exact_cosine_neighbors``). Would shared words help themes? Here the
neighbours come from ``(cos(embedding) + beta * cos(tf-idf words)) / (1 + beta)`` instead (the
same stop words, placeholders and evaluative words as c-TF-IDF's left out), everything else as
the default fit: base MiniLM with the sentiment directions projected out, two UMAP seeds
(42, 43). ``beta`` 0 is the default. Reported per corpus: NMI against the themes and against
sentiment, the outlier share and the number of topics, on the corpora and samples of
``benchmarks/topic_quality.py``. Results: ``docs/topics.md`` ("Tried, not kept").
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import command_line, load_average, machine_info, md_header, md_table, now_utc, publish  # noqa: E402
from topic_quality import corpora  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CORPORA = ["nhs_fft_themes", "brand_tweet_industries", "banking77_test", "bitext_intents", "cfpb_products"]


@contextmanager
def lexical_neighbours(words: Any, beta: float) -> Iterator[None]:
    """Within the block, the topic model's neighbour search mixes in word cosine (``words``: the
    l2-normalised tf-idf rows of the texts being fitted, in order)."""
    import feedback_nlp.topics.model as topic_model

    exact = topic_model.exact_cosine_neighbors

    def mixed(embeddings: np.ndarray, k: int, *, block: int = 1024) -> tuple[np.ndarray, np.ndarray]:
        similarity = (embeddings @ embeddings.T + beta * (words @ words.T).toarray()) / (1 + beta)
        order = np.argsort(-similarity, axis=1)[:, :k]
        distance = np.clip(1 - np.take_along_axis(similarity, order, axis=1), 0, None)
        order[:, 0], distance[:, 0] = np.arange(len(embeddings)), 0.0  # each text first, as the default
        return order.astype(np.int64), distance.astype(np.float32)

    topic_model.exact_cosine_neighbors = mixed if beta else exact
    try:
        yield
    finally:
        topic_model.exact_cosine_neighbors = exact


def run(n: int, betas: list[float], names: list[str]) -> dict[str, Any]:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.metrics import normalized_mutual_info_score as nmi

    from feedback_nlp.pipeline import load_pipeline
    from feedback_nlp.settings import get_settings
    from feedback_nlp.text import encoder_input, redact
    from feedback_nlp.topics.model import VECTORIZER_STOP_WORDS, TopicConfig, TopicModel
    from feedback_nlp.topics.naming import representation_text
    from feedback_nlp.topics.space import BASE, BASE_NO_SENTIMENT, project_out, topic_space

    pipeline = load_pipeline(topics=False, lanes=1).pipeline
    data = corpora(Path(get_settings().data_dir), n)
    space, base = topic_space(pipeline, BASE_NO_SENTIMENT), topic_space(pipeline, BASE)
    rows: list[dict[str, Any]] = []
    for name in names:
        df = data[name]
        texts = [encoder_input(redact(t)) for t in df["text"]]
        X = project_out(base.embed(texts), space.directions)
        words = TfidfVectorizer(
            stop_words=list(VECTORIZER_STOP_WORDS),
            sublinear_tf=True,
            min_df=2,
            token_pattern=r"(?u)\b[a-zA-Z][a-zA-Z'-]+\b",
        ).fit_transform([representation_text(t) for t in texts])
        if df["sentiment"].notna().all():
            sentiment = df["sentiment"]
        else:  # the classifier's own, as topic_quality.py does
            X_pipeline = pipeline.sentiment_input(texts, pipeline.embed(texts))
            sentiment = pd.Series(pipeline.heads.sentiment.predict_proba(X_pipeline).argmax(1).astype(str))
        for beta in betas:
            runs = []
            with lexical_neighbours(words, beta):
                for seed in (42, 43):
                    started = time.perf_counter()
                    _, assignments = TopicModel.fit(
                        texts,
                        X,
                        embed=space.embed,
                        seeds=pipeline.taxonomy.topic_seeds,
                        config=TopicConfig(random_state=seed),
                    )
                    topics = np.array([a.topic for a in assignments])
                    runs.append(
                        {
                            "nmi": float(nmi(df["intent"], topics)),
                            "nmi_sentiment": float(nmi(sentiment, topics)),
                            "unassigned": float((topics == -1).mean()),
                            "topics": len(set(topics.tolist()) - {-1}),
                            "seconds": time.perf_counter() - started,
                        }
                    )
            row = {"corpus": name, "n": len(df), "beta": beta}
            row.update({k: round(float(np.mean([r[k] for r in runs])), 4) for k in runs[0]})
            row["nmi_runs"] = [round(r["nmi"], 4) for r in runs]
            rows.append(row)
            print(row, file=sys.stderr, flush=True)
    return {"rows": rows}


def render(result: dict[str, Any]) -> list[str]:
    lines = md_header("Topics: word cosine in the neighbour graph (screen)", result)
    lines += ["", "Two UMAP seeds each (42, 43); beta 0 is the default fit.", ""]
    lines += md_table(
        ["corpus", "n", "beta", "NMI themes (runs)", "NMI sentiment", "unassigned", "topics"],
        [
            [
                r["corpus"],
                r["n"],
                r["beta"],
                f"{r['nmi']} ({', '.join(map(str, r['nmi_runs']))})",
                r["nmi_sentiment"],
                r["unassigned"],
                r["topics"],
            ]
            for r in result["rows"]
        ],
    )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--betas", default="0,0.5,1")
    parser.add_argument("--corpus", action="append", help="only these corpora (repeatable)")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks")
    args = parser.parse_args()
    started = time.perf_counter()
    result: dict[str, Any] = {
        "date": now_utc(),
        "machine": machine_info(),
        "load_average_start": load_average(),
        "command": command_line(),
    }
    result.update(run(args.n, [float(b) for b in args.betas.split(",")], args.corpus or CORPORA))
    result["seconds"] = round(time.perf_counter() - started, 1)
    publish("topic_lexical_neighbours", args.out, result, render)


if __name__ == "__main__":
    main()
