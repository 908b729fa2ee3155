"""Fuzz the running service with Schemathesis against its own OpenAPI schema (the long run).

Starts the service on 127.0.0.1 (the shipped model with ``feedback-nlp serve``, or the tiny
test bundle with ``--model fake``) on a throwaway SQLite file, stores a few records so that
reads and scores have data, and runs ``st run`` over every operation with an admin key: the
examples, coverage and fuzzing phases, schema-valid and schema-violating data, bounded by
``--max-examples`` per operation and phase and by ``--max-time`` seconds.

Checks: no 5xx (``not_a_server_error``), and every answer documented
(``status_code_conformance``, ``content_type_conformance``, ``response_headers_conformance``,
``response_schema_conformance``). Not checked: ``positive_data_acceptance`` and
``negative_data_rejection`` (rules JSON Schema cannot state, see docs/reliability.md).

    python benchmarks/fuzz_api.py                        # shipped model, up to 10 minutes
    python benchmarks/fuzz_api.py --model fake --max-time 120 --seed 7

Writes docs/benchmarks/fuzz_api.{json,md} (``--out-dir``) with the cases generated, the status
codes seen per operation and every failure; exits with Schemathesis' exit code (0: no failure).
"""

from __future__ import annotations

import argparse
import base64
import json
import random
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

import load_mixed  # noqa: E402
from _common import (  # noqa: E402
    DEFAULT_OUT_DIR,
    command_line,
    load_average,
    machine_info,
    md_header,
    md_table,
    now_utc,
    write_results,
)

CHECKS = [
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
]
SEED_RECORDS = [
    {
        "id": f"seed-{i}",
        "kind": kind,
        "text": text,
        "created_at": f"2026-0{1 + i % 6}-1{i % 9}T10:00:00Z",
        "rating": 1 + i % 5,
        "nps": i % 11,
    }
    for i, (kind, text) in enumerate([(load_mixed.KINDS[i % 3], phrase) for i, phrase in enumerate(load_mixed.PHRASES)])
]


def _seed(base: str, key: str) -> None:
    response = httpx.post(
        f"{base}/v1/feedback",
        json={"source": "seed", "records": SEED_RECORDS},
        headers={"Authorization": f"Bearer {key}"},
        timeout=120,
    )
    response.raise_for_status()


def _read_events(ndjson: Path) -> tuple[dict[str, Counter[int]], list[dict[str, Any]]]:
    """From the NDJSON event stream: status codes answered per operation, and the failed cases
    (operation, failed checks, request line, status, start of the answer), the first 20."""
    seen: dict[str, Counter[int]] = {}
    failed: list[dict[str, Any]] = []
    with ndjson.open(encoding="utf-8") as events:
        for line in events:
            if '"ScenarioFinished"' not in line[:40]:
                continue
            recorder = json.loads(line)["ScenarioFinished"]["recorder"]
            counter = seen.setdefault(recorder["label"], Counter())
            interactions = recorder.get("interactions", {})
            for interaction in interactions.values():
                response = interaction.get("response")
                counter[response["status_code"] if response else 0] += 1  # 0: no answer
            for case_id, checks in recorder.get("checks", {}).items():
                bad = [c["name"] for c in checks if c.get("status") == "failure"]
                interaction = interactions.get(case_id)
                if bad and interaction and len(failed) < 20:
                    response = interaction.get("response") or {}
                    content = response.get("content") or {}
                    body = base64.b64decode(content["$base64"]) if "$base64" in content else b""
                    failed.append(
                        {
                            "operation": recorder["label"],
                            "checks": bad,
                            "request": f"{interaction['request']['method']} {interaction['request']['uri']}",
                            "status": response.get("status_code"),
                            "answer": body[:300].decode("utf-8", "replace"),
                        }
                    )
    return seen, failed


