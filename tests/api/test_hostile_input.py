"""Hostile or odd request bodies and parameters answer JSON 4xx, never 500 (issue #13)."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from mathvisuals import jsonfmt

JSON_ROUTES = [
    ("PUT", "/api/examples?path=/big"),
    ("POST", "/api/examples/trash"),
    ("DELETE", "/api/examples/trash"),
    ("POST", "/api/svg"),
    ("PATCH", "/api/svg"),
    ("POST", "/api/figure-library"),
    ("PATCH", "/api/figure-library"),
    ("DELETE", "/api/figure-library"),
    ("PUT", "/api/settings"),
    ("POST", "/api/settings"),
]


@pytest.mark.parametrize("digits", [308, 309, 1000, 4300, 4301, 10_000])
def test_huge_integer_literal_is_invalid_json(digits: int) -> None:
    """309+ digits overflowed float() (OverflowError, a 500); 4301+ hit int's digit limit."""
    text = '{"n":' + "9" * digits + "}"
    if digits < 309:
        assert jsonfmt.loads(text)["n"] > 0
        return
    with pytest.raises(jsonfmt.InvalidJSONError):
        jsonfmt.loads(text)


@pytest.mark.parametrize(("method", "url"), JSON_ROUTES)
def test_huge_integer_body_is_400_on_every_json_route(
    memory_client: TestClient, method: str, url: str
) -> None:
    body = b'{"slug":"a","examples":[' + b"7" * 400 + b'],"deletedProvided":[]}'
    response = memory_client.request(method, url, content=body)
    assert response.status_code == 400
    assert response.json()["error"] == "Invalid JSON body"


@pytest.mark.parametrize("blank", ["%20", "%20%20%09", "%0A"])
def test_delete_with_a_blank_path_is_400(client: TestClient, blank: str) -> None:
    response = client.delete(f"/api/examples?path={blank}")
    assert response.status_code == 400
    assert response.json() == {"error": "Missing path parameter"}
