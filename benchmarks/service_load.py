"""Load on loopback: 16 concurrent clients sending single-record classify requests.

Starts the real service (``feedback-nlp serve``, the shipped model, a throwaway SQLite file)
twice, with micro-batching on and off, and reports throughput, p50 and p99 latency and failed
requests for each. Traffic goes to 127.0.0.1 only; the run is bounded by ``--requests``.

    python benchmarks/service_load.py --clients 16 --requests 1500
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
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


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start(batching: bool, folder: Path) -> tuple[subprocess.Popen[bytes], str, str]:
    folder.mkdir(parents=True, exist_ok=True)
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
        env=env,
        capture_output=True,
        text=True,
        check=True,
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


class _Connection:
    """One keep-alive HTTP/1.1 connection with just enough of the protocol for this benchmark.

    The load generator shares the 2 cores with the server; a full HTTP client (httpx) spends
    several times more CPU per request than this, which the server would then lack.
    """

    def __init__(self, host: str, port: int, key: str) -> None:
        self.host, self.port, self.key = host, port, key
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, payload: dict[str, object]) -> int:
        """Send one POST and read the whole response; the HTTP status, or 0 on a broken connection.

        Like any HTTP client, it reconnects once when the server has closed an idle
        keep-alive connection (uvicorn does after 5 s) before a byte of the answer came back.
        """
        body = json.dumps(payload).encode()
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\nAuthorization: Bearer {self.key}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode()
        for attempt in (1, 2):
            reused = self.writer is not None
            try:
                if self.writer is None:
                    self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
                assert self.reader is not None
                self.writer.write(head + body)
                headers = await self.reader.readuntil(b"\r\n\r\n")
            except (OSError, asyncio.IncompleteReadError) as exc:
                await self.close()
                nothing_read = not isinstance(exc, asyncio.IncompleteReadError) or not exc.partial
                if reused and nothing_read and attempt == 1:
                    continue
                return 0
            try:
                status = int(headers.split(b" ", 2)[1])
                length = 0
                for line in headers.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                await self.reader.readexactly(length)
                if b"connection: close" in headers.lower():
                    await self.close()
                return status
            except (OSError, asyncio.IncompleteReadError, ValueError):
                await self.close()
                return 0
        return 0

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(OSError):
                await self.writer.wait_closed()
        self.reader = self.writer = None


def _peak_rss_mib(pid: int) -> float | None:
    """The server process's peak resident memory (``VmHWM``) in MiB; None off Linux."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text(encoding="utf-8").splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def _batch_counters(base: str) -> dict[str, float]:
    """Pipeline calls, records and seconds so far, from the server's Prometheus metrics."""
    wanted = {
        "feedback_nlp_batch_size_count": "count",
        "feedback_nlp_batch_size_sum": "records",
        "feedback_nlp_inference_duration_seconds_sum": "seconds",
    }
    found = dict.fromkeys(wanted.values(), 0.0)
    for line in httpx.get(f"{base}/metrics", timeout=10).text.splitlines():
        name, _, value = line.partition(" ")
        if name in wanted:
            found[wanted[name]] = float(value)
    return found


async def _drive(base: str, key: str, texts: list[str], clients: int) -> dict[str, float]:
    host, port = base.removeprefix("http://").split(":")
    queue: asyncio.Queue[str] = asyncio.Queue()
    for text in texts:
        queue.put_nowait(text)
    latencies: list[float] = []
    failures = 0
    statuses: dict[int, int] = {}

    async def client(connection: _Connection) -> None:
        nonlocal failures
        while not queue.empty():
            text = queue.get_nowait()
            started = time.perf_counter()
            status = await connection.post("/v1/classify", {"records": [{"kind": "social", "text": text}]})
            latencies.append(time.perf_counter() - started)
            failures += 0 if status == 200 else 1
            statuses[status] = statuses.get(status, 0) + 1

    connections = [_Connection(host, int(port), key) for _ in range(clients)]
    # Warm-up outside the timing: open every connection, run the model once.
    await asyncio.gather(
        *(c.post("/v1/classify", {"records": [{"kind": "social", "text": "warm up"}]}) for c in connections)
    )
    before = _batch_counters(base)
    started = time.perf_counter()
    await asyncio.gather(*(client(c) for c in connections))
    wall = time.perf_counter() - started
    await asyncio.gather(*(c.close() for c in connections))
    after = _batch_counters(base)
    calls = after["count"] - before["count"]
    ms = np.array(latencies) * 1000
    return {
        # From the server's own /metrics: records per pipeline call, and the share of the wall
        # time the model was busy (the inference thread; with batching off, calls may overlap).
        "mean_batch_records": round((after["records"] - before["records"]) / calls, 2) if calls else None,
        "inference_busy_share": round((after["seconds"] - before["seconds"]) / wall, 2),
        "requests": len(texts),
        "failed": failures,
        "wall_s": round(wall, 2),
        "requests_per_s": round(len(texts) / wall, 1),
        "p50_ms": round(float(np.percentile(ms, 50)), 1),
        "p99_ms": round(float(np.percentile(ms, 99)), 1),
        "statuses": {str(k): v for k, v in sorted(statuses.items())},  # 0: connection broken
    }


