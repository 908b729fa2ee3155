"""A model switch under load: the real service, real models, concurrent clients, zero failures?

Registers ``models/default`` twice in a throwaway registry (``default:a`` and ``default:b``:
the same weights under two versions, so answers say which model gave them), promotes ``a``,
starts ``feedback-nlp serve`` on it, and runs ``--clients`` threads sending classify requests
(``--records`` records each) over loopback. After ``--before`` seconds it promotes ``b`` and
calls ``POST /v1/models/reload``; the clients go on for ``--after`` seconds. Reports every
request's status and answering model, latency before, during and after the switch, the load
time and the server's peak memory.

    python benchmarks/hot_switch.py --clients 8 --before 15 --after 15
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np

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
    write_results,
)  # noqa: E402

BUNDLE = REPO_ROOT / "models" / "default"


@dataclass
class Answer:
    started: float
    finished: float
    status: int  # 0: the connection failed
    version: str | None


def _texts() -> list[str]:
    from feedback_nlp.settings import get_settings

    path = get_settings().data_dir / "tweeteval_sentiment" / "test_text.txt"
    if path.is_file():
        return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()][:2000]
    return [f"The delivery took {i % 9 + 2} days and the app kept crashing, but support was kind." for i in range(200)]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _client(
    base: str,
    key: str,
    texts: list[str],
    records: int,
    offset: int,
    stop: threading.Event,
    answers: list[Answer],
    lock: threading.Lock,
) -> None:
    i = offset
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=60) as http:
        while not stop.is_set():
            batch = [{"kind": "social", "text": texts[(i + j) % len(texts)]} for j in range(records)]
            i += records
            started = time.monotonic()
            try:
                response = http.post("/v1/classify", json={"records": batch})
                status, version = response.status_code, response.json().get("model_version")
            except (httpx.HTTPError, ValueError):
                status, version = 0, None
            with lock:
                answers.append(Answer(started, time.monotonic(), status, version))


def _phase(answers: list[Answer]) -> dict[str, object]:
    ms = np.array([a.finished - a.started for a in answers]) * 1000
    versions: dict[str, int] = {}
    for a in answers:
        versions[str(a.version)] = versions.get(str(a.version), 0) + 1
    return {
        "requests": len(answers),
        "failed": sum(a.status != 200 for a in answers),
        "p50_ms": round(float(np.percentile(ms, 50)), 1) if len(ms) else None,
        "p95_ms": round(float(np.percentile(ms, 95)), 1) if len(ms) else None,
        "answered_by": versions,
    }


def _peak_rss_mib(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return None


def run(clients: int, records: int, before: float, after: float) -> dict[str, object]:
    from feedback_nlp.model_registry import ModelRegistry, promote
    from feedback_nlp.settings import Settings

    texts = _texts()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        registry = ModelRegistry(folder / "registry")
        registry.register(BUNDLE, name="default", version="a")
        registry.register(BUNDLE, name="default", version="b")
        settings = Settings(registry_dir=registry.root, model_dir=BUNDLE)
        promote(registry, "default:a", reason="benchmark start", settings=settings, gold=None, force=True, by="bench")
        env = {
            **os.environ,
            "DATABASE_URL": f"sqlite:///{folder / 'service.db'}",
            "FEEDBACK_NLP_REGISTRY_DIR": str(registry.root),
            "FEEDBACK_NLP_RATE_LIMIT_PER_SECOND": "100000",
            "FEEDBACK_NLP_RATE_LIMIT_BURST": "100000",
        }
        cli = [sys.executable, "-m", "feedback_nlp"]
        key = subprocess.run(
            [*cli, "keys", "create", "--name", "bench", "--scopes", "classify,read,admin"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        log = (folder / "server.log").open("wb")
        server = subprocess.Popen([*cli, "serve", "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 300
            while True:
                try:
                    if httpx.get(f"{base}/ready", timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError((folder / "server.log").read_text()[-3000:])
                time.sleep(0.5)
            rss_start = _peak_rss_mib(server.pid)
            answers: list[Answer] = []
            lock = threading.Lock()
            stop = threading.Event()
            threads = [
                threading.Thread(target=_client, args=(base, key, texts, records, k * 97, stop, answers, lock))
                for k in range(clients)
            ]
            for thread in threads:
                thread.start()
            time.sleep(before)
            promote(
                registry, "default:b", reason="benchmark switch", settings=settings, gold=None, force=True, by="bench"
            )
            switch_started = time.monotonic()
            reload = httpx.post(f"{base}/v1/models/reload", headers={"Authorization": f"Bearer {key}"}, timeout=300)
            switch_done = time.monotonic()
            time.sleep(after)
            stop.set()
            for thread in threads:
                thread.join(timeout=120)
            current = httpx.get(f"{base}/v1/models/current", headers={"Authorization": f"Bearer {key}"}).json()
            rss_peak = _peak_rss_mib(server.pid)
        finally:
            server.terminate()
            server.wait(timeout=60)
    return {
        "clients": clients,
        "records_per_request": records,
        "reload": {
            "status": reload.status_code,
            **reload.json(),
            "client_seconds": round(switch_done - switch_started, 2),
        },
        "serving_after": current["serving"]["version"],
        "all": _phase(answers),
        "before_switch": _phase([a for a in answers if a.finished < switch_started]),
        "during_switch": _phase([a for a in answers if a.finished >= switch_started and a.started <= switch_done]),
        "after_switch": _phase([a for a in answers if a.started > switch_done]),
        "server_rss_mib": {"after_start": rss_start, "peak": rss_peak},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--records", type=int, default=4, help="records per request")
    parser.add_argument("--before", type=float, default=15.0, help="seconds of load before the switch")
    parser.add_argument("--after", type=float, default=15.0, help="seconds of load after it")
    parser.add_argument("--out-dir", type=Path, default=DEFAULT_OUT_DIR)
    args = parser.parse_args()
    result = {
        "date": now_utc(),
        "command": command_line(),
        "machine": machine_info(),
        "load_average_start": load_average(),
    }
    result.update(run(args.clients, args.records, args.before, args.after))
    result["load_average_end"] = load_average()
    rows = [
        (
            name,
            p["requests"],
            p["failed"],
            p["p50_ms"],
            p["p95_ms"],
            ", ".join(f"{k}: {v}" for k, v in p["answered_by"].items()),
        )
        for name, p in ((n, result[n]) for n in ("before_switch", "during_switch", "after_switch", "all"))
    ]
    reload = result["reload"]
    markdown = [
        *md_header("Switching models under load", result),
        f"{args.clients} clients, {args.records} records per request; `default:a` and `default:b` are "
        "`models/default` registered twice. The switch: promote `b`, then `POST /v1/models/reload`.",
        "",
        *md_table(["phase", "requests", "failed", "p50 ms", "p95 ms", "answered by"], rows),
        "",
        f"- Reload: HTTP {reload['status']}, new model loaded in {reload.get('seconds')} s (server), "
        f"{reload['client_seconds']} s for the call; serving afterwards: `{result['serving_after']}`.",
        f"- Server peak RSS: {result['server_rss_mib']['peak']} MiB (peak by the end of start-up: "
        f"{result['server_rss_mib']['after_start']} MiB); both models are in memory while the new one loads.",
        f"- Load average at the end: {result['load_average_end'][0]:.2f}",
    ]
    json_path, md_path = write_results("hot_switch", args.out_dir, result, markdown)
    print("\n".join(markdown))
    print(f"wrote {json_path} and {md_path}")


if __name__ == "__main__":
    main()
