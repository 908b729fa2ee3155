"""Topic quality against human-labelled themes: this pipeline vs BERTopic's defaults vs LDA (issue 16).

Corpora whose texts carry a theme labelled by people: BANKING77 test (77 intents), Bitext
customer support (27 intents), CFPB complaint narratives (4 products), NHS Friends and Family
Test answers (~40 themes from NHS staff; answers with a single theme) and tweets written to
companies (8 industries; random tweets left out). Each method clusters the texts and is scored:

- NMI and ARI against the themes (unassigned texts count as one more cluster, as a user sees them),
- NMI against sentiment (lower is better: topics should be themes, not moods),
- the share of texts left unassigned,
- topic coherence (mean NPMI of each topic's top-10 words) and diversity,
- the names of the largest topics, and which of the top 20 break the naming rules.

Methods: (a) ``TopicModel.fit`` as shipped, in the default topic space (base MiniLM, sentiment
directions projected out; feedback_nlp/topics/space.py); (b) ``BERTopic()`` with its defaults on
plain base-MiniLM embeddings; (c) scikit-learn LDA on word counts with as many topics as (a)
found; and (a) again in the base MiniLM as is and in the classifier's fine-tuned encoder.

The end-to-end timing at scale is benchmarks/topic_scale.py.

    python benchmarks/topic_quality.py [--n 1000] [--repeats 2] [--corpus nhs_fft_themes ...]
"""

from __future__ import annotations

import argparse
import itertools
import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    DEFAULT_OUT_DIR,
    Timer,
    command_line,
    load_average,
    machine_info,
    md_header,
    md_table,
    now_utc,
    publish,
)  # noqa: E402

TOKEN = re.compile(r"[a-z][a-z'-]+")


MOODS = ("Positive experience & gratitude", "Negative experience & dissatisfaction")


def corpora(data_dir: Path, n: int) -> dict[str, pd.DataFrame]:
    """Each corpus as text + intent (the human-labelled theme) + sentiment (human where the data
    has it, else empty: the classifier's is used), a seeded random sample of at most ``n`` rows."""
    out = {}
    banking = pd.read_csv(data_dir / "banking77_nlupp" / "banking77" / "test.csv")
    out["banking77_test"] = banking.rename(columns={"category": "intent"})[["text", "intent"]]
    bitext = pd.read_csv(data_dir / "bitext_support" / "Bitext_Sample_Customer_Support_Training_Dataset.csv")
    out["bitext_intents"] = bitext.rename(columns={"instruction": "text"})[["text", "intent"]]
    cfpb = pd.read_csv(data_dir / "cfpb_complaints" / "cfpb_narratives_product4class.csv")
    cfpb = cfpb.rename(columns={"Consumer complaint narrative": "text", "Product": "intent"})[["text", "intent"]]
    cfpb["text"] = cfpb["text"].astype(str).str.slice(0, 1000)
    out["cfpb_products"] = cfpb
    # NHS Friends and Family Test answers with one theme (of ~50) from NHS staff; sentiment 1-5 by staff.
    nhs = pd.read_csv(data_dir / "nhs_patient_surveys" / "fft_v6_framework.csv").dropna(subset=["text", "categories"])
    nhs = nhs[
        ~nhs["categories"].str.contains("|", regex=False)
        & (nhs["categories"] != "Not assigned")
        & (nhs["text"].str.strip().str.len() > 3)
    ]
    out["nhs_fft_themes"] = pd.DataFrame(
        {"text": nhs["text"], "intent": nhs["categories"], "sentiment": nhs["comment_sentiment_1to5"].astype(str)}
    )
    # Tweets to companies: the company's industry; complaint or not (annotators) as the mood.
    brand = pd.read_csv(data_dir / "brand_complaint_tweets" / "complaints.csv")
    brand = brand[~brand["domain"].isin(["random_tweet", "random_reply"])]
    out["brand_tweet_industries"] = pd.DataFrame(
        {"text": brand["text"], "intent": brand["domain"], "sentiment": brand["complaint"].astype(str)}
    )
    samples = {}
    for name, df in out.items():
        if "sentiment" not in df:
            df = df.assign(sentiment=None)
        df = df.dropna(subset=["text", "intent"])
        size = min(n if name != "cfpb_products" else min(n, 600), len(df))
        samples[name] = df.sample(size, random_state=0).reset_index(drop=True)
    return samples


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


def score(
    name: str,
    df: pd.DataFrame,
    sentiment: pd.Series,
    topics: np.ndarray,
    words: list[list[str]],
    docs: list[set[str]],
    seconds: float,
    names: list[str] | None = None,
) -> dict[str, object]:
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    from feedback_nlp.topics.naming import acceptable_name

    intents = df["intent"]
    row: dict[str, object] = {
        "method": name,
        "topics": int(len(set(topics.tolist()) - {-1})),
        "unassigned": round(float((topics == -1).mean()), 4),
        "nmi": round(float(normalized_mutual_info_score(intents, topics)), 4),
        "ari": round(float(adjusted_rand_score(intents, topics)), 4),
        "nmi_sentiment": round(float(normalized_mutual_info_score(sentiment, topics)), 4),
        "npmi": npmi_coherence([top_tokens(w) for w in words if w], docs),
        "diversity": diversity([top_tokens(w) for w in words if w]),
        "fit_s": round(seconds, 1),
    }
    moods = intents.isin(MOODS).to_numpy()
    if moods.any():
        row["nmi_without_mood_themes"] = round(float(normalized_mutual_info_score(intents[~moods], topics[~moods])), 4)
    if names is not None:
        row["top_names"] = names[:20]
        row["bad_top20_names"] = [n for n in names[:20] if not acceptable_name(n)]
    return row


