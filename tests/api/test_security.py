"""Every route in the OpenAPI schema is closed without a key and open to exactly one scope (and admin)."""

from __future__ import annotations

import pytest

PUBLIC = {"/health", "/ready", "/metrics"}
SCOPES = ("classify", "ingest", "read")
#: Routes only the admin scope may call.
ADMIN_ONLY = {("post", "/v1/models/reload")}


def _operations(service) -> list[tuple[str, str]]:  # noqa: ANN001
    schema = service.client.get("/openapi.json").json()
    return [(method, path) for path, item in schema["paths"].items() for method in item if path not in PUBLIC]


def _call(service, method: str, path: str, headers: dict[str, str] | None = None):  # noqa: ANN001, ANN202
    kwargs = {"json": {}} if method in ("post", "put", "patch") else {}
    return service.client.request(method.upper(), path, headers=headers or {}, **kwargs)


def test_the_schema_lists_the_protected_routes(service) -> None:  # noqa: ANN001
    paths = {path for _, path in _operations(service)}
    assert {
        "/v1/classify",
        "/v1/feedback",
        "/v1/models/current",
        "/v1/models/reload",
        "/v1/reports/topic-trends",
        "/v1/scores/touchpoints",
        "/v1/scores/journey",
        "/v1/drivers",
        "/v1/alerts",
    } <= paths


def test_every_route_refuses_a_missing_or_unknown_key(service) -> None:  # noqa: ANN001
    for method, path in _operations(service):
        assert _call(service, method, path).status_code == 401, (method, path)
        bad = {"Authorization": "Bearer fnlp_nope"}
        assert _call(service, method, path, bad).status_code == 401, (method, path)


def test_every_route_admits_exactly_one_scope_and_admin(service) -> None:  # noqa: ANN001
    for method, path in _operations(service):
        admitted = [s for s in SCOPES if _call(service, method, path, service.auth(s)).status_code != 403]
        assert len(admitted) == (0 if (method, path) in ADMIN_ONLY else 1), (method, path, admitted)
        assert _call(service, method, path, service.auth("admin")).status_code not in (401, 403), (method, path)


@pytest.mark.parametrize("origin", ["https://evil.example", "http://localhost:3000"])
def test_cors_is_closed_by_default(service, origin: str) -> None:  # noqa: ANN001
    response = service.client.options(
        "/v1/classify", headers={"Origin": origin, "Access-Control-Request-Method": "POST"}
    )
    assert "access-control-allow-origin" not in {k.lower() for k in response.headers}
