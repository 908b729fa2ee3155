"""Draw the texts of the annotated CX corpus and cut them into labelling batches.

    python training/corpus/draw_sample.py OUT_DIR [--seed 7]
    python training/corpus/draw_sample.py OUT_DIR --round 2 --seed 11
    python training/corpus/draw_sample.py OUT_DIR --round 3 --seed 13
    python training/corpus/draw_sample.py OUT_DIR --round 4 --seed 17
    python training/corpus/draw_sample.py OUT_DIR --round 5 --seed 19


Writes OUT_DIR/batch_NN.jsonl (item id, text, and what an annotator may know: kind, industry,
channel) and OUT_DIR/items.jsonl (item id -> shared file, row id, text hash, draw). The texts
stay outside the project: OUT_DIR is scratch space, the labels come back keyed by item id and
``training/corpus/collect_labels.py`` turns them into ``annotations/cx_corpus.jsonl``.

Most texts are a random draw per source; a smaller keyword draw (``targeted``) fills the rare
stages and touchpoints (promotions, pre-sales questions, cancellations, e-mail, website, social
accounts, delivery). Keywords only choose which texts are read: every label comes from reading.
A random 300 items are labelled twice, by different annotators, to measure agreement.

Round 2 (``--round 2``) draws :data:`PLAN_ROUND_2` from the same sources, leaving out every
text already in ``annotations/cx_corpus.jsonl`` (by shared file and row id, and by text), with
item ids ``r2-NNNNN`` and 150 items read twice. Rounds 3 and 4 (:data:`PLAN_ROUND_3`,
:data:`PLAN_ROUND_4`, which adds the CFPB complaint narratives) do the same with ids
``r3-NNNNN`` and ``r4-NNNNN``.

Round 5 (:data:`PLAN_ROUND_5`, ids ``r5-NNNNN``) adds a third draw, ``mixed``: texts with a word of
praise or thanks beside a word of a problem ("Great, still no refund", "Love the dress but sent it
back", "Thanks, sorted now"), where the shipped model is weakest (sarcastic sign-offs, mixed
reviews, thanks after a fix). The words only choose which texts are read; whether a text is
sarcastic, mixed or sincere comes from reading it.
"""

from __future__ import annotations

import argparse
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from feedback_nlp.corpus.annotations import Annotation, load_annotations, text_sha256
from feedback_nlp.corpus.sources import read_source
from feedback_nlp.settings import get_settings
from feedback_nlp.train.data import gold_key
from feedback_nlp.train.datasets import load_gold

RARE = re.compile(
    r"\b(?:ads?|advert\w*|commercials?|promo\w*|offers?|deals?|discount\w*|coupons?|newsletters?|"
    r"campaign|marketing|sponsor\w*|spam|heard (?:of|about)|do you (?:sell|have|offer|ship|stock)|"
    r"in stock|available|prices?|how much|plans?|compare|eligib\w*|quote|cancel\w*|close my|"
    r"switch\w*|loyal\w*|renew\w*|upgrade|unsubscribe|recommend\w*|e-?mails?|website|site|"
    r"online|log ?in|portal|dm|direct message|tweets?|facebook|instagram|deliver\w*|shipping|"
    r"shipped|parcel|package|courier|post(?:al)?|chat\w*)\b",
    re.IGNORECASE,
)

#: Praise or thanks beside a problem: the round-5 ``mixed`` draw (both must match).
PRAISE = re.compile(
    r"\b(?:great|thanks?|thank you|thx|love[ds]?|well done|good job|brilliant|awesome|amazing|nice|lovely|"
    r"fantastic|perfect|wonderful|cheers|excellent|helpful|appreciate\w*|impressed|happy)\b",
    re.IGNORECASE,
)
PROBLEM = re.compile(
    r"\b(?:never|still|again|not|no|nothing|can'?t|won'?t|didn'?t|doesn'?t|isn'?t|wasn'?t|don'?t|broken|"
    r"broke|crash\w*|charged|late|delay\w*|lost|wait\w*|hours|days|weeks|worst|refund\w*|return\w*|"
    r"sent (?:it )?back|disappoint\w*|problem\w*|issues?|errors?|fail\w*)\b",
    re.IGNORECASE,
)

#: (source, random draw, keyword draw); random_tweet/random_reply drawn apart for `none`.
PLAN = [
    ("brand_support_tweets", 800, 200),
    ("brand_complaint_tweets", 330, 50),
    ("tweeteval_sentiment", 80, 0),
    ("neobank_app_reviews", 420, 70),
    ("womens_clothing_reviews", 220, 30),
    ("mams", 150, 0),
    ("multidogo_chats", 500, 0),
    ("dstc11_call_utterances", 350, 0),
    ("nhs_patient_surveys", 450, 50),
    ("helpdesk_csat_survey", 260, 40),
    ("banking77", 150, 0),
    ("bitext_support", 100, 0),
]
GENERAL_TWEETS = 70
DOUBLE = 300
BATCH = 165

