"""Topic quality against known intents: this pipeline vs BERTopic's defaults vs LDA.

On corpora whose texts carry a true intent (BANKING77 test set: 77 intents; Bitext customer
support: 27 intents; CFPB complaint narratives: 4 products), each method clusters the texts and
is scored against the intents:

- NMI and ARI (unassigned texts count as one more cluster, as a user would see them),
- the share of texts left unassigned,
- topic coherence (mean NPMI of each topic's top-10 words over document co-occurrence in the
  same corpus) and topic diversity (unique words among all topics' top-10 / all top-10 slots).

Methods, all on the same pipeline embeddings:
(a) ``TopicModel.fit`` as shipped (seeded names, capped outliers),
(b) ``BERTopic()`` with its default settings (``min_topic_size=10``) given the same embeddings,
(c) scikit-learn LDA on word counts (English stop words removed), with as many topics as (a)
    found; each text goes to its most probable topic.

Also times a fit on 20,000 short texts (BANKING77 train, tweets, reviews), embeddings included, with the cache empty.

    python benchmarks/topic_quality.py [--n 3000] [--scale 20000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import itertools
import re
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import DEFAULT_OUT_DIR, Timer, command_line, load_average, machine_info, md_header, md_table, now_utc, write_results  # noqa: E402

TOKEN = re.compile(r"[a-z][a-z'-]+")


def corpora(data_dir: Path, n: int) -> dict[str, pd.DataFrame]:
    """Each corpus as text + intent, a seeded random sample of at most ``n`` rows."""
    out = {}
    banking = pd.read_csv(data_dir / "banking77_nlupp" / "banking77" / "test.csv")
    out["banking77_test"] = banking.rename(columns={"category": "intent"})[["text", "intent"]]
    bitext = pd.read_csv(data_dir / "bitext_support" / "Bitext_Sample_Customer_Support_Training_Dataset.csv")
    out["bitext_intents"] = bitext.rename(columns={"instruction": "text"})[["text", "intent"]]
    cfpb = pd.read_csv(data_dir / "cfpb_complaints" / "cfpb_narratives_product4class.csv")
    cfpb = cfpb.rename(columns={"Consumer complaint narrative": "text", "Product": "intent"})[["text", "intent"]]
    cfpb["text"] = cfpb["text"].astype(str).str.slice(0, 1000)
    out["cfpb_products"] = cfpb
    return {name: df.dropna().sample(min(n, len(df)), random_state=0).reset_index(drop=True) for name, df in out.items()}


def npmi_coherence(topics_words: list[list[str]], docs: list[set[str]]) -> float:
    """Mean NPMI over the word pairs of each topic's top words (document co-occurrence)."""
    n = len(docs)
    vocab = {w for words in topics_words for w in words}
    doc_sets = {w: {i for i, d in enumerate(docs) if w in d} for w in vocab}
    scores = []
    for words in topics_words:
        pair_scores = []
        for a, b in itertools.combinations(words, 2):
            pa, pb = len(doc_sets[a]) / n, len(doc_sets[b]) / n
            pab = len(doc_sets[a] & doc_sets[b]) / n
            if pa == 0 or pb == 0:
                continue
            if pab == 0:
                pair_scores.append(-1.0)
            elif pab == 1:
                pair_scores.append(1.0)
            else:
                pair_scores.append(np.log(pab / (pa * pb)) / -np.log(pab))
        if pair_scores:
            scores.append(float(np.mean(pair_scores)))
    return round(float(np.mean(scores)), 4) if scores else float("nan")


def diversity(topics_words: list[list[str]]) -> float:
    """Unique words among all topics' top words, over all slots."""
    slots = [w for words in topics_words for w in words]
    return round(len(set(slots)) / len(slots), 4) if slots else float("nan")


def top_tokens(words: list[str], k: int = 10) -> list[str]:
    """A topic's first ``k`` distinct single words (phrases split)."""
    out: list[str] = []
    for word in words:
        for token in TOKEN.findall(str(word).lower()):
            if token not in out:
                out.append(token)
    return out[:k]


def score(name: str, intents: pd.Series, topics: np.ndarray, words: list[list[str]], docs: list[set[str]],
          seconds: float) -> dict[str, object]:
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    return {
        "method": name,
        "topics": int(len(set(topics.tolist()) - {-1})),
        "unassigned": round(float((topics == -1).mean()), 4),
        "nmi": round(float(normalized_mutual_info_score(intents, topics)), 4),
        "ari": round(float(adjusted_rand_score(intents, topics)), 4),
        "npmi": npmi_coherence([top_tokens(w) for w in words if w], docs),
        "diversity": diversity([top_tokens(w) for w in words if w]),
        "fit_s": round(seconds, 1),
    }


