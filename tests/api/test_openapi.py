"""The OpenAPI document tells the truth: every route-method, and schemathesis finds 0 failures."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.core.failures import FailureGroup
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from starlette.testclient import TestClient

from mathvisuals.api.app import ROUTES, build_families
from mathvisuals.settings import Settings
from reliability.harness import build_app

ROUTE_METHODS = {
    "/api/examples": {"GET", "POST", "PUT", "DELETE", "OPTIONS"},
    "/api/examples/trash": {"GET", "POST", "DELETE", "OPTIONS"},
    "/api/svg": {"GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"},
    "/api/svg/raw": {"GET", "HEAD"},
    "/api/svg/raw/{slug}": {"GET", "HEAD"},
    "/api/figure-library": {"GET", "POST", "PATCH", "DELETE", "OPTIONS"},
    "/api/figure-library/raw": {"GET", "HEAD"},
    "/api/figure-library/raw/{slug}": {"GET", "HEAD"},
    "/api/settings": {"GET", "PUT", "POST", "DELETE", "OPTIONS"},
    "/api/health": {"GET", "OPTIONS"},
    "/api/openapi.json": {"GET", "HEAD"},
}
VERBS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


def documented(document: dict[str, Any]) -> dict[str, set[str]]:
    return {
        path: {verb.upper() for verb in item if verb in VERBS}
        for path, item in document["paths"].items()
    }


def test_every_route_method_is_documented(memory_client: TestClient) -> None:
    """Upstream-era document: 23 of 35 route-methods (no OPTIONS, HEAD, path-style raw)."""
    document = memory_client.get("/api/openapi.json").json()
    assert documented(document) == ROUTE_METHODS
    assert sum(len(m) for p, m in ROUTE_METHODS.items() if p != "/api/openapi.json") == 35
    assert set(ROUTES) <= set(ROUTE_METHODS)
    families = build_families(Settings.from_env({}))
    for route, endpoint in ROUTES.items():
        advertised = {m for m in families[endpoint.family].methods.split(",") if m}
        assert advertised <= ROUTE_METHODS[route], route


def test_required_parameters_are_marked(memory_client: TestClient) -> None:
    paths = memory_client.get("/api/openapi.json").json()["paths"]
    delete = {p["name"]: p["required"] for p in paths["/api/examples"]["delete"]["parameters"]}
    assert delete["path"] is True
    raw = paths["/api/svg/raw/{slug}"]["parameters"][0]
    assert raw["in"] == "path" and raw["required"] is True


def test_every_200_body_has_a_shape(memory_client: TestClient) -> None:
    paths = memory_client.get("/api/openapi.json").json()["paths"]
    for path, item in paths.items():
        for verb, operation in item.items():
            if verb not in VERBS or verb in ("head", "options"):
                continue
            content = operation["responses"]["200"]["content"]
            for media, body in content.items():
                if media == "application/json" and path != "/api/openapi.json":
                    assert body["schema"] != {"type": "object"}, (verb, path)


@pytest.mark.slow
def test_schemathesis_finds_no_failure_in_kv_mode(redis_env: dict[str, str]) -> None:
    app, _ = build_app(redis_env)
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", app)
    checks = [status_code_conformance, content_type_conformance, response_schema_conformance]
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result
        operation = result.ok()
        operations += 1

        def one(case: schemathesis.Case[Any]) -> None:
            response = case.call()
            label = f"{case.method.upper()} {case.path}"
            try:
                case.validate_response(response, checks=checks)
            except FailureGroup as group:
                failures.extend(
                    f"{label} {response.status_code}: {failure.title}: "
                    + " ".join(str(getattr(failure, "message", failure)).split())[:300]
                    for failure in group.exceptions
                )

        run = settings(
            max_examples=15,
            database=None,
            deadline=None,
            phases=(Phase.explicit, Phase.generate),
            suppress_health_check=list(HealthCheck),
        )(given(operation.as_strategy())(one))
        run()
    assert sorted(set(failures))[:20] == []
    assert operations == 36  # every route-method but GET of the document itself
