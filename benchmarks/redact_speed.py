"""PII redaction speed and accuracy: this checkout's ``text/redact.py`` against another revision's.

Redacts the same realistic texts with two implementations of ``feedback_nlp/text/redact.py``:
the working tree's and the one at ``--before`` (a git revision; its file is loaded from
``git show``, so both run in this process on the same interpreter). Texts: up to
``--texts`` feedback texts from the shared data (CFPB complaint narratives, support tweets,
app reviews; synthetic sentences where the data is absent), once as written and once with
personal data appended to every tenth (phones in several countries' formats, e-mails, cards,
IBANs, SSNs). Reports texts per second for each (best of ``--repeats``), and how many
``tests/text/test_redact.py``-style cases each gets right (``ACCURACY_CASES`` below: the
redaction tests' cases plus the international formats and non-phones added with
``phonenumbers``).

    python benchmarks/redact_speed.py --before HEAD~1 --texts 5000
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import itertools
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (
    DEFAULT_OUT_DIR,
    REPO_ROOT,
    command_line,
    load_average,
    machine_info,
    md_header,
    md_table,
    now_utc,
    publish,
)  # noqa: E402

MODULE = "feedback_nlp/text/redact.py"

#: Personal data appended to every tenth text in the "with PII" corpus.
PII_SNIPPETS = (
    "Call me on (555) 123-4567 tomorrow.",
    "My mobile is 07700 900123.",
    "Reach me at +44 20 7946 0958 after 5.",
    "Ring 06 12 34 56 78 s'il vous plaît.",
    "Office +49 30 1234567 ext. 12.",
    "WhatsApp +91 98765 43210.",
    "Mail jane.doe@example.com please.",
    "Card 4111 1111 1111 1111 was charged twice.",
    "Refund to DE89 3704 0044 0532 0130 00.",
    "My SSN 123-45-6789 was exposed.",
)

#: (text, the redaction users expect). The redaction tests' phone and ordinary-text cases and
#: the formats ``phonenumbers`` reads better.
ACCURACY_CASES: tuple[tuple[str, str], ...] = (
    # No label before the number: "call me on" alone catches any 7-15 digits.
    *(
        (f"They gave {phone} yesterday", "They gave [PHONE] yesterday")
        for phone in (
            "+1 (555) 123-4567",
            "(555) 123-4567",
            "555-123-4567",
            "555.123.4567",
            "1-800-555-0199",
            "+44 20 7946 0958",
            "+44 (0)20 7946 0958",
            "+447700900123",
            "0044 20 7946 0958",
            "07700 900123",
            "07700 900 123",
            "07700900123",
            "020 7946 0958",
            "0161-496-0000",
            "+33 6 12 34 56 78",
            "06 12 34 56 78",
            "+49 30 1234567",
            # International formats
            "+91 98765 43210",
            "+81 3-1234-5678",
            "+61 2 9876 5432",
            "+55 11 91234-5678",
            "+353 1 234 5678",
            "0207 946 0958",
            "555-123-4567 ext. 89",
            "+1 555 123 4567 x 12",
            # Other countries' national numbers after a trunk 0
            "02 9876 5432",
            "(02) 9876 5432",
            "03-1234-5678",
        )
    ),
    ("call me at 5551234567", "call me at [PHONE]"),
    ("my phone: 12345678", "my phone: [PHONE]"),
    ("Tel. no. 0301234567", "Tel. no. [PHONE]"),
    *(
        (text, text)
        for text in (
            "I was charged {$150.00} on XX/XX/2018 and again on XX/XX/XXXX.",
            "They took $1,200 and then $1,200,000.00 from my account",
            "Fee of 1.234.567,89 € was wrong",
            "On 2024-03-01 at 10:30 the branch was closed",
            "Opening hours 9:00-17:00, 12/31/2023, 31.12.2023",
            "XXXX XXXX XXXX 1234 and (XXX) XXX-XXXX",
            "Account ending 1234, order #123456789",
            "1,234,567,890 points",
            "Rated 4.5/5 after 12345 reviews",
            "ticket 2024-0312-5567",
            "ref 123-45-67890",
            "order 2125551234 arrived",
            "Dial +999 123 4567 for nothing",  # no such country code
            "Order 4111111111111112 never arrived",
        )
    ),
    ("IBAN: DE89 3704 0044 0532 0130 00. Thanks", "IBAN: [IBAN]. Thanks"),
    ("IBAN: MA64 0115 1900 0001 2050 0053 4921. Thanks", "IBAN: [IBAN]. Thanks"),  # outside the SWIFT registry
    ("IBAN: GB82 WEST 1234 5698 7654 33. Thanks", "IBAN: GB82 WEST 1234 5698 7654 33. Thanks"),
    ("My card is 4111 1111 1111 1111, thanks", "My card is [CARD], thanks"),
    ("SSN 123-45-6789 on file", "SSN [SSN] on file"),
)


def load_texts(limit: int) -> list[str]:
    """Up to ``limit`` feedback texts from the shared data, mixed; synthetic ones where it is absent."""
    from feedback_nlp.settings import get_settings

    data = get_settings().data_dir
    sources = (
        (data / "cfpb_complaints" / "cfpb_narratives_product4class.csv", "Consumer complaint narrative"),
        (data / "brand_support_tweets" / "inbound_tweets.csv", "text"),
        (data / "neobank_app_reviews" / "app_store_reviews.csv", "text"),
    )
    per_source: list[list[str]] = []
    for path, column in sources:
        if path.is_file():
            with path.open(encoding="utf-8", newline="") as handle:
                rows = (row.get(column) or "" for row in csv.DictReader(handle))
                per_source.append([text for text in itertools.islice(rows, limit) if text.strip()])
    texts = [text for group in itertools.zip_longest(*per_source) for text in group if text]
    if not texts:
        texts = [
            f"The delivery took {i % 9 + 2} days, order {100000 + i} cost $45.{i % 100:02d}." for i in range(limit)
        ]
    return (texts * (limit // len(texts) + 1))[:limit]


def with_pii(texts: list[str]) -> list[str]:
    """Every tenth text with one of :data:`PII_SNIPPETS` appended."""
    return [
        f"{text} {PII_SNIPPETS[i // 10 % len(PII_SNIPPETS)]}" if i % 10 == 0 else text for i, text in enumerate(texts)
    ]


def load_module(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look the module up while it loads
    spec.loader.exec_module(module)
    return module


def module_at(revision: str, folder: Path) -> ModuleType:
    source = subprocess.run(
        ["git", "show", f"{revision}:{MODULE}"], cwd=REPO_ROOT, check=True, capture_output=True, text=True
    ).stdout
    path = folder / f"redact_{revision.replace('/', '_').replace('~', '_')}.py"
    path.write_text(source, encoding="utf-8")
    return load_module(path, "redact_before")


def texts_per_s(redact: Callable[[str], str], texts: list[str], repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for text in texts:
            redact(text)
        best = min(best, time.perf_counter() - start)
    return round(len(texts) / best, 1)


#: Long inputs that are all digit groups: the slowest shapes for the phone matcher (one run each).
WORST_CASE_SHAPES = {
    "card groups ('4111 ' x 40,000)": "4111 " * 40_000,
    "dotted ('192.168.' x 25,000)": "192.168." * 25_000,
    "200,000 random of '0-9 -.+()'": "".join(random.Random(0).choices("0123456789 -.+()", k=200_000)),
}


def differences(before: ModuleType, after: ModuleType, texts: list[str], shown: int = 10) -> dict[str, Any]:
    """The texts whose findings differ between the two implementations, with the first few."""
    examples = []
    count = 0
    for text in texts:
        old = {(s.start, s.end, s.kind.value) for s in before.find_pii(text)}
        new = {(s.start, s.end, s.kind.value) for s in after.find_pii(text)}
        if old != new:
            count += 1
            if len(examples) < shown:
                examples += [
                    {
                        "only": who,
                        "kind": kind,
                        "found": text[start:end],
                        "context": text[max(0, start - 30) : end + 10],
                    }
                    for who, spans in (("before", old - new), ("after", new - old))
                    for start, end, kind in sorted(spans)
                ]
    return {"texts": len(texts), "differ": count, "examples": examples}


def worst_case_seconds(redact: Callable[[str], str]) -> dict[str, float]:
    seconds = {}
    for name, text in WORST_CASE_SHAPES.items():
        start = time.perf_counter()
        redact(text)
        seconds[name] = round(time.perf_counter() - start, 2)
    return seconds


def accuracy(redact: Callable[[str], str]) -> dict[str, Any]:
    wrong = [
        {"text": text, "expected": expected, "got": redact(text)}
        for text, expected in ACCURACY_CASES
        if redact(text) != expected
    ]
    return {"right": len(ACCURACY_CASES) - len(wrong), "cases": len(ACCURACY_CASES), "wrong": wrong}


def run(args: argparse.Namespace) -> dict[str, Any]:
    texts = load_texts(args.texts)
    corpora = {"as written": texts, "every tenth with PII": with_pii(texts)}
    with tempfile.TemporaryDirectory() as folder:
        implementations = {
            f"before ({args.before})": module_at(args.before, Path(folder)),
            "after (working tree)": load_module(REPO_ROOT / MODULE, "redact_after"),
        }
        load_start = load_average()
        speed = {
            name: {corpus: texts_per_s(module.redact, items, args.repeats) for corpus, items in corpora.items()}
            for name, module in implementations.items()
        }
        load_end = load_average()
        scores = {name: accuracy(module.redact) for name, module in implementations.items()}
        worst = {name: worst_case_seconds(module.redact) for name, module in implementations.items()}
        before, after = implementations.values()
        differ = differences(before, after, corpora["as written"])
    return {
        "date": now_utc(),
        "command": command_line(),
        "machine": machine_info(),
        "load_average_start": load_start,
        "load_average_end": load_end,
        "texts": len(texts),
        "mean_chars": round(sum(map(len, texts)) / len(texts), 1),
        "repeats": args.repeats,
        "texts_per_s": speed,
        "accuracy": scores,
        "worst_case_s": worst,
        "differences": differ,
    }


def render(result: dict[str, Any]) -> list[str]:
    lines = md_header("PII redaction: speed and accuracy before and after phonenumbers / python-stdnum", result)
    lines += [
        "The serving path is the first table; the worst cases are the last one. The service caps a",
        "text at 20,000 characters (`FEEDBACK_NLP_MAX_TEXT_CHARS`), a tenth of those inputs.",
        "",
    ]
    corpora = list(next(iter(result["texts_per_s"].values())))
    lines += [
        f"{result['texts']} texts (mean {result['mean_chars']} characters: CFPB narratives, support tweets, "
        f"app reviews), one process, one core, best of {result['repeats']}. Load average at the end: "
        + " / ".join(f"{x:.2f}" for x in result["load_average_end"])
        + " (the CPU is shared).",
        "",
        "## Texts per second",
        "",
        *md_table(
            ["implementation", *corpora],
            [[name, *(f"{row[c]:,.0f}" for c in corpora)] for name, row in result["texts_per_s"].items()],
        ),
        "",
        "## Accuracy on the redaction cases",
        "",
        *md_table(
            ["implementation", "right", "of"],
            [[name, row["right"], row["cases"]] for name, row in result["accuracy"].items()],
        ),
    ]
    for name, row in result["accuracy"].items():
        if row["wrong"]:
            lines += ["", f"{name} gets wrong:", ""]
            lines += [f"- `{w['text']}` → `{w['got']}` (expected `{w['expected']}`)" for w in row["wrong"]]
    differ = result["differences"]
    lines += [
        "",
        "## Where the two disagree on the texts as written",
        "",
        f"{differ['differ']} of {differ['texts']} texts get different findings.",
    ]
    if differ["examples"]:
        lines += [
            "",
            *(f"- only {e['only']}: {e['kind']} `{e['found']}` in `…{e['context']}…`" for e in differ["examples"]),
        ]
    shapes = list(next(iter(result["worst_case_s"].values())))
    lines += [
        "",
        "## Worst cases: long inputs of digit groups (seconds, one run)",
        "",
        *md_table(
            ["implementation", *shapes],
            [[name, *(row[s] for s in shapes)] for name, row in result["worst_case_s"].items()],
        ),
    ]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", default="HEAD", help="git revision of the implementation to compare with")
    parser.add_argument("--texts", type=int, default=5000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out-dir", type=Path, default=DEFAULT_OUT_DIR)
    publish("redact_speed", parser.parse_args().out_dir, run(parser.parse_args()), render)


if __name__ == "__main__":
    main()
