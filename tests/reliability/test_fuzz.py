"""Bad input, fast: a few hundred requests generated from /api/openapi.json in kv mode."""

from __future__ import annotations

from typing import Any

import pytest

from mathvisuals.sandbox.redis_server import RedisServer
from reliability.fuzz import FuzzReport, ReadBack, response_problems, run_fuzz

SEED = 20260101


def test_generated_and_raw_requests_keep_the_contract(redis_server: RedisServer) -> None:
    report = run_fuzz(
        redis_server, per_operation=6, raw_cases=80, rng_seed=SEED, deep=(64, 250, 600)
    )
    assert report.problems == []
    assert report.requests >= 300
    assert report.read_back >= 50  # acknowledged writes were read back, so the oracle ran
    assert report.statuses[200] and report.statuses[400] and report.statuses[404]


@pytest.mark.parametrize(
    ("method", "path", "status", "content_type", "body", "kinds"),
    [
        ("GET", "/api/examples", 200, "application/json", b'{"entries":[]}', 0),
        ("PUT", "/api/examples", 400, "application/json", b'{"error":"Missing path"}', 0),
        ("GET", "/api/svg/raw?slug=x", 404, "text/plain; charset=utf-8", b"Not Found", 0),
        ("GET", "/svg/a.svg", 404, "text/plain; charset=utf-8", b"Not Found", 0),
        ("GET", "/nowhere", 404, "text/plain; charset=utf-8", b"Not Found", 1),
        ("GET", "/api/svg/raw", 404, "application/json", b'{"error":"x"}', 1),
        ("PUT", "/api/examples", 400, "application/json", b'{"message":"x"}', 1),
        ("PUT", "/api/examples", 400, "application/json", b"[]", 1),
        ("POST", "/api/svg", 500, "application/json", b'{"error":"x"}', 1),
        ("HEAD", "/api/svg/raw", 404, "text/plain", b"", 0),
        ("OPTIONS", "/api/examples", 204, "", b"", 0),
    ],
)
def test_the_response_contract_is_what_the_fuzzer_checks(
    method: str, path: str, status: int, content_type: str, body: bytes, kinds: int
) -> None:
    assert len(response_problems(method, path, status, content_type, body)) == kinds


class FakeReader:
    def __init__(self, answer: Any) -> None:
        self.answer = answer

    def get(self, url: str) -> Any:
        return self

    @property
    def status_code(self) -> int:
        return 200

    def json(self) -> Any:
        return self.answer


def test_the_read_back_oracle_notices_a_different_answer() -> None:
    report = FuzzReport()
    acknowledged = {"path": "/a", "examples": [{"t": 1}], "deletedProvided": [], "updatedAt": "x"}
    ReadBack(FakeReader(acknowledged), report).after("PUT", "/api/examples", {}, acknowledged)  # type: ignore[arg-type]
    assert report.failures == {} and report.read_back == 1
    changed = {**acknowledged, "examples": []}
    ReadBack(FakeReader(changed), report).after("PUT", "/api/examples", {}, acknowledged)  # type: ignore[arg-type]
    assert list(report.failures) == ["acknowledged write not read back"]