#: Round 2: more of every source, weighted towards the kinds users send most (brand-directed
#: posts, surveys, chats) and the sources whose stages and touchpoints held out worst.
PLAN_ROUND_2 = [
    ("brand_support_tweets", 300, 60),
    ("brand_complaint_tweets", 150, 30),
    ("tweeteval_sentiment", 40, 0),
    ("neobank_app_reviews", 150, 30),
    ("womens_clothing_reviews", 100, 20),
    ("mams", 80, 0),
    ("multidogo_chats", 200, 0),
    ("dstc11_call_utterances", 150, 0),
    ("nhs_patient_surveys", 180, 20),
    ("helpdesk_csat_survey", 120, 30),
    ("banking77", 100, 0),
    ("bitext_support", 100, 0),
]


#: Round 3: weighted towards the sources and kinds that held out worst after round 2 (chats,
#: help-desk and NHS surveys, support requests, restaurant reviews) and brand-directed posts.
PLAN_ROUND_3 = [
    ("brand_support_tweets", 240, 40),
    ("brand_complaint_tweets", 140, 20),
    ("tweeteval_sentiment", 30, 0),
    ("neobank_app_reviews", 110, 30),
    ("womens_clothing_reviews", 80, 20),
    ("mams", 120, 0),
    ("multidogo_chats", 250, 0),
    ("dstc11_call_utterances", 120, 0),
    ("nhs_patient_surveys", 160, 30),
    ("helpdesk_csat_survey", 150, 40),
    ("banking77", 80, 0),
    ("bitext_support", 120, 0),
]


#: Round 4: a thirteenth source (consumer-finance complaint narratives, written into a web form),
#: more brand-directed posts, surveys and chats.
PLAN_ROUND_4 = [
    ("cfpb_complaints", 200, 0),
    ("brand_support_tweets", 200, 40),
    ("brand_complaint_tweets", 120, 20),
    ("tweeteval_sentiment", 30, 0),
    ("neobank_app_reviews", 100, 20),
    ("womens_clothing_reviews", 60, 10),
    ("mams", 80, 0),
    ("multidogo_chats", 200, 0),
    ("dstc11_call_utterances", 100, 0),
    ("nhs_patient_surveys", 150, 30),
    ("helpdesk_csat_survey", 120, 30),
    ("banking77", 80, 0),
    ("bitext_support", 100, 0),
]


#: Round 5: praise beside a problem (the ``mixed`` draw, :data:`MIXED_ROUND_5`) from every kind
#: that has it, with a random and a rare-stage draw beside it.
PLAN_ROUND_5 = [
    ("brand_support_tweets", 80, 30),
    ("brand_complaint_tweets", 40, 20),
    ("tweeteval_sentiment", 20, 0),
    ("neobank_app_reviews", 40, 20),
    ("womens_clothing_reviews", 30, 10),
    ("mams", 30, 0),
    ("multidogo_chats", 60, 0),
    ("dstc11_call_utterances", 40, 0),
    ("nhs_patient_surveys", 40, 20),
    ("helpdesk_csat_survey", 40, 20),
    ("banking77", 20, 0),
    ("bitext_support", 20, 0),
    ("cfpb_complaints", 30, 0),
]
MIXED_ROUND_5 = {
    "brand_support_tweets": 150,
    "brand_complaint_tweets": 100,
    "neobank_app_reviews": 100,
    "womens_clothing_reviews": 80,
    "mams": 50,
    "multidogo_chats": 50,
    "dstc11_call_utterances": 20,
    "nhs_patient_surveys": 60,
    "helpdesk_csat_survey": 60,
    "cfpb_complaints": 10,
}


@dataclass(frozen=True)
class Round:
    """One labelling round: what it draws, how many items are read twice, its item-id prefix."""

    plan: list[tuple[str, int, int]]  # (source, random draw, keyword draw)
    general_tweets: int
    double: int
    prefix: str
    mixed: dict[str, int] = field(default_factory=dict)  # source -> praise-beside-a-problem draw


ROUNDS = {
    1: Round(PLAN, GENERAL_TWEETS, DOUBLE, "t"),
    2: Round(PLAN_ROUND_2, 30, 150, "r2-"),
    3: Round(PLAN_ROUND_3, 30, 150, "r3-"),
    4: Round(PLAN_ROUND_4, 30, 150, "r4-"),
    5: Round(PLAN_ROUND_5, 30, 150, "r5-", MIXED_ROUND_5),
}

_ENGLISH = re.compile(r"\b(?:the|and|is|it|to|my|this|app|bank|you|not|very|i)\b", re.IGNORECASE)
_FOREIGN = re.compile(r"\b(?:und|der|die|das|nicht|ist|est|les|pas|une|muy|para|que|je|ich|sehr)\b", re.IGNORECASE)


def looks_english(text: str) -> bool:
    return len(_ENGLISH.findall(text)) >= 2 and len(_FOREIGN.findall(text)) == 0


def _usable(rows: pd.DataFrame) -> pd.DataFrame:
    words = rows["text"].str.split().str.len()
    rows = rows[(words >= 2) & (rows["text"].str.len() <= 1500)]
    if rows["source"].iloc[0] == "neobank_app_reviews":
        rows = rows[rows["text"].map(looks_english)]
    return rows


