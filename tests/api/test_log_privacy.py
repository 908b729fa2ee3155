"""No feedback text and no API key in the logs, on every path: served, refused, failed.

A real server process logging at DEBUG gets requests whose texts, ids, queries, paths and
headers carry a unique marker, and whose keys are real; then everything it wrote to stdout and
stderr is searched. A second test does the same in-process for a database failure mid-ingest,
whose driver error quotes the SQL parameters (the text), formatted as production formats logs.
"""

from __future__ import annotations

import io
import json
import logging
import secrets
import sys
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

import load_mixed  # noqa: E402


def _marker() -> str:
    return f"Quokka{secrets.token_hex(8)}"


def _requests(http: httpx.Client, marker: str, keys: dict[str, str]) -> int:
    """Send every kind of request with ``marker`` in it; returns how many were sent."""
    ingest = {"Authorization": f"Bearer {keys['ingest']}"}
    classify = {"Authorization": f"Bearer {keys['classify']}"}
    read = {"Authorization": f"Bearer {keys['read']}"}
    text = f"My card 4111 1111 1111 1111 was charged twice, {marker} here"
    record = {"id": f"id-{marker}", "kind": "review", "text": text, "channel": marker, "metadata": {"note": marker}}
    expected = [
        (http.post("/v1/classify", json={"records": [record]}, headers=classify), 200),
        (http.post("/v1/feedback", json={"source": f"src-{marker}", "records": [record]}, headers=ingest), 201),
        (http.post("/v1/feedback", json={"source": f"src-{marker}", "records": [record]}, headers=ingest), 200),
        (
            http.post(
                "/v1/feedback",
                json={"source": f"src-{marker}", "records": [{**record, "text": f"changed {marker}"}]},
                headers=ingest,
            ),
            409,
        ),
        (http.post("/v1/classify", json={"records": [{**record, "kind": f"kind-{marker}"}]}, headers=classify), 422),
        (http.post("/v1/classify", json={"records": [{**record, "text": marker * 20}]}, headers=classify), 422),
        (http.post("/v1/classify", json={"records": [record] * 60}, headers=classify), 413),
        (
            http.post(
                "/v1/classify",
                content=f'{{"records": [{marker}'.encode(),
                headers={**classify, "Content-Type": "application/json"},
            ),
            422,
        ),
        (
            http.post(
                "/v1/classify",
                content=b"{\x80" + marker.encode(),
                headers={**classify, "Content-Type": "application/json"},
            ),
            400,
        ),
        (http.get("/v1/feedback", params={"source": f"src-{marker}"}, headers=read), 200),
        (http.get("/v1/feedback", params={"cursor": marker}, headers=read), 422),
        (http.get("/v1/feedback", params={"created_from": marker}, headers=read), 422),
        (http.get(f"/v1/{marker}", headers=read), 404),
        (http.post("/v1/classify", json={"records": [record]}, headers=read), 403),
        (
            http.post(
                "/v1/classify", json={"records": [record]}, headers={"Authorization": f"Bearer fnlp_{marker}{marker}"}
            ),
            401,
        ),
        (http.post("/v1/classify", json={"records": [record]}, headers={"Authorization": f"Basic {marker}"}), 401),
        (http.get("/v1/models/current", headers={**read, "X-Request-ID": f"{marker} not a valid id"}), 200),
    ]
    for i, (response, status) in enumerate(expected):
        assert response.status_code == status, (i, response.status_code, response.text[:300])
    # The service did see the text: it is stored (redacted) and read back, just never logged.
    stored = http.get("/v1/feedback", params={"source": f"src-{marker}"}, headers=read).json()["items"]
    assert marker in stored[0]["text"] and "4111" not in stored[0]["text"]
    return len(expected) + 1


def test_server_logs_hold_no_text_and_no_key(tmp_path: Path, tiny_bundle: Path) -> None:
    marker = _marker()
    url = f"sqlite:///{tmp_path / 'logs.db'}"
    scopes = ("classify", "ingest", "read")
    keys = dict(zip(scopes, (load_mixed.create_keys(url, 1, scope)[0] for scope in scopes), strict=True))
    server = load_mixed.start_server(
        "fake",
        url,
        tmp_path / "server.log",
        bundle=tiny_bundle,
        fake_args=["--log-level", "DEBUG"],
        max_body_bytes="4096",
        max_text_chars="200",
    )
    try:
        with httpx.Client(base_url=server.base, timeout=60) as http:
            sent = _requests(http, marker, keys)
    finally:
        server.stop()
    output = server.log.read_text(encoding="utf-8", errors="replace")
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    access = [line for line in lines if line["logger"] == "api.access"]
    assert len(access) >= sent, "the access log is missing lines: the scan below would prove nothing"
    for secret in (marker, *keys.values(), "4111 1111"):
        assert secret not in output, f"{secret[:12]}... is in the server's log"
    # Keys are named by their display prefix only.
    assert {line.get("key_id") for line in access} >= {key[:13] for key in keys.values()}


def test_database_error_mid_ingest_logs_neither_text_nor_key(tmp_path: Path, fake_pipeline) -> None:  # noqa: ANN001
    from factories import build_service
    from sqlalchemy import event

    from feedback_nlp_api.observability import JsonFormatter

    marker = _marker()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        with build_service(f"sqlite:///{tmp_path / 'fault.db'}", fake_pipeline) as service:
            engine = service.app.state.engine
            dbapi_error = engine.dialect.loaded_dbapi.OperationalError

            quoted: list[str] = []

            def fail(_cursor: object, statement: str, parameters: object, _context: object) -> bool:
                if statement.lstrip().upper().startswith("INSERT INTO FEEDBACK "):
                    quoted.append(f"disk I/O error near {parameters!r}")  # a driver error quoting the row
                    raise dbapi_error(quoted[-1])
                return False

            event.listen(engine, "do_execute", fail)
            body = {"records": [{"id": marker, "kind": "review", "text": f"the delivery was late {marker}"}]}
            response = service.client.post("/v1/feedback", json=body, headers=service.auth("ingest"))
            event.remove(engine, "do_execute", fail)
            key = service.keys["ingest"]
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
    assert response.status_code == 503
    output = stream.getvalue()
    assert "database unavailable: OperationalError" in output
    assert quoted and marker in quoted[0], "the injected driver error should quote the text"
    assert marker not in output and key not in output
