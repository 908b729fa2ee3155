"""Read the shared datasets as the annotated corpus sees them: one row per text, with a stable key.

Every reader returns the columns of :data:`COLUMNS`:

- ``file``: the path of the shared file, relative to the data folder (part of the label key);
- ``row_id``: the row's own id in that file (tweet id, review id, conversation id, ...), so the
  key survives a re-ordered file; the text hash in the label file catches a changed text;
- ``text``: exactly what the annotators read (a chat is its customer turns, one per line);
- ``source``, ``kind`` (survey, review, social, transcript), ``industry``;
- ``channel``: ``phone`` for call utterances, ``chat`` for chat transcripts, else empty;
- ``native``: the dataset's own label as a string (kept for analysis, never as a target here).

Airline, airport, rail and other travel texts are left out (:func:`is_travel`): that domain is
held out for independent evaluation.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from feedback_nlp.errors import DataError
from feedback_nlp.train.datasets import require_dataset_file

COLUMNS = ["file", "row_id", "text", "source", "kind", "industry", "channel", "native"]

#: How many customer turns of a chat the corpus keeps (the median MultiDoGO chat has 8).
MAX_CHAT_TURNS = 10

#: A word counts unless letters continue it; an underscore or a digit next to it does not hide
#: it (``\b`` would: ``@Uber_Support`` is Uber).
_TRAVEL = re.compile(
    r"(?<![a-z])(air ?lines?|airways|airport|flights?|flying|baggage|luggage|boarding|runway|pilot|"
    r"rail(way)?s?|trains?|amtrak|hotels?|cruise|delta|jetblue|ryanair|easyjet|lufthansa|"
    r"virgin ?(atlantic|trains)|southwest|united ?airlines|americanair|british ?airways|"
    r"uber|lyft|taxi|airbnb|expedia|booking\.com|"
    # Hotel chains, also as handles (@HolidayInn, @IHGService)
    r"holiday ?inn\w*|ihg\w*|hilton\w*|marriott\w*|hyatt\w*|premier ?inn\w*|travelodge\w*|"
    r"wyndham\w*|radisson\w*|sheraton\w*|westin\w*)(?![a-z])",
    re.IGNORECASE,
)

#: The brand a support tweet was written to, by industry (brands not listed are ``other``).
BRAND_INDUSTRY = {
    "AmazonHelp": "retail",
    "Tesco": "retail",
    "marksandspencer": "retail",
    "sainsburys": "retail",
    "ArgosHelpers": "retail",
    "asdaserviceteam": "retail",
    "Morrisons": "retail",
    "walmart": "retail",
    "AppleSupport": "electronics",
    "SamsungSupport": "electronics",
    "HPSupport": "electronics",
    "Ask_Spectrum": "telecom",
    "TMobileHelp": "telecom",
    "comcastcares": "telecom",
    "VerizonSupport": "telecom",
    "sprintcare": "telecom",
    "ATVIAssist": "gaming",
    "AskPlayStation": "gaming",
    "XboxSupport": "gaming",
    "RockstarSupport": "gaming",
    "MojangSupport": "gaming",
    "NintendoAmerica": "gaming",
    "SpotifyCares": "media",
    "hulu_support": "media",
    "NetflixHelps": "media",
    "ChipotleTweets": "food",
    "GWRHelp": "travel",
    "AdobeCare": "software",
    "Microsoft": "software",
    "MicrosoftHelps": "software",
    "O2": "telecom",
    "BTCare": "telecom",
    "VirginMedia": "telecom",
    "sky": "media",
    "DropboxSupport": "software",
    "TwitterSupport": "software",
    "askpapajohns": "food",
    "PandoraSupport": "media",
    "AskCiti": "banking",
    "BofA_Help": "banking",
    "ChaseSupport": "banking",
}


def is_travel(text: str) -> bool:
    """Whether a text is about air, rail or other travel (held out of everything we add)."""
    return bool(_TRAVEL.search(text))


def _frame(rows: pd.DataFrame, file: str, source: str, kind: str) -> pd.DataFrame:
    rows = rows.assign(file=file, source=source, kind=kind)
    for column, default in (("industry", "other"), ("channel", ""), ("native", "")):
        if column not in rows:
            rows[column] = default
    rows["row_id"] = rows["row_id"].astype(str)
    rows["text"] = rows["text"].fillna("").astype(str).str.strip()
    rows["native"] = rows["native"].fillna("").astype(str)
    rows = rows[(rows["text"].str.len() > 0) & ~rows["text"].map(is_travel)]
    rows = rows.drop_duplicates(subset="row_id", keep="first")
    return rows[COLUMNS].reset_index(drop=True)


def read_brand_support_tweets(data_dir: Path) -> pd.DataFrame:
    file = "brand_support_tweets/inbound_tweets.csv"
    raw = pd.read_csv(require_dataset_file(data_dir / file), dtype={"tweet_id": str})
    rows = pd.DataFrame(
        {
            "row_id": raw["corpus"].astype(str) + ":" + raw["tweet_id"].astype(str),
            "text": raw["text"],
            "industry": raw["brand"].map(BRAND_INDUSTRY).fillna("other"),
            "native": raw["brand"].fillna(""),
        }
    )
    rows = rows[rows["industry"] != "travel"]
    return _frame(rows, file, "brand_support_tweets", "social")


def read_brand_complaint_tweets(data_dir: Path) -> pd.DataFrame:
    file = "brand_complaint_tweets/complaints.csv"
    raw = pd.read_csv(require_dataset_file(data_dir / file), dtype={"tweet_id": str})
    general = raw["domain"].isin(["random_tweet", "random_reply"])
    rows = pd.DataFrame(
        {
            "row_id": raw["tweet_id"],
            "text": raw["text"],
            "industry": raw["domain"].where(~general, "general"),
            "native": "complaint=" + raw["complaint"].astype(str) + "|" + raw["domain"].astype(str),
        }
    )
    return _frame(rows, file, "brand_complaint_tweets", "social")


def read_neobank_app_reviews(data_dir: Path) -> pd.DataFrame:
    file = "neobank_app_reviews/app_store_reviews.csv"
    raw = pd.read_csv(require_dataset_file(data_dir / file))
    rows = pd.DataFrame(
        {
            "row_id": raw["review_id"],
            "text": raw["text"],
            "industry": "banking",
            "native": "rating=" + raw["rating"].astype(str) + "|" + raw["app"].astype(str),
        }
    )
    return _frame(rows, file, "neobank_app_reviews", "review")


def read_womens_clothing_reviews(data_dir: Path) -> pd.DataFrame:
    file = "womens_clothing_reviews/Womens Clothing E-Commerce Reviews.csv"
    raw = pd.read_csv(require_dataset_file(data_dir / file))
    raw = raw[raw["Review Text"].notna()]
    title = raw["Title"].fillna("").astype(str).str.strip()
    body = raw["Review Text"].astype(str).str.strip()
    rows = pd.DataFrame(
        {
            "row_id": raw.iloc[:, 0],
            "text": (title + ". ").where(title.str.len() > 0, "") + body,
            "industry": "apparel",
            "native": "rating=" + raw["Rating"].astype(str),
        }
    )
    return _frame(rows, file, "womens_clothing_reviews", "review")


def read_mams(data_dir: Path) -> pd.DataFrame:
    parts = []
    for split in ("train", "val", "test"):
        file = f"mams/ACSA/{split}.xml"
        tree = ET.parse(require_dataset_file(data_dir / file))
        rows = []
        for index, sentence in enumerate(tree.getroot().iter("sentence")):
            aspects = sorted(f"{a.get('category')}:{a.get('polarity')}" for a in sentence.iter("aspectCategory"))
            rows.append({"row_id": index, "text": sentence.findtext("text") or "", "native": "|".join(aspects)})
        parts.append(_frame(pd.DataFrame(rows).assign(industry="restaurants"), file, "mams", "review"))
    return pd.concat(parts, ignore_index=True)


def read_multidogo_chats(data_dir: Path) -> pd.DataFrame:
    file = "multidogo_chats/conversations.jsonl"
    rows = []
    with require_dataset_file(data_dir / file).open(encoding="utf-8") as lines:
        for line in lines:
            chat = json.loads(line)
            turns = chat["turns"][:MAX_CHAT_TURNS]
            rows.append(
                {
                    "row_id": chat["conversation_id"],
                    "text": "\n".join(t["text"].strip() for t in turns if t["text"].strip()),
                    "industry": chat["domain"],
                    "native": "|".join(dict.fromkeys(t["intent"] for t in turns)),
                }
            )
    return _frame(pd.DataFrame(rows).assign(channel="chat"), file, "multidogo_chats", "transcript")


def read_dstc11_call_utterances(data_dir: Path) -> pd.DataFrame:
    file = "dstc11_call_utterances/utterances.jsonl"
    raw = pd.read_json(require_dataset_file(data_dir / file), lines=True)
    rows = pd.DataFrame(
        {
            "row_id": raw["utterance_id"],
            "text": raw["text"],
            "industry": raw["domain"],
            "native": raw["intent"],
            "channel": "phone",
        }
    )
    return _frame(rows, file, "dstc11_call_utterances", "transcript")


def read_nhs_patient_surveys(data_dir: Path) -> pd.DataFrame:
    v6_file = "nhs_patient_surveys/fft_v6_framework.csv"
    v6 = pd.read_csv(require_dataset_file(data_dir / v6_file))
    # Patient transport answers are about journeys: the travel domain is held out.
    v6 = v6[~v6["service_type"].fillna("").str.contains("Transport", case=False)]
    first = pd.DataFrame(
        {
            "row_id": v6["comment_id"],
            "text": v6["text"],
            "native": "sentiment=" + v6["comment_sentiment_1to5"].astype(str) + "|" + v6["categories"].fillna(""),
        }
    )
    p1_file = "nhs_patient_surveys/fft_phase1.csv"
    p1 = pd.read_csv(require_dataset_file(data_dir / p1_file))
    second = pd.DataFrame(
        {
            "row_id": p1["row_index"],
            "text": p1["text"],
            "native": "criticality=" + p1["criticality"].astype(str) + "|" + p1["label"].fillna(""),
        }
    )
    return pd.concat(
        [
            _frame(first.assign(industry="healthcare"), v6_file, "nhs_patient_surveys", "survey"),
            _frame(second.assign(industry="healthcare"), p1_file, "nhs_patient_surveys", "survey"),
        ],
        ignore_index=True,
    )


def read_helpdesk_csat_survey(data_dir: Path) -> pd.DataFrame:
    file = "helpdesk_csat_survey/comments.csv"
    raw = pd.read_csv(require_dataset_file(data_dir / file))
    rows = pd.DataFrame(
        {
            "row_id": raw["comment_id"],
            "text": raw["text"],
            "industry": "it_services",
            "native": "score=" + raw["score_1to4"].astype(str),
        }
    )
    return _frame(rows, file, "helpdesk_csat_survey", "survey")


def read_banking77(data_dir: Path) -> pd.DataFrame:
    parts = []
    for split in ("train", "test"):
        file = f"banking77_nlupp/banking77/{split}.csv"
        raw = pd.read_csv(require_dataset_file(data_dir / file))
        rows = pd.DataFrame(
            {"row_id": raw.index, "text": raw["text"], "industry": "banking", "native": raw["category"]}
        )
        # Typed into a bank's chat or app: short customer turns.
        parts.append(_frame(rows.assign(channel=""), file, "banking77", "transcript"))
    return pd.concat(parts, ignore_index=True)


def read_bitext_support(data_dir: Path) -> pd.DataFrame:
    file = "bitext_support/Bitext_Sample_Customer_Support_Training_Dataset.csv"
    raw = pd.read_csv(require_dataset_file(data_dir / file))
    rows = pd.DataFrame(
        {"row_id": raw.index, "text": raw["instruction"], "industry": "ecommerce", "native": raw["intent"]}
    )
    return _frame(rows, file, "bitext_support", "transcript")


def read_tweeteval_sentiment(data_dir: Path) -> pd.DataFrame:
    parts = []
    for split in ("val", "test"):
        file = f"tweeteval_sentiment/{split}_text.txt"
        texts = require_dataset_file(data_dir / file).read_text(encoding="utf-8").splitlines()
        labels = (data_dir / f"tweeteval_sentiment/{split}_labels.txt").read_text(encoding="utf-8").split()
        rows = pd.DataFrame({"row_id": range(len(texts)), "text": texts, "native": labels})
        parts.append(_frame(rows.assign(industry="general"), file, "tweeteval_sentiment", "social"))
    return pd.concat(parts, ignore_index=True)


def read_cfpb_complaints(data_dir: Path) -> pd.DataFrame:
    """US consumer-finance complaint narratives (the full-schema sample, keyed by Complaint ID).

    Written into the CFPB's web form (or by phone or letter, transcribed): free-text answers, so
    kind ``survey``, as a form-based complaint reaches the service. Personal details are already
    masked as ``XXXX``."""
    file = "cfpb_complaints/cfpb_complaints_sample_fullschema.csv"
    raw = pd.read_csv(require_dataset_file(data_dir / file))
    raw = raw[raw["Consumer complaint narrative"].notna()]
    rows = pd.DataFrame(
        {
            "row_id": raw["Complaint ID"],
            "text": raw["Consumer complaint narrative"],
            "industry": "finance",
            "native": raw["Product"].fillna("") + " / " + raw["Issue"].fillna(""),
        }
    )
    return _frame(rows, file, "cfpb_complaints", "survey")


#: Every source the corpus can draw from, by name.
CORPUS_SOURCES: dict[str, Callable[[Path], pd.DataFrame]] = {
    "brand_support_tweets": read_brand_support_tweets,
    "brand_complaint_tweets": read_brand_complaint_tweets,
    "neobank_app_reviews": read_neobank_app_reviews,
    "womens_clothing_reviews": read_womens_clothing_reviews,
    "mams": read_mams,
    "multidogo_chats": read_multidogo_chats,
    "dstc11_call_utterances": read_dstc11_call_utterances,
    "nhs_patient_surveys": read_nhs_patient_surveys,
    "helpdesk_csat_survey": read_helpdesk_csat_survey,
    "banking77": read_banking77,
    "bitext_support": read_bitext_support,
    "tweeteval_sentiment": read_tweeteval_sentiment,
    "cfpb_complaints": read_cfpb_complaints,
}


def read_source(name: str, data_dir: Path) -> pd.DataFrame:
    """One source's texts with their keys (see the module docstring for the columns)."""
    try:
        reader = CORPUS_SOURCES[name]
    except KeyError as exc:
        raise DataError(f"Unknown corpus source '{name}'; expected one of {sorted(CORPUS_SOURCES)}") from exc
    return reader(Path(data_dir))
