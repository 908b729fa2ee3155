"""The real service in a real uvicorn process, with the shipped model, over loopback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
BUNDLE = ROOT / "models" / "default"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    if not (BUNDLE / "manifest.json").is_file():
        pytest.skip("models/default is not trained")
    folder = tmp_path_factory.mktemp("server")
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{folder / 'service.db'}", "FEEDBACK_NLP_MODEL_DIR": str(BUNDLE)}
    cli = [sys.executable, "-m", "feedback_nlp"]
    key = subprocess.run(
        [*cli, "keys", "create", "--name", "e2e", "--scopes", "classify,ingest,read"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout.strip()
    port = _free_port()
    log = (folder / "server.log").open("w")
    process = subprocess.Popen([*cli, "serve", "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/ready", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None:
                pytest.fail(f"server exited: {(folder / 'server.log').read_text()[-2000:]}")
            time.sleep(0.5)
        else:
            pytest.fail("server did not become ready within 120 s")
        yield base, key
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def test_real_server_classifies_ingests_and_lists(server: tuple[str, str]) -> None:
    base, key = server
    headers = {"Authorization": f"Bearer {key}"}
    record = {"id": "u1", "kind": "review", "text": "Love the app, but the delivery took two weeks."}
    classified = httpx.post(f"{base}/v1/classify", json={"records": [record]}, headers=headers, timeout=30)
    assert classified.status_code == 200
    result = classified.json()["results"][0]
    assert result["id"] == "u1" and len(result["segments"]) == 2
    assert classified.headers["X-Request-ID"]
    stored = httpx.post(f"{base}/v1/feedback", json={"records": [record]}, headers=headers, timeout=30)
    again = httpx.post(f"{base}/v1/feedback", json={"records": [record]}, headers=headers, timeout=30)
    assert stored.status_code == 201 and again.status_code == 200
    assert again.json()["results"][0]["status"] == "duplicate"
    listed = httpx.get(f"{base}/v1/feedback", headers=headers, timeout=30).json()
    assert [item["external_id"] for item in listed["items"]] == ["u1"]
    assert httpx.post(f"{base}/v1/classify", json={"records": [record]}, timeout=30).status_code == 401
