"""Behavioural tests of a pipeline, CheckList-style (Ribeiro et al., ACL 2020).

Cases are written from templates across industries and all four kinds of feedback:

- **MFT** (minimum functionality): a short, clear text whose sentiment, stage or touchpoint no
  reader would dispute, per stage and per touchpoint; negation and "but" clauses;
- **INV** (invariance): adding a handle, a URL, a hashtag or an emoji, or changing a person's
  name, a brand or a place, leaves sentiment, stage and touchpoints unchanged;
- **DIR** (directional): adding a complaint never makes a text more positive;
- **MFT service praise**: praise of how a problem, a refund, a delivery or a call was handled
  ("Had a problem with my kettle but the team sorted it out right away") is ``positive``;
- **MFT sarcasm**: a complaint with bare praise or thanks beside it ("Three weeks and still no
  reply about my kettle. Good job.") is ``negative``, as the taxonomy counts sarcasm by what it means;
  the same praise after a compliment, or thanks after a question, keeps the text's label (MFT
  ``sign-off``).

``benchmarks/behaviour.py`` runs the whole suite and reports pass rates per capability;
``tests/train/test_behaviour.py`` runs a fixed subset on the shipped bundle.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from feedback_nlp.taxonomy.records import FeedbackKind, FeedbackRecord, Prediction

CaseType = Literal["MFT", "INV", "DIR"]

#: Per industry: a product or service, the place customers visit, and a brand name.
INDUSTRIES: dict[str, dict[str, str]] = {
    "retail": {"product": "kettle", "place": "store", "brand": "Shopwell"},
    "apparel": {"product": "winter coat", "place": "store", "brand": "Threadline"},
    "electronics": {"product": "laptop", "place": "store", "brand": "Voltix"},
    "banking": {"product": "debit card", "place": "branch", "brand": "Northbank"},
    "insurance": {"product": "home insurance policy", "place": "office", "brand": "Safecover"},
    "telecom": {"product": "broadband", "place": "shop", "brand": "Linkwave"},
    "utilities": {"product": "energy tariff", "place": "office", "brand": "Brightpower"},
    "software": {"product": "photo editing software", "place": "office", "brand": "Pixelsoft"},
    "gaming": {"product": "games console", "place": "store", "brand": "Playforge"},
    "food": {"product": "pizza", "place": "restaurant", "brand": "Crustco"},
    "healthcare": {"product": "treatment", "place": "clinic", "brand": "Riverside Clinic"},
    "media": {"product": "streaming subscription", "place": "shop", "brand": "Streamly"},
}
KINDS = [FeedbackKind.REVIEW, FeedbackKind.SOCIAL, FeedbackKind.SURVEY, FeedbackKind.TRANSCRIPT]


@dataclass(frozen=True)
class Case:
    """One behavioural check: texts to classify and what must hold of their predictions."""

    id: str
    type: CaseType
    capability: str
    kind: FeedbackKind
    industry: str
    texts: tuple[str, ...]
    #: MFT: the expected labels (``sentiment``, ``journey_stage``, ``touchpoint`` = one that must be given).
    expect: dict[str, str] = field(default_factory=dict)

    def records(self) -> list[FeedbackRecord]:
        return [_record(text, self.kind) for text in self.texts]


def _record(text: str, kind: FeedbackKind) -> FeedbackRecord:
    if kind is FeedbackKind.TRANSCRIPT:  # the agent's turn must not change anything
        text = f"Customer: {text}\nAgent: Thanks for telling us, let me look into that for you."
    return FeedbackRecord(kind=kind, text=text)


# ----------------------------------------------------------------------------- templates

STAGE_TEMPLATES: dict[str, list[tuple[str, str]]] = {
    # stage: (template, sentiment)
    "awareness": [
        ("I saw your TV advert for the new {product} and it made me laugh", "positive"),
        ("Your promotional newsletter about the {product} sale is misleading and spammy", "negative"),
    ],
    "consideration": [
        ("How much does the {product} cost and is it available in my area?", "neutral"),
        (
            "Before I buy, can you tell me what the {product} includes and how it compares to the premium plan?",
            "neutral",
        ),
    ],
    "purchase": [
        ("I tried to buy the {product} but checkout failed three times", "negative"),
        ("Signing up for the {product} took two minutes, so easy", "positive"),
    ],
    "onboarding": [
        ("My {product} order still hasn't been delivered and tracking hasn't updated in a week", "negative"),
        ("Setting up my new {product} was quick and the welcome guide was clear", "positive"),
    ],
    "usage": [
        ("The {product} stopped working after a week of normal use", "negative"),
        ("I use the {product} every day and it works perfectly", "positive"),
    ],
    "billing": [
        ("I was charged twice for the {product} this month and still have no refund", "negative"),
        ("Why is there an extra fee on my latest bill for the {product}?", "negative"),
    ],
    "support": [
        ("I have contacted customer service four times about my {product} and nobody has helped", "negative"),
        ("The support team fixed the problem with my {product} in one call, brilliant", "positive"),
    ],
    "retention": [
        ("I want to cancel my {product} and switch to another provider", "negative"),
        ("Ten years as a loyal customer and I would recommend {brand} to anyone", "positive"),
    ],
}

TOUCHPOINT_TEMPLATES: dict[str, list[tuple[str, str]]] = {
    # touchpoint: (template, sentiment)
    "website": [("Your website keeps logging me out when I try to pay for the {product}", "negative")],
    "mobile_app": [("The app crashes every time I open it to check my {product}", "negative")],
    "phone": [("I was on hold on the phone for an hour to ask about my {product}", "negative")],
    "email": [("I emailed you about my {product} a week ago and nobody has replied to my email", "negative")],
    "chat": [("The live chat agent sorted out my {product} question in minutes", "positive")],
    "social_media": [("I sent you a DM on Twitter about my {product} three days ago and you ignored it", "negative")],
    "in_person": [("The staff at the {place} were rude and ignored me", "negative")],
    "delivery": [("The courier left the parcel with my {product} in the rain and the box was soaked", "negative")],
    "billing": [("My bill for the {product} is wrong again this month", "negative")],
    "product": [("The {product} broke after two days, really poor quality", "negative")],
    "marketing": [("Please stop sending me promotional offers for the {product}", "negative")],
}

SENTIMENT_TEMPLATES: list[tuple[str, str]] = [
    ("Really happy with my {product}, thank you {brand}!", "positive"),
    ("Absolutely disgusted with the {product}, worst experience ever", "negative"),
    ("What time does the {place} open on Sunday?", "neutral"),
]

NEGATION_TEMPLATES: list[tuple[str, str]] = [
    ("I am not happy with the {product} at all", "negative"),
    ("The {product} is not working and nobody can tell me why", "negative"),
    ("I have no complaints, the {product} is great", "positive"),
    ("Never had a single problem with the {product}, very pleased", "positive"),
]

BUT_TEMPLATES: list[tuple[str, str]] = [
    ("The staff were friendly but the {product} arrived broken and I am really annoyed", "negative"),
    ("The {product} looked nice but it stopped working after a day", "negative"),
    ("There was a long wait but the team sorted everything and I am delighted with the {product}", "positive"),
]

#: A complaint followed (or preceded) by bare praise or thanks, which there means its opposite:
#: the taxonomy counts sarcasm by what it means, so these are ``negative``. A known weakness:
#: training copies of complaints with such praise added fixed most of these cases but cost
#: held-out sentiment on real reviews and surveys, so none ship (docs/results.md, "Sarcasm").
SARCASM_COMPLAINTS = [
    "Three weeks and still no reply about my {product}.",
    "Waited 40 minutes at the {place} and nobody came to help.",
    "Charged twice for my {product} this month.",
]
SARCASM_PRAISE = [
    "{complaint} Good job.",
    "{complaint} Nicely done {brand}.",
    "{complaint} Awesome.",
    "{complaint} Much appreciated {brand}!",
    "{complaint} Terrific service as always.",
    "Lovely. {complaint}",
]
#: The same praise after a compliment, and thanks after a question, mean what they say: the
#: label is the text's (MFT ``sign-off``).
SIGN_OFF_TEXTS: list[tuple[str, str]] = [
    ("The team sorted out my {product} in one visit.", "positive"),
    ("Could you tell me if the {place} is open on Sunday?", "neutral"),
]

#: Praise of what the company did about a problem, a refund, a delivery or a wait: the words
#: name operations that complaints name too, but the writer is pleased (MFT ``service-praise``).
#: A known weakness: most come out ``negative`` (docs/results.md, "Praise of service").
SERVICE_PRAISE_TEMPLATES = [
    "Had a problem with my {product} but the team sorted it out right away",
    "The staff at the {place} went out of their way to help me",
    "They refunded me for the {product} the same day, no questions asked",
    "My {product} order arrived a day earlier than promised, great service",
    "Quicker than I expected and no problems at all with the {product}",
    "I was dreading calling about my {product} but the agent was brilliant",
]

COMPLAINTS = [
    "But the delivery was three days late.",
    "However the staff were really rude to me.",
    "But I was charged twice.",
]

PERTURBATIONS: dict[str, list[tuple[str, str]]] = {
    # capability: (prefix, suffix)
    "handle": [("@{handle} ", ""), ("", " @{handle}")],
    "url": [("", " https://t.co/a8Xk2LmQ"), ("", " see www.example.com/help")],
    "hashtag": [("", " #{tag}"), ("", " #customerfeedback")],
    "emoji": [("", " 👀"), ("", " 📝")],
}
NAMES = [("Sarah", "Mohammed"), ("Tom", "Aiko")]
PLACES = [("Leeds", "Denver"), ("Glasgow", "Toronto")]


def _fill(template: str, industry: str) -> str:
    return template.format(**INDUSTRIES[industry])


def build_suite() -> list[Case]:
    """Every case of the suite, in a fixed order."""
    cases: list[Case] = []
    industries = list(INDUSTRIES)
    kind_cycle = itertools.cycle(KINDS)

    def add(type_: CaseType, capability: str, industry: str, texts: Sequence[str], **expect: str) -> None:
        cases.append(
            Case(
                f"{capability}-{len(cases):04d}",
                type_,
                capability,
                next(kind_cycle),
                industry,
                tuple(texts),
                dict(expect),
            )
        )

    for industry in industries:
        for template, sentiment in SENTIMENT_TEMPLATES:
            add("MFT", "sentiment", industry, [_fill(template, industry)], sentiment=sentiment)
        for template, sentiment in NEGATION_TEMPLATES:
            add("MFT", "negation", industry, [_fill(template, industry)], sentiment=sentiment)
        for template, sentiment in BUT_TEMPLATES:
            add("MFT", "but-clause", industry, [_fill(template, industry)], sentiment=sentiment)
    for i, (stage, templates) in enumerate(STAGE_TEMPLATES.items()):
        for j, (template, _sentiment) in enumerate(templates):
            for industry in industries[(i + j) % 4 :: 3]:
                add("MFT", "stage", industry, [_fill(template, industry)], journey_stage=stage)
    for i, (touchpoint, templates) in enumerate(TOUCHPOINT_TEMPLATES.items()):
        for template, sentiment in templates:
            for industry in industries[i % 3 :: 3]:
                add(
                    "MFT",
                    "touchpoint",
                    industry,
                    [_fill(template, industry)],
                    touchpoint=touchpoint,
                    sentiment=sentiment,
                )
    for text in (
        "What a match last night, that goalkeeper was unbelievable",
        "Can't believe it's snowing again, so cold today",
        "Happy birthday to my little sister, love you loads",
        "That new album is on repeat all weekend",
    ):
        add("MFT", "stage", "general", [text], journey_stage="none")

    # Invariance: the MFT texts with markup added or people, brands and places changed.
    bases = [
        c
        for c in cases
        if c.type == "MFT" and c.capability in {"stage", "touchpoint", "sentiment"} and c.industry != "general"
    ]
    for n, base in enumerate(bases):
        capability = list(PERTURBATIONS)[n % len(PERTURBATIONS)]
        prefix, suffix = PERTURBATIONS[capability][n % 2]
        info = INDUSTRIES[base.industry]
        handle, tag = info["brand"].replace(" ", ""), info["brand"].replace(" ", "")
        changed = f"{prefix.format(handle=handle)}{base.texts[0]}{suffix.format(handle=handle, tag=tag)}"
        add("INV", capability, base.industry, [base.texts[0], changed])
    for industry in industries:
        for first, second in NAMES:
            add(
                "INV",
                "name",
                industry,
                [
                    f"{name} at the {INDUSTRIES[industry]['place']} was so helpful "
                    f"with my {INDUSTRIES[industry]['product']}"
                    for name in (first, second)
                ],
            )
        for first, second in PLACES:
            add(
                "INV",
                "place",
                industry,
                [
                    f"The {INDUSTRIES[industry]['place']} in {place} never has "
                    f"the {INDUSTRIES[industry]['product']} in stock"
                    for place in (first, second)
                ],
            )
        other = INDUSTRIES[industries[(industries.index(industry) + 5) % len(industries)]]["brand"]
        add(
            "INV",
            "brand",
            industry,
            [
                f"I asked {brand} about my {INDUSTRIES[industry]['product']} and got a clear answer in a day"
                for brand in (INDUSTRIES[industry]["brand"], other)
            ],
        )

    # Direction: a complaint added never makes a text more positive.
    positive_or_neutral = [c for c in cases if c.type == "MFT" and c.expect.get("sentiment") in {"positive", "neutral"}]
    for n, base in enumerate(positive_or_neutral):
        add(
            "DIR",
            "added-complaint",
            base.industry,
            [base.texts[0], f"{base.texts[0].rstrip('.!?')}. {COMPLAINTS[n % len(COMPLAINTS)]}"],
        )

    # Sarcasm, last, so that adding it left every earlier case (and its kind) as it was.
    for n, (industry, complaint) in enumerate(itertools.product(industries, SARCASM_COMPLAINTS)):
        praise = SARCASM_PRAISE[n % len(SARCASM_PRAISE)]
        text = praise.format(complaint=complaint, brand=INDUSTRIES[industry]["brand"])
        add("MFT", "sarcasm", industry, [_fill(text, industry)], sentiment="negative")
    for n, (industry, (plain, sentiment)) in enumerate(itertools.product(industries, SIGN_OFF_TEXTS)):
        if sentiment == "neutral":
            text = f"{plain} Much appreciated {{brand}}!"
        else:
            text = SARCASM_PRAISE[n % len(SARCASM_PRAISE)].format(complaint=plain, brand="{brand}")
        add("MFT", "sign-off", industry, [_fill(text, industry)], sentiment=sentiment)
    # Service praise, after the sarcasm cases for the same reason.
    for template in SERVICE_PRAISE_TEMPLATES:
        for industry in industries:
            add("MFT", "service-praise", industry, [_fill(template, industry)], sentiment="positive")
    return cases


# ----------------------------------------------------------------------------- running


@dataclass
class CaseResult:
    case: Case
    passed: bool
    got: list[dict[str, Any]]


def _view(prediction: Prediction) -> dict[str, Any]:
    return {
        "sentiment": prediction.sentiment.label,
        "score": prediction.sentiment.score,
        "journey_stage": prediction.journey_stage.label,
        "touchpoints": sorted(t.label for t in prediction.touchpoints),
    }


def check(case: Case, views: list[dict[str, Any]]) -> bool:
    """Whether the predictions for a case's texts pass it."""
    if case.type == "MFT":
        got = views[0]
        ok = True
        if "sentiment" in case.expect:
            ok &= got["sentiment"] == case.expect["sentiment"]
        if "journey_stage" in case.expect:
            ok &= got["journey_stage"] == case.expect["journey_stage"]
        if "touchpoint" in case.expect:
            ok &= case.expect["touchpoint"] in got["touchpoints"]
        return bool(ok)
    if case.type == "INV":
        first, second = views
        return all(first[key] == second[key] for key in ("sentiment", "journey_stage", "touchpoints"))
    before, after = views
    return bool(after["score"] <= before["score"] + 0.02)


def run_suite(pipeline: Any, cases: Sequence[Case]) -> list[CaseResult]:
    """Classify every case's texts in one call and check each case."""
    records = [record for case in cases for record in case.records()]
    views = [_view(p) for p in pipeline.predict(records)]
    results, at = [], 0
    for case in cases:
        got = views[at : at + len(case.texts)]
        at += len(case.texts)
        results.append(CaseResult(case, check(case, got), got))
    return results


def pass_rates(results: Sequence[CaseResult]) -> dict[str, dict[str, Any]]:
    """Pass rate per test type, per capability (``MFT/stage``...) and overall per type."""
    groups: dict[str, list[bool]] = defaultdict(list)
    for result in results:
        groups[f"{result.case.type}/{result.case.capability}"].append(result.passed)
        groups[result.case.type].append(result.passed)
        groups[f"kind/{result.case.kind.value}"].append(result.passed)
    return {
        name: {"n": len(flags), "passed": sum(flags), "rate": round(sum(flags) / len(flags), 4)}
        for name, flags in sorted(groups.items())
    }