def main() -> None:
    """Run both configurations and write docs/benchmarks/service_load.{json,md}."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--requests", type=int, default=1500)
    parser.add_argument("--rounds", type=int, default=3, help="runs of each configuration, alternating")
    args = parser.parse_args()
    texts = _texts(args.requests)
    runs: dict[str, list[dict[str, float]]] = {"batching on": [], "batching off": []}
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        # Alternate the configurations: a shared VM's speed drifts by 20% within minutes.
        for round_ in range(args.rounds):
            for batching in (True, False):
                name = "batching on" if batching else "batching off"
                process, base, key = _start(batching, Path(tmp) / f"{name.replace(' ', '-')}-{round_}")
                try:
                    runs[name].append(asyncio.run(_drive(base, key, texts, args.clients)))
                    runs[name][-1]["server_peak_rss_mib"] = _peak_rss_mib(process.pid)
                finally:
                    process.terminate()
                    process.wait(timeout=30)
                print(name, runs[name][-1], flush=True)
    # Per configuration, the run with the median throughput.
    results = {name: sorted(r, key=lambda x: x["requests_per_s"])[len(r) // 2] for name, r in runs.items()}
    on, off = results["batching on"], results["batching off"]
    report = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{os.cpu_count()} cores, {platform.processor() or platform.machine()}",
        "load_average_before": [round(x, 2) for x in load_before],
        "cpu": _cpu_model(),
        "command": (
            f"python benchmarks/service_load.py --clients {args.clients} --requests {args.requests} "
            f"--rounds {args.rounds}"
        ),
        "results": results,
        "runs": runs,
        "speed_up": round(on["requests_per_s"] / off["requests_per_s"], 2),
    }
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "service_load.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    lines = [
        "# Service load: micro-batching on and off",
        "",
        f"- Date: {report['date']}; machine: {report['machine']} ({report['cpu']}); "
        f"load average before: {report['load_average_before']}",
        f"- Command: `{report['command']}`",
        f"- {args.clients} concurrent clients on loopback, single-record `POST /v1/classify` (tweets), shipped model",
        "",
        "| configuration | requests | failed | requests/s | p50 ms | p99 ms | records per model call | model busy "
        "| server peak RSS MiB |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, r in results.items():
        lines.append(
            f"| {name} | {r['requests']} | {r['failed']} | {r['requests_per_s']} | {r['p50_ms']} | {r['p99_ms']} "
            f"| {r['mean_batch_records']} | {r['inference_busy_share']:.0%} | {r.get('server_peak_rss_mib')} |"
        )
    lines += [
        "",
        "Records per model call and model busy (inference seconds / wall seconds; above 100% when calls",
        "overlap, as they may with batching off) come from the server's own `/metrics`.",
        "",
        f"Each row is the median-throughput run of {args.rounds}, the configurations alternating; every run:",
        "",
    ]
    for name, r in runs.items():
        lines.append(
            f"- {name}: "
            + ", ".join(f"{x['requests_per_s']} req/s (HTTP status: count {x.get('statuses', {})})" for x in r)
        )
    lines += ["", f"Throughput with batching is **{report['speed_up']}x** the throughput without.", ""]
    (OUT / "service_load.md").write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