def mean_row(runs: list[dict[str, object]]) -> dict[str, object]:
    """One row for repeated fits of a method: the mean of each figure, NMI's spread, every run."""
    row: dict[str, object] = {"method": runs[0]["method"], "repeats": len(runs)}
    for key in ("topics", "unassigned", "nmi", "ari", "npmi", "diversity", "fit_s"):
        row[key] = round(float(np.mean([float(r[key]) for r in runs])), 4)  # type: ignore[arg-type]
    row["nmi_sd"] = round(float(np.std([float(r["nmi"]) for r in runs])), 4)  # type: ignore[arg-type]
    row["runs"] = runs
    return row


def run_corpus(name: str, df: pd.DataFrame, pipeline, repeats: int) -> list[dict[str, object]]:  # type: ignore[no-untyped-def]
    """Each method on one corpus; the topic models ``repeats`` times (UMAP is random)."""
    from bertopic import BERTopic
    from sklearn.decomposition import LatentDirichletAllocation
    from sklearn.feature_extraction.text import CountVectorizer

    from feedback_nlp.text import encoder_input, redact
    from feedback_nlp.topics.model import TopicConfig, TopicModel

    texts = [encoder_input(redact(t)) for t in df["text"]]
    docs = [set(TOKEN.findall(t.lower())) for t in texts]
    X = pipeline.embed(texts)
    ours_runs, default_runs = [], []
    n_topics = []
    for repeat in range(repeats):
        # Ours is seeded (42 is its default); BERTopic's defaults leave UMAP unseeded, so each of
        # its runs is a fresh draw, as a user running it would get.
        with Timer() as t:
            model, assignments = TopicModel.fit(texts, X, embed=pipeline.embed, seeds=pipeline.taxonomy.topic_seeds,
                                                config=TopicConfig(random_state=42 + repeat))
        ours = np.array([a.topic for a in assignments])
        ours_runs.append(score("this pipeline", df["intent"], ours, [tp.words for tp in model.topics], docs,
                               t.span.wall_s))
        n_topics.append(len(model.topics))
        print(name, ours_runs[-1], flush=True)

        with Timer() as t:
            default = BERTopic(embedding_model=None, verbose=False)
            raw, _ = default.fit_transform(texts, X)
        raw = np.asarray(raw)
        words = [[w for w, _ in (default.get_topic(topic) or [])] for topic in sorted(set(raw.tolist()) - {-1})]
        default_runs.append(score("BERTopic defaults", df["intent"], raw, words, docs, t.span.wall_s))
        print(name, default_runs[-1], flush=True)

    with Timer() as t:
        vectorizer = CountVectorizer(stop_words="english", min_df=2, token_pattern=r"(?u)\b[a-zA-Z][a-zA-Z'-]+\b")
        counts = vectorizer.fit_transform(texts)
        lda = LatentDirichletAllocation(n_components=max(2, round(float(np.mean(n_topics)))), random_state=0,
                                        learning_method="batch")
        doc_topics = lda.fit_transform(counts)
    vocab = vectorizer.get_feature_names_out()
    words = [[vocab[i] for i in comp.argsort()[::-1][:10]] for comp in lda.components_]
    lda_row = score("LDA (scikit-learn)", df["intent"], doc_topics.argmax(axis=1), words, docs, t.span.wall_s)
    print(name, lda_row, flush=True)
    rows = [mean_row(ours_runs), mean_row(default_runs), mean_row([lda_row])]
    return [{"corpus": name, "n": len(df), "intents": int(df["intent"].nunique()), **r} for r in rows]


def scale_corpus(data_dir: Path, n: int) -> list[str]:
    """``n`` short texts from three sources: BANKING77 train, TweetEval test, clothing reviews (cut to 300 chars)."""
    banking = pd.read_csv(data_dir / "banking77_nlupp" / "banking77" / "train.csv")["text"]
    tweets = pd.Series((data_dir / "tweeteval_sentiment" / "test_text.txt").read_text(encoding="utf-8").splitlines())
    reviews = pd.read_csv(data_dir / "womens_clothing_reviews" / "Womens Clothing E-Commerce Reviews.csv")["Review Text"]
    pool = pd.concat([banking, tweets, reviews.dropna().str.slice(0, 300)], ignore_index=True)
    pool = pool[pool.str.strip().str.len() > 0]
    return pool.sample(min(n, len(pool)), random_state=1).tolist()