def draw(data_dir: Path, gold_path: Path, seed: int, round_: Round, labelled: list[Annotation]) -> pd.DataFrame:
    """The texts to label: the round's random and keyword draws per source, never a gold text
    nor a text of ``labelled`` (the earlier rounds' labels: by shared file and row id, or by text)."""
    gold_keys = {gold_key(t) for t in load_gold(gold_path)["text"]}
    taken_rows = {(a.file, a.row_id) for a in labelled}
    taken_texts = {a.sha256 for a in labelled}
    rng = np.random.default_rng(seed)
    drawn = []
    for source, n_random, n_targeted in round_.plan:
        rows = read_source(source, data_dir)
        rows = _usable(rows[~rows["text"].map(gold_key).isin(gold_keys)])
        if labelled:
            keys = pd.MultiIndex.from_arrays([rows["file"], rows["row_id"].astype(str)])
            rows = rows[~keys.isin(taken_rows) & ~rows["text"].map(text_sha256).isin(taken_texts)]
        if source == "brand_complaint_tweets":
            general = rows[rows["industry"] == "general"]
            drawn.append(general.sample(n=round_.general_tweets, random_state=seed).assign(draw="random"))
            rows = rows[rows["industry"] != "general"]
        if source == "multidogo_chats":  # the same number of chats from each domain
            per = n_random // rows["industry"].nunique()
            picked = rows.groupby("industry").sample(n=per, random_state=seed)
        else:
            picked = rows.sample(n=min(n_random, len(rows)), random_state=seed)
        drawn.append(picked.assign(draw="random"))
        rest = rows.drop(picked.index)
        rare = rest[rest["text"].str.contains(RARE)]
        if n_targeted:
            targeted = rare.sample(n=min(n_targeted, len(rare)), random_state=seed)
            drawn.append(targeted.assign(draw="targeted"))
            rest = rest.drop(targeted.index)
        n_mixed = round_.mixed.get(source, 0)
        if n_mixed:
            mixed = rest[rest["text"].str.contains(PRAISE) & rest["text"].str.contains(PROBLEM)]
            drawn.append(mixed.sample(n=min(n_mixed, len(mixed)), random_state=seed).assign(draw="mixed"))
    corpus = pd.concat(drawn, ignore_index=True).drop_duplicates(subset=["file", "row_id"])
    corpus = corpus.drop_duplicates(subset="text")
    corpus = corpus.sample(frac=1.0, random_state=int(rng.integers(1 << 31))).reset_index(drop=True)
    corpus["sha256"] = corpus["text"].map(text_sha256)
    return corpus


def write_batches(corpus: pd.DataFrame, out: Path, seed: int, round_: Round) -> None:
    out.mkdir(parents=True, exist_ok=True)
    prefix = round_.prefix
    corpus = corpus.assign(item=[f"{prefix}{i:05d}" for i in range(len(corpus))])
    n_batches = int(np.ceil(len(corpus) / BATCH))
    corpus["batch"] = np.arange(len(corpus)) % n_batches
    rng = np.random.default_rng(seed + 1)
    doubles = corpus.iloc[rng.choice(len(corpus), size=round_.double, replace=False)].copy()
    # The second copy goes to a batch a few places on, so another annotator reads it.
    doubles["batch"] = (doubles["batch"] + 1 + rng.integers(1, 3, size=len(doubles))) % n_batches
    doubles["double_of"] = doubles["item"]
    doubles["item"] = [f"{prefix}{len(corpus) + i:05d}" for i in range(len(doubles))]
    items = pd.concat([corpus.assign(double_of=""), doubles], ignore_index=True)
    keys = ["item", "double_of", "file", "row_id", "sha256", "source", "kind", "industry", "channel", "draw", "batch"]
    items[keys].to_json(out / "items.jsonl", orient="records", lines=True, force_ascii=False)
    for batch, group in items.sample(frac=1.0, random_state=seed).groupby("batch"):
        with (out / f"batch_{batch:02d}.jsonl").open("w", encoding="utf-8") as handle:
            for row in group.itertuples():
                item = {"item": row.item, "kind": row.kind, "industry": row.industry, "text": row.text}
                if row.channel:
                    item["channel"] = row.channel
                handle.write(json.dumps(item, ensure_ascii=False) + "\n")
    print(f"{len(corpus)} texts, {len(doubles)} twice, {n_batches} batches in {out}")
    print(corpus.groupby(["source", "kind"]).size().to_string())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--round", type=int, default=1, choices=sorted(ROUNDS))
    args = parser.parse_args()
    data_dir = Path(get_settings().data_dir)
    earlier = [a for a in load_annotations() if a.round < args.round]
    round_ = ROUNDS[args.round]
    corpus = draw(data_dir, data_dir / "gold" / "dev.jsonl", args.seed, round_, earlier)
    write_batches(corpus, args.out, args.seed, round_)


if __name__ == "__main__":
    main()
