"""Collect the annotators' labels into the corpus label file, measure agreement, settle disagreements.

    python training/corpus/collect_labels.py WORK_DIR [--settled WORK_DIR/settled.jsonl] [--round 2]

WORK_DIR is where ``draw_sample.py`` wrote the batches; the annotators wrote
``WORK_DIR/out/batch_NN.labels.jsonl``. This writes, in the project:

- ``annotations/cx_corpus.jsonl``: one line per text, keyed by shared file, row id and text hash;
- ``annotations/double_labelled.jsonl``: both annotators' labels for the items read twice, and the
  settled label where they disagreed;
- ``annotations/agreement.json``: Cohen's kappa for sentiment and stage, touchpoints micro-F1
  between the two annotators, before settlement;

and ``WORK_DIR/disagreements.jsonl`` (with texts, outside the project) for the adjudicator, who
answers in ``settled.jsonl`` (``{"item", "sentiment", "journey_stage", "touchpoints"}``).

With ``--round 2`` (or 3, 4, 5) the labels of a later draw (``draw_sample.py --round 2``) are added instead:
their lines in ``cx_corpus.jsonl`` and ``double_labelled.jsonl`` carry ``"round": N`` and
replace any earlier lines of that round (other rounds' lines are kept byte for byte), and the
round's agreement goes to ``annotations/agreement_roundN.json``.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path
from typing import Any, get_args

from sklearn.metrics import cohen_kappa_score

from feedback_nlp.corpus.annotations import ANNOTATIONS_DIR, Annotation, Intent
from feedback_nlp.corpus.sources import is_travel
from feedback_nlp.taxonomy.labels import SENTIMENT_LABELS, load_taxonomy

TASKS = ("sentiment", "journey_stage", "touchpoints")
INTENTS = set(get_args(Intent))
#: Annotators per round: batch ``b`` was read by annotator ``b % n + 1`` of its round.
N_ANNOTATORS = {1: 7, 2: 6, 3: 11, 4: 11, 5: 8}


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def read_labels(work: Path, items: dict[str, dict[str, Any]], round_: int = 1) -> dict[str, dict[str, Any]]:
    """Every annotator line by item id, checked against the taxonomy; the annotator is named by batch."""
    taxonomy = load_taxonomy()
    stages, touchpoints = set(taxonomy.stage_labels), set(taxonomy.touchpoint_labels)
    labels: dict[str, dict[str, Any]] = {}
    problems = []
    for path in sorted((work / "out").glob("batch_*.labels.jsonl")):
        batch = int(path.name.split("_")[1].split(".")[0])
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            try:
                label = json.loads(line)
            except json.JSONDecodeError:
                problems.append(f"{path.name}:{number}: not JSON")
                continue
            item = label.get("item")
            bad = (
                item not in items
                or label.get("sentiment") not in SENTIMENT_LABELS
                or label.get("journey_stage") not in stages
                or not isinstance(label.get("touchpoints"), list)
                or not set(label["touchpoints"]) <= touchpoints
            )
            if bad:
                problems.append(f"{path.name}:{number}: {line[:120]}")
                continue
            label["touchpoints"] = sorted(set(label["touchpoints"]))
            prefix = "a" if round_ == 1 else f"r{round_}a"
            label["annotator"] = f"{prefix}{batch % N_ANNOTATORS[round_] + 1}"
            labels[item] = label
    if problems:
        print(f"{len(problems)} unusable label line(s), e.g.:", *problems[:10], sep="\n  ")
    return labels


def _micro_f1(first: list[list[str]], second: list[list[str]]) -> float:
    both = sum(len(set(a) & set(b)) for a, b in zip(first, second, strict=True))
    total = sum(len(a) + len(b) for a, b in zip(first, second, strict=True))
    return 2 * both / total if total else 1.0


def agreement(pairs: list[tuple[dict[str, Any], dict[str, Any]]]) -> dict[str, Any]:
    """Agreement between the two readings of each double-labelled item."""
    first, second = [a for a, _ in pairs], [b for _, b in pairs]
    out: dict[str, Any] = {"items": len(pairs)}
    for task in ("sentiment", "journey_stage"):
        x, y = [a[task] for a in first], [b[task] for b in second]
        out[task] = {
            "cohen_kappa": round(float(cohen_kappa_score(x, y)), 4),
            "raw_agreement": round(sum(a == b for a, b in zip(x, y, strict=True)) / len(x), 4),
        }
    x_tp, y_tp = [a["touchpoints"] for a in first], [b["touchpoints"] for b in second]
    out["touchpoints"] = {
        "micro_f1": round(_micro_f1(x_tp, y_tp), 4),
        "exact_set_agreement": round(sum(a == b for a, b in zip(x_tp, y_tp, strict=True)) / len(x_tp), 4),
    }
    return out


def _write_round(path: Path, lines: list[str], round_: int) -> None:
    """Write ``lines`` as the round's part of ``path``: round 1 owns the whole file; a later round
    replaces only its own lines (``"round": N``) and keeps every other line as it was."""
    kept: list[str] = []
    if round_ != 1 and path.exists():
        kept = [
            line
            for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip() and json.loads(line).get("round", 1) != round_
        ]
    path.write_text("".join(line + "\n" for line in kept + lines), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("work", type=Path)
    parser.add_argument("--settled", type=Path, default=None)
    parser.add_argument("--round", type=int, default=1, choices=sorted(N_ANNOTATORS))
    args = parser.parse_args()
    items = {row["item"]: row for row in _read_jsonl(args.work / "items.jsonl")}
    texts = {}
    for path in sorted(args.work.glob("batch_*.jsonl")):
        texts.update({row["item"]: row for row in _read_jsonl(path)})
    labels = read_labels(args.work, items, args.round)
    # A text the travel filter catches now (it was tightened after a draw) stays out, with its copy.
    travel = {item for item, row in texts.items() if is_travel(row["text"])}
    travel |= {item for item, meta in items.items() if meta["double_of"] in travel}
    if travel:
        print(f"{len(travel)} item(s) left out as travel texts: {sorted(travel)}")
        items = {item: meta for item, meta in items.items() if item not in travel}
    settled = {row["item"]: row for row in _read_jsonl(args.settled)} if args.settled and args.settled.exists() else {}

    pairs, doubles, disagreements = [], [], []
    for item, meta in items.items():
        original = meta["double_of"]
        if not original or item not in labels or original not in labels:
            continue
        a, b = labels[original], labels[item]
        pairs.append((a, b))
        differs = [task for task in TASKS if a[task] != b[task]]
        entry = {
            "file": meta["file"],
            "row_id": meta["row_id"],
            "sha256": meta["sha256"],
            "first": {task: a[task] for task in TASKS} | {"annotator": a["annotator"]},
            "second": {task: b[task] for task in TASKS} | {"annotator": b["annotator"]},
            "disagree_on": differs,
        }
        if args.round != 1:
            entry["round"] = args.round
        if differs:
            disagreements.append(
                {
                    "item": original,
                    "text": texts[original]["text"],
                    "kind": meta["kind"],
                    "channel": meta["channel"],
                    "first": entry["first"],
                    "second": entry["second"],
                    "disagree_on": differs,
                }
            )
            if original in settled:
                entry["settled"] = {task: settled[original][task] for task in TASKS}
        doubles.append(entry)

    second_copy = {meta["double_of"]: item for item, meta in items.items() if meta["double_of"]}
    corpus = []
    for item, meta in items.items():
        if meta["double_of"] or item not in labels:
            continue
        label = labels[item]
        annotators = [label["annotator"]]
        is_settled = False
        copy = second_copy.get(item)
        if copy is not None and copy in labels:
            second = labels[copy]
            annotators.append(second["annotator"])
            if item in settled:
                label = {**label, **{task: settled[item][task] for task in TASKS}}
                is_settled = True
        record = Annotation(
            file=meta["file"],
            row_id=str(meta["row_id"]),
            sha256=meta["sha256"],
            source=meta["source"],
            kind=meta["kind"],
            industry=meta["industry"],
            sentiment=label["sentiment"],
            journey_stage=label["journey_stage"],
            touchpoints=sorted(set(label["touchpoints"])),
            intent=label.get("intent") if label.get("intent") in INTENTS else None,
            annotators=annotators,
            settled=is_settled,
            draw=meta["draw"],
            round=args.round,
        )
        corpus.append(record)

    ANNOTATIONS_DIR.mkdir(exist_ok=True)
    # Round-1 lines were written before rounds existed and stay without the key.
    left_out = {"round"} if args.round == 1 else set()
    corpus_lines = [record.model_dump_json(exclude_none=True, exclude=left_out) for record in corpus]
    _write_round(ANNOTATIONS_DIR / "cx_corpus.jsonl", corpus_lines, args.round)
    _write_round(
        ANNOTATIONS_DIR / "double_labelled.jsonl", [json.dumps(e, ensure_ascii=False) for e in doubles], args.round
    )
    report = agreement(pairs)
    report["disagreements"] = len(disagreements)
    report["settled"] = sum(1 for d in disagreements if d["item"] in settled)
    name = "agreement.json" if args.round == 1 else f"agreement_round{args.round}.json"
    (ANNOTATIONS_DIR / name).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    with (args.work / "disagreements.jsonl").open("w", encoding="utf-8") as handle:
        for entry in disagreements:
            handle.write(json.dumps(entry, ensure_ascii=False) + "\n")
    print(f"{len(corpus)} labelled texts ({len(items) - len(doubles) - len(corpus)} items unlabelled or doubles)")
    print(json.dumps(report, indent=2))
    print("stages:", Counter(r.journey_stage for r in corpus).most_common())
    print("touchpoints:", Counter(t for r in corpus for t in r.touchpoints).most_common())
    print("sentiment:", Counter(r.sentiment for r in corpus).most_common())


if __name__ == "__main__":
    main()