def mean_row(runs: list[dict[str, object]]) -> dict[str, object]:
    """One row for repeated fits of a method: the mean of each figure, NMI's spread, every run."""
    row: dict[str, object] = {"method": runs[0]["method"], "repeats": len(runs)}
    keys = ["topics", "unassigned", "nmi", "ari", "nmi_sentiment", "npmi", "diversity", "fit_s"]
    keys += ["nmi_without_mood_themes"] if "nmi_without_mood_themes" in runs[0] else []
    for key in keys:
        row[key] = round(float(np.mean([float(r[key]) for r in runs])), 4)  # type: ignore[arg-type]
    row["nmi_sd"] = round(float(np.std([float(r["nmi"]) for r in runs])), 4)  # type: ignore[arg-type]
    row["top_names"] = runs[0].get("top_names", [])
    row["runs"] = runs
    return row


def _largest_names(labels: dict[int, str], topics: np.ndarray) -> list[str]:
    counts = pd.Series(topics[topics != -1]).value_counts()
    return [labels[int(t)] for t in counts.index if int(t) in labels]


def run_corpus(name: str, df: pd.DataFrame, pipeline, repeats: int) -> list[dict[str, object]]:  # type: ignore[no-untyped-def]
    """Each method on one corpus; every method ``repeats`` times (UMAP and LDA are random)."""
    from bertopic import BERTopic
    from sklearn.decomposition import LatentDirichletAllocation
    from sklearn.feature_extraction.text import CountVectorizer

    from feedback_nlp.text import encoder_input, redact
    from feedback_nlp.topics.model import TopicConfig, TopicModel
    from feedback_nlp.topics.space import BASE, BASE_NO_SENTIMENT, PIPELINE, project_out, topic_space

    texts = [encoder_input(redact(t)) for t in df["text"]]
    docs = [set(TOKEN.findall(t.lower())) for t in texts]
    spaces = {s: topic_space(pipeline, s) for s in (BASE_NO_SENTIMENT, BASE, PIPELINE)}
    X_base = spaces[BASE].embed(texts)
    X = {
        BASE: X_base,
        BASE_NO_SENTIMENT: project_out(X_base, spaces[BASE_NO_SENTIMENT].directions),
        PIPELINE: spaces[PIPELINE].embed(texts),
    }
    sentiment = df["sentiment"]
    if sentiment.isna().all():
        # No human sentiment: the classifier's (its own labels are what the report shows).
        proba = pipeline.heads.sentiment.predict_proba(pipeline.sentiment_input(texts, X[PIPELINE]))
        sentiment = pd.Series(proba.argmax(axis=1).astype(str))
    seeds = pipeline.taxonomy.topic_seeds

    def ours(space: str, method: str, repeat: int) -> dict[str, object]:
        with Timer() as t:
            model, assignments = TopicModel.fit(
                texts, X[space], embed=spaces[space].embed, seeds=seeds, config=TopicConfig(random_state=42 + repeat)
            )
        topics = np.array([a.topic for a in assignments])
        labels = {tp.id: tp.label for tp in model.topics}
        row = score(
            method,
            df,
            sentiment,
            topics,
            [tp.words for tp in model.topics],
            docs,
            t.span.wall_s,
            _largest_names(labels, topics),
        )
        print(name, {k: v for k, v in row.items() if k != "top_names"}, flush=True)
        return row

    ours_runs, default_runs, lda_runs = [], [], []
    for repeat in range(repeats):
        ours_runs.append(ours(BASE_NO_SENTIMENT, "this pipeline (base MiniLM, sentiment projected out)", repeat))
        # BERTopic's defaults leave UMAP unseeded: each run is a fresh draw, as a user would get.
        with Timer() as t:
            default = BERTopic(embedding_model=None, verbose=False)
            raw, _ = default.fit_transform(texts, X[BASE])
        raw = np.asarray(raw)
        info = default.get_topic_info()
        labels = {int(r.Topic): str(r.Name) for r in info.itertuples() if int(r.Topic) != -1}
        words = [[w for w, _ in (default.get_topic(topic) or [])] for topic in sorted(set(raw.tolist()) - {-1})]
        default_runs.append(
            score(
                "BERTopic defaults (base MiniLM)",
                df,
                sentiment,
                raw,
                words,
                docs,
                t.span.wall_s,
                _largest_names(labels, raw),
            )
        )
        print(name, {k: v for k, v in default_runs[-1].items() if k != "top_names"}, flush=True)
        with Timer() as t:
            vectorizer = CountVectorizer(stop_words="english", min_df=2, token_pattern=r"(?u)\b[a-zA-Z][a-zA-Z'-]+\b")
            counts = vectorizer.fit_transform(texts)
            n_topics = max(2, round(float(np.mean([r["topics"] for r in ours_runs]))))  # type: ignore[arg-type]
            lda = LatentDirichletAllocation(n_components=n_topics, random_state=repeat, learning_method="batch")
            doc_topics = lda.fit_transform(counts)
        vocab = vectorizer.get_feature_names_out()
        words = [[vocab[i] for i in comp.argsort()[::-1][:10]] for comp in lda.components_]
        lda_runs.append(
            score("LDA (scikit-learn)", df, sentiment, doc_topics.argmax(axis=1), words, docs, t.span.wall_s)
        )
        print(name, lda_runs[-1], flush=True)
    # The embedding space on purpose: the same fit in the two other spaces (one seed each).
    base_run = ours(BASE, "this pipeline, base MiniLM as is", 0)
    pipeline_run = ours(PIPELINE, "this pipeline, classifier's fine-tuned encoder", 0)
    rows = [
        mean_row(ours_runs),
        mean_row(default_runs),
        mean_row(lda_runs),
        mean_row([base_run]),
        mean_row([pipeline_run]),
    ]
    human = "human" if df["sentiment"].notna().all() else "classifier"
    return [
        {"corpus": name, "n": len(df), "intents": int(df["intent"].nunique()), "sentiment_labels": human, **r}
        for r in rows
    ]


