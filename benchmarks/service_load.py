"""Load on loopback: 16 concurrent clients sending single-record classify requests.

Starts the real service (``feedback-nlp serve``, the shipped model, a throwaway SQLite file)
twice, with micro-batching on and off, and reports throughput, p50 and p99 latency and failed
requests for each. Traffic goes to 127.0.0.1 only; the run is bounded by ``--requests``.

    python benchmarks/service_load.py --clients 16 --requests 1500
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "benchmarks"


def _texts(n: int) -> list[str]:
    from feedback_nlp.settings import get_settings

    path = get_settings().data_dir / "tweeteval_sentiment" / "test_text.txt"
    if path.is_file():
        lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        return [lines[i % len(lines)] for i in range(n)]
    return [f"The delivery took {i % 9 + 2} days and the app kept crashing, but support was kind." for i in range(n)]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start(batching: bool, folder: Path) -> tuple[subprocess.Popen[bytes], str, str]:
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{folder / f'load-{batching}.db'}",
        "FEEDBACK_NLP_BATCHING_ENABLED": "true" if batching else "false",
        "FEEDBACK_NLP_RATE_LIMIT_PER_SECOND": "100000",
        "FEEDBACK_NLP_RATE_LIMIT_BURST": "100000",
    }
    cli = [sys.executable, "-m", "feedback_nlp"]
    key = subprocess.run(
        [*cli, "keys", "create", "--name", "load", "--scopes", "classify"],
        env=env, capture_output=True, text=True, check=True,
    ).stdout.strip()
    port = _free_port()
    log = (folder / f"server-{batching}.log").open("wb")
    process = subprocess.Popen([*cli, "serve", "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/ready", timeout=2).status_code == 200:
                return process, base, key
        except httpx.TransportError:
            time.sleep(0.5)
    process.kill()
    raise RuntimeError(f"server did not start; see {folder}")


async def _drive(base: str, key: str, texts: list[str], clients: int) -> dict[str, float]:
    queue: asyncio.Queue[str] = asyncio.Queue()
    for text in texts:
        queue.put_nowait(text)
    latencies: list[float] = []
    failures = 0
    headers = {"Authorization": f"Bearer {key}"}

    async def client(http: httpx.AsyncClient) -> None:
        nonlocal failures
        while not queue.empty():
            text = queue.get_nowait()
            started = time.perf_counter()
            try:
                response = await http.post(
                    f"{base}/v1/classify", json={"records": [{"kind": "social", "text": text}]}, headers=headers
                )
                ok = response.status_code == 200
            except httpx.HTTPError:
                ok = False
            latencies.append(time.perf_counter() - started)
            failures += 0 if ok else 1

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(timeout=60, limits=limits) as http:
        # Warm-up outside the timing.
        await http.post(f"{base}/v1/classify", json={"records": [{"kind": "social", "text": "warm up"}]}, headers=headers)
        started = time.perf_counter()
        await asyncio.gather(*(client(http) for _ in range(clients)))
        wall = time.perf_counter() - started
    ms = np.array(latencies) * 1000
    return {
        "requests": len(texts),
        "failed": failures,
        "wall_s": round(wall, 2),
        "requests_per_s": round(len(texts) / wall, 1),
        "p50_ms": round(float(np.percentile(ms, 50)), 1),
        "p99_ms": round(float(np.percentile(ms, 99)), 1),
    }


def main() -> None:
    """Run both configurations and write docs/benchmarks/service_load.{json,md}."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--requests", type=int, default=1500)
    args = parser.parse_args()
    texts = _texts(args.requests)
    results: dict[str, dict[str, float]] = {}
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        for batching in (True, False):
            process, base, key = _start(batching, Path(tmp))
            try:
                results["batching on" if batching else "batching off"] = asyncio.run(
                    _drive(base, key, texts, args.clients)
                )
            finally:
                process.terminate()
                process.wait(timeout=30)
            print(results, flush=True)
    on, off = results["batching on"], results["batching off"]
    report = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{os.cpu_count()} cores, {platform.processor() or platform.machine()}",
        "load_average_before": [round(x, 2) for x in load_before],
        "command": f"python benchmarks/service_load.py --clients {args.clients} --requests {args.requests}",
        "results": results,
        "speed_up": round(on["requests_per_s"] / off["requests_per_s"], 2),
    }
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "service_load.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    lines = [
        "# Service load: micro-batching on and off",
        "",
        f"- Date: {report['date']}; machine: {report['machine']}; load average before: {report['load_average_before']}",
        f"- Command: `{report['command']}`",
        f"- {args.clients} concurrent clients on loopback, single-record `POST /v1/classify` (tweets), shipped model",
        "",
        "| configuration | requests | failed | requests/s | p50 ms | p99 ms |",
        "|---|---|---|---|---|---|",
    ]
    for name, r in results.items():
        lines.append(f"| {name} | {r['requests']} | {r['failed']} | {r['requests_per_s']} | {r['p50_ms']} | {r['p99_ms']} |")
    lines += ["", f"Throughput with batching is **{report['speed_up']}x** the throughput without.", ""]
    (OUT / "service_load.md").write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