def main() -> None:
    """Start the service, fuzz it, write the result files."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", choices=["real", "fake"], default="real")
    parser.add_argument("--max-examples", type=int, default=100, help="per operation and phase")
    parser.add_argument("--max-time", type=int, default=600, help="seconds for the whole Schemathesis run")
    parser.add_argument("--phases", default="examples,coverage,fuzzing,stateful")
    parser.add_argument("--seed", type=int, default=None, help="random when not given (printed and recorded)")
    parser.add_argument("--out-dir", type=Path, default=DEFAULT_OUT_DIR)
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**31)

    result: dict[str, Any] = {
        "date": now_utc(),
        "command": command_line(),
        "machine": machine_info(),
        "load_average_start": load_average(),
        "seed": seed,
        "model": args.model,
    }
    with tempfile.TemporaryDirectory(prefix="fuzz-api-") as folder:
        tmp = Path(folder)
        url = f"sqlite:///{tmp / 'fuzz.db'}"
        [key] = load_mixed.create_keys(url, 1, "admin")
        server = load_mixed.start_server(
            args.model, url, tmp / "server.log", rate_limit_per_second="100000", rate_limit_burst="100000"
        )
        try:
            _seed(server.base, key)
            run = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "schemathesis.cli",
                    "run",
                    f"{server.base}/openapi.json",
                    "--header",
                    f"Authorization: Bearer {key}",
                    "--checks",
                    ",".join(CHECKS),
                    "--phases",
                    args.phases,
                    "--max-examples",
                    str(args.max_examples),
                    "--max-time",
                    str(args.max_time),
                    "--seed",
                    str(seed),
                    "--workers",
                    "1",
                    "--suppress-health-check",
                    "all",
                    "--request-timeout",
                    "120",
                    "--report",
                    "json,ndjson",
                    "--report-dir",
                    str(tmp / "report"),
                ],
                capture_output=True,
                text=True,
                check=False,
            )
        finally:
            server.stop()
        print(run.stdout[-6000:], run.stderr[-3000:], sep="\n")
        report = json.loads(next((tmp / "report").glob("json-*.json")).read_text(encoding="utf-8"))
        statuses, failed_cases = _read_events(next((tmp / "report").glob("ndjson-*.ndjson")))
        server_log = server.log.read_text(encoding="utf-8", errors="replace")
    cases = report["test_cases"]
    responses = sum(sum(c.values()) for c in statuses.values())
    server_errors = sum(n for c in statuses.values() for code, n in c.items() if code >= 500)
    result.update(
        {
            "schemathesis": {
                "exit_code": run.returncode,
                "stop_reason": report["stop_reason"],
                "running_time_s": round(report["running_time"], 1),
                "phases": report["phases"],
                "test_cases": cases,
                "failures": report["failures"],
                "errors": report["errors"],
                "warnings": {k: v for k, v in report["warnings"].items() if v},
            },
            "responses": responses,
            "server_errors": server_errors,
            "statuses": {op: dict(sorted(c.items())) for op, c in sorted(statuses.items())},
            "failed_cases": failed_cases,
            "server_error_log_lines": sum('"level": "ERROR"' in line for line in server_log.splitlines()),
            "load_average_end": load_average(),
        }
    )
    lines = md_header("Fuzzing the API with Schemathesis", result)
    lines += [
        f"{args.model} model, SQLite, seed {seed}, phases {args.phases}, up to {args.max_examples} examples per "
        f"operation and phase, {args.max_time} s budget (stopped by: {report['stop_reason']}, after "
        f"{result['schemathesis']['running_time_s']} s). Checks: {', '.join(CHECKS)}.",
        "",
        f"- Test cases generated: **{cases['generated']}**, with failures: **{cases['with_failures']}** "
        f"({cases['unique_failures']} unique), errored: {cases['errored']}",
        f"- Requests answered: {responses}; 5xx answers: **{server_errors}**; ERROR lines in the server log: "
        f"{result['server_error_log_lines']}",
        "",
    ]
    codes = sorted({code for c in statuses.values() for code in c})
    lines += md_table(
        ["operation", *map(str, codes)],
        [[op, *(statuses[op].get(code, 0) for code in codes)] for op in sorted(statuses)],
    )
    if report["failures"] or report["errors"]:
        lines += [
            "",
            "Failures and errors:",
            "",
            "```",
            json.dumps(report["failures"] + report["errors"], indent=1)[:6000],
            "```",
            "",
            "Failed cases (first 20):",
            "",
        ]
        lines += [
            f"- {f['operation']}: {', '.join(f['checks'])}; `{f['request']}` -> {f['status']} {f['answer'][:200]}"
            for f in failed_cases
        ]
    json_path, md_path = write_results(
        "fuzz_api" if args.model == "real" else "fuzz_api_fake", args.out_dir, result, lines
    )
    print("\n".join(lines))
    print(f"wrote {json_path} and {md_path}")
    sys.exit(run.returncode)


if __name__ == "__main__":
    main()