def render(result: dict) -> list[str]:  # type: ignore[type-arg]
    rows = result["quality"]
    md = md_header("Topic quality against human-labelled themes", result)
    md += [
        "NMI/ARI against the themes people labelled (unassigned texts form one more cluster); NMI against",
        "sentiment (lower is better: topics should not be moods; human labels for NHS (1-5) and brand tweets",
        "(complaint or not), the classifier's for the others); unassigned share; coherence = mean NPMI of each",
        "topic's top-10 words. NHS 'NMI w/o moods' scores only the answers whose theme is not",
        "'Positive experience & gratitude' or 'Negative experience & dissatisfaction'.",
        f"Ours, BERTopic's defaults and LDA are fitted {result['repeats']} times per corpus (ours with UMAP seeds",
        "42, 43, ...; BERTopic's defaults unseeded, so each fit is a fresh draw; LDA seeds 0, 1, ...); the two",
        "other embedding spaces once. Every run, with its 20 largest topics' names, is in the JSON.",
        f"Samples are small ({result['n']} texts a corpus, CFPB 600) because the 2 CPU cores are shared.",
        "",
    ]
    md += md_table(
        [
            "corpus",
            "n",
            "themes",
            "method",
            "fits",
            "topics",
            "unassigned",
            "NMI themes (sd)",
            "NMI w/o moods",
            "NMI sentiment",
            "ARI",
            "NPMI",
            "fit s",
        ],
        [
            [
                r["corpus"],
                r["n"],
                r["intents"],
                r["method"],
                r["repeats"],
                r["topics"],
                f"{r['unassigned']:.1%}",
                f"{r['nmi']:.3f} ({r['nmi_sd']:.3f})",
                r.get("nmi_without_mood_themes", ""),
                f"{r['nmi_sentiment']:.3f}",
                r["ari"],
                r["npmi"],
                r["fit_s"],
            ]
            for r in rows
        ],
    )
    md += ["", "## Largest topics' names (ours, first fit; BERTopic defaults' for comparison)", ""]
    for r in rows:
        if r["method"].startswith(("this pipeline (", "BERTopic")):
            bad = r["runs"][0].get("bad_top20_names", [])
            md.append(
                f"- **{r['corpus']}**, {r['method']}: "
                + "; ".join(r["top_names"][:8])
                + (f" (top-20 names breaking the rules: {bad})" if bad else "")
            )
    return md


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1000, help="texts per corpus (CFPB at most 600)")
    parser.add_argument(
        "--repeats", type=int, default=2, help="fits of each method per corpus, reported as mean and spread (default 2)"
    )
    parser.add_argument("--corpus", action="append", help="only these corpora (repeatable)")
    parser.add_argument("--out-dir", type=Path, default=DEFAULT_OUT_DIR)
    args = parser.parse_args()

    from feedback_nlp.pipeline import load_pipeline
    from feedback_nlp.settings import get_settings

    data_dir = Path(get_settings().data_dir)
    result: dict[str, object] = {
        "date": now_utc(),
        "command": command_line(),
        "machine": machine_info(),
        "load_average_start": load_average(),
        "n": args.n,
        "repeats": args.repeats,
    }
    pipeline = load_pipeline(topics=False)
    result["bundle"] = pipeline.version
    rows = []
    for name, df in corpora(data_dir, args.n).items():
        if args.corpus and name not in args.corpus:
            continue
        rows.extend(run_corpus(name, df, pipeline, args.repeats))
    result["quality"] = rows
    result["load_average_end"] = load_average()
    publish("topic_quality", args.out_dir, result, render)


if __name__ == "__main__":
    main()