def scale_run(data_dir: Path, pipeline, n: int) -> dict[str, object]:  # type: ignore[no-untyped-def]
    """Fit on ``n`` short texts from an empty embedding cache: embeddings + fit wall time."""
    import os

    from feedback_nlp.settings import get_settings
    from feedback_nlp.topics.corpus import Corpus, embed_corpus
    from feedback_nlp.topics.model import TopicModel

    texts = scale_corpus(data_dir, n)
    frame = pd.DataFrame({"id": range(len(texts)), "text": texts, "kind": "survey"})
    with tempfile.TemporaryDirectory() as cache:
        os.environ["FEEDBACK_NLP_CACHE_DIR"] = cache
        get_settings.cache_clear()
        corpus = Corpus(frame)
        with Timer() as embed_t:
            X = embed_corpus(corpus, pipeline, progress=True)
        with Timer() as fit_t:
            model, assignments = TopicModel.fit(corpus.model_inputs, X, embed=pipeline.embed,
                                                seeds=pipeline.taxonomy.topic_seeds)
    return {
        "n": len(texts),
        "corpus": "BANKING77 train + TweetEval test + clothing reviews (first 300 chars), random sample",
        "embed_s": round(embed_t.span.wall_s, 1),
        "fit_s": round(fit_t.span.wall_s, 1),
        "total_s": round(embed_t.span.wall_s + fit_t.span.wall_s, 1),
        "load_before": embed_t.span.load_before,
        "load_after": fit_t.span.load_after,
        "topics": len(model.topics),
        "unassigned": round(float(np.mean([a.topic == -1 for a in assignments])), 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=3000, help="texts per corpus")
    parser.add_argument("--scale", type=int, default=20000, help="texts in the timed fit (0 skips it)")
    parser.add_argument("--repeats", type=int, default=3,
                        help="fits of each topic model per corpus, reported as mean and spread (default 3)")
    parser.add_argument("--out-dir", type=Path, default=DEFAULT_OUT_DIR)
    args = parser.parse_args()

    from feedback_nlp.pipeline import load_pipeline
    from feedback_nlp.settings import get_settings

    data_dir = Path(get_settings().data_dir)
    result: dict[str, object] = {"date": now_utc(), "command": command_line(), "machine": machine_info(),
                                 "load_average_start": load_average()}
    pipeline = load_pipeline(topics=False)
    rows = []
    for name, df in corpora(data_dir, args.n).items():
        rows.extend(run_corpus(name, df, pipeline, args.repeats))
    result["quality"] = rows
    if args.scale:
        result["scale"] = scale_run(data_dir, pipeline, args.scale)
        print(result["scale"], flush=True)
    md = md_header("Topic quality against known intents", result)  # type: ignore[arg-type]
    md += [
        "NMI/ARI against the true intents (unassigned texts form one more cluster); unassigned share;",
        "coherence = mean NPMI of each topic's top-10 words over document co-occurrence in the same",
        "corpus (-1 to 1, higher is better); diversity = unique words / all top-10 slots.",
        "All three methods see the same pipeline embeddings (LDA sees word counts).",
        f"The two topic models are fitted {args.repeats} times per corpus (ours with UMAP seeds 42, 43, ...;",
        "BERTopic's defaults leave UMAP unseeded, so each fit is a fresh draw): figures are means, NMI",
        "also with its standard deviation; LDA (seeded) once, with the mean number of topics ours found.",
        "Every run is in the JSON.",
        "",
    ]
    md += md_table(
        ["corpus", "n", "intents", "method", "fits", "topics", "unassigned", "NMI (sd)", "ARI", "NPMI", "diversity",
         "fit s"],
        [[r["corpus"], r["n"], r["intents"], r["method"], r["repeats"], r["topics"], r["unassigned"],
          f"{r['nmi']:.4f} ({r['nmi_sd']:.4f})", r["ari"], r["npmi"], r["diversity"], r["fit_s"]] for r in rows],
    )
    if args.scale:
        s = result["scale"]
        md += ["", f"Fit on {s['n']} short texts ({s['corpus']}) from an empty embedding cache: "  # type: ignore[index]
               f"embeddings {s['embed_s']} s + fit {s['fit_s']} s = {s['total_s']} s on the 2 cores; "  # type: ignore[index]
               f"{s['topics']} topics, {s['unassigned']:.1%} unassigned; 1-min load average "  # type: ignore[index]
               f"{s['load_before'][0]} before, {s['load_after'][0]} after."]  # type: ignore[index]
    json_path, md_path = write_results("topic_quality", args.out_dir, result, md)
    print("\n".join(md))
    print(f"wrote {json_path} and {md_path}")


if __name__ == "__main__":
    main()
