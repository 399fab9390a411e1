"""Bad input: requests generated from the API's own OpenAPI document, plus raw bodies, methods and
paths no schema describes, in kv mode. Every response is checked (no 5xx, every 4xx a JSON
error, the status and content type documented), every acknowledged write is read back at once,
and the whole database is checked afterwards.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx2
import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from hypothesis.errors import HypothesisException
from schemathesis import GenerationMode
from schemathesis.core.failures import FailureGroup
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import content_type_conformance, status_code_conformance
from starlette.testclient import TestClient

from mathvisuals.api import openapi
from mathvisuals.api.app import RAW_EXTENSIONS
from mathvisuals.sandbox.redis_server import RedisServer
from reliability import integrity
from reliability.harness import build_app, direct, flushall, in_process, redis_env, redis_server
from reliability.result import Row, timed

RAW_PREFIXES = ("/api/svg/raw", "/api/figure-library/raw")
ASSET_EXTENSIONS = RAW_EXTENSIONS  # the friendly-URL extensions the app rewrites
PNG = "data:image/png;base64,iVBORw0KGgo="
# Bodies a schema-driven generator never writes: not JSON, not UTF-8, JavaScript-only numbers,
# lone surrogates, scalars and arrays where an object is expected.
ODD_BODIES = (
    b"{",
    b"}{",
    b"\xff\xfe\x00",
    b"null",
    b"[]",
    b'"text"',
    b"12",
    b"NaN",
    b'{"a": Infinity}',
    b'{"examples": [1e999], "deletedProvided": []}',
    b'{"examples": [{"n": 123456789012345678901234567890}], "deletedProvided": []}',
    b'{"examples": [{"t": "\\ud800"}], "deletedProvided": ["\\udfff"]}',
    b'{"slug": "\\u0000", "png": "data:image/png;base64,AA=="}',
    b'{"entries": [{"id": "x", "example": {"t": "\\ud83d"}}], "mode": "append"}',
    b"\x00" * 64,
)


@dataclass
class FuzzReport:
    requests: int = 0
    generated: Counter[str] = field(default_factory=Counter)  # "GET /api/x positive" -> count
    statuses: Counter[int] = field(default_factory=Counter)
    outcomes: Counter[tuple[str, int]] = field(default_factory=Counter)  # (operation, status)
    failures: dict[str, list[str]] = field(default_factory=dict)  # kind -> examples
    read_back: int = 0
    not_generated: list[str] = field(default_factory=list)
    integrity: list[str] = field(default_factory=list)

    def fail(self, kind: str, example: str) -> None:
        self.failures.setdefault(kind, []).append(example)

    @property
    def problems(self) -> list[str]:
        found = [
            f"{kind} ({len(examples)}×), e.g. {examples[0]}"
            for kind, examples in sorted(self.failures.items())
        ]
        return found + self.integrity


def is_raw(path: str) -> bool:
    """Routes whose 404 is ``text/plain`` by contract (api.md §10, §12 and friendly URLs)."""
    bare = path.split("?", 1)[0]
    lowered = bare.lower()
    if any(lowered in (raw, raw + "/") or lowered.startswith(raw + "/") for raw in RAW_PREFIXES):
        return True
    for prefix in ("/svg/", "/bildearkiv/"):
        if bare.startswith(prefix) and bare != prefix:
            return True
    return bare.startswith("/figure-library/") and lowered.endswith(ASSET_EXTENSIONS)


def response_problems(
    method: str, path: str, status: int, content_type: str, body: bytes
) -> list[str]:
    """The contract every response keeps, whatever the input: kinds of breach, or []."""
    if status >= 500:
        return [f"{status} from {method} {path.split('?', 1)[0]}"]
    if method == "HEAD" or status == 204:
        return []
    if status >= 400 and is_raw(path) and status == 404:
        if content_type.startswith("text/plain") and body == b"Not Found":
            return []
        return [f"raw 404 not the text/plain 'Not Found' of §10 ({method} {path.split('?')[0]})"]
    if status >= 400 or not is_raw(path):
        if content_type != "application/json":
            return [f"{status} with Content-Type {content_type or 'none'!r}, not JSON"]
        try:
            parsed = json.loads(body)
        except ValueError:
            return [f"{status}: the body is not JSON"]
        if status >= 400 and not (
            isinstance(parsed, dict) and isinstance(parsed.get("error"), str)
        ):
            return [f"{status}: the body has no string 'error'"]
    return []


class ReadBack:
    """After an acknowledged write, a second API instance must serve exactly what was returned."""

    def __init__(self, reader: TestClient, report: FuzzReport) -> None:
        self.reader = reader
        self.report = report

    def get(self, url: str) -> tuple[int, Any]:
        response = self.reader.get(url)
        try:
            return response.status_code, response.json()
        except ValueError:
            return response.status_code, None

    def after(self, method: str, path: str, query: Mapping[str, Any], body: Any) -> None:
        if method in ("GET", "HEAD", "OPTIONS") or not isinstance(body, dict):
            return
        check = _CHECKS.get((method, path.lower().rstrip("/")))
        if check is None:
            return
        problem = check(self, query, body)
        self.report.read_back += 1
        if problem:
            self.report.fail("acknowledged write not read back", f"{method} {path}: {problem}")


def _q(value: object) -> str:
    return quote(str(value), safe="")


def _same(got: tuple[int, Any], expected: Any, label: str) -> str | None:
    status, body = got
    if status != 200:
        return f"{label} answered {status}"
    return None if body == expected else f"{label} differs from the acknowledged body"


def _examples_write(rb: ReadBack, query: Mapping[str, Any], body: Any) -> str | None:
    return _same(rb.get(f"/api/examples?path={_q(body['path'])}"), body, "GET ?path=")


def _examples_delete(rb: ReadBack, query: Mapping[str, Any], body: Any) -> str | None:
    status, _ = rb.get(f"/api/examples?path={_q(query['path'])}")
    return None if status == 404 else f"GET after DELETE answered {status}"


def _svg_write(rb: ReadBack, query: Mapping[str, Any], body: Any) -> str | None:
    return _same(rb.get(f"/api/svg?slug={_q(body['slug'])}"), body, "GET ?slug=")


def _svg_delete(rb: ReadBack, query: Mapping[str, Any], body: Any) -> str | None:
    status, _ = rb.get(f"/api/svg?slug={_q(body['slug'])}")
    return None if status == 404 else f"GET after DELETE answered {status}"


def _figure_write(rb: ReadBack, query: Mapping[str, Any], body: Any) -> str | None:
    if isinstance(body.get("entry"), dict):
        status, got = rb.get(f"/api/figure-library?slug={_q(body['entry']['slug'])}")
        if status != 200 or got.get("entry") != body["entry"]:
            return f"GET ?slug= answered {status} with another entry"
    if isinstance(body.get("category"), dict):
        _, listed = rb.get("/api/figure-library")
        if body["category"] not in (listed or {}).get("categories", []):
            return "the upserted category is not listed"
    return None


def _figure_delete(rb: ReadBack, query: Mapping[str, Any], body: Any) -> str | None:
    deleted = body.get("deleted") or {}
    if "slug" in deleted:
        status, _ = rb.get(f"/api/figure-library?slug={_q(deleted['slug'])}")
        return None if status == 404 else f"GET after DELETE answered {status}"
    _, listed = rb.get("/api/figure-library")
    ids = [c.get("id") for c in (listed or {}).get("categories", [])]
    return "the deleted category is still listed" if deleted.get("categoryId") in ids else None


def _settings_write(rb: ReadBack, query: Mapping[str, Any], body: Any) -> str | None:
    status, got = rb.get("/api/settings")
    return None if status == 200 and got["settings"] == body["settings"] else "GET differs"


def _trash_write(rb: ReadBack, query: Mapping[str, Any], body: Any) -> str | None:
    status, got = rb.get("/api/examples/trash")
    return None if status == 200 and got["entries"] == body["entries"] else "GET differs"


_Check = Callable[[ReadBack, Mapping[str, Any], Any], "str | None"]
_CHECKS: dict[tuple[str, str], _Check] = {
    ("PUT", "/api/examples"): _examples_write,
    ("POST", "/api/examples"): _examples_write,
    ("DELETE", "/api/examples"): _examples_delete,
    ("POST", "/api/svg"): _svg_write,
    ("PUT", "/api/svg"): _svg_write,
    ("PATCH", "/api/svg"): _svg_write,
    ("DELETE", "/api/svg"): _svg_delete,
    ("POST", "/api/figure-library"): _figure_write,
    ("PATCH", "/api/figure-library"): _figure_write,
    ("DELETE", "/api/figure-library"): _figure_delete,
    ("PUT", "/api/settings"): _settings_write,
    ("POST", "/api/settings"): _settings_write,
    ("DELETE", "/api/settings"): _settings_write,
    ("POST", "/api/examples/trash"): _trash_write,
    ("DELETE", "/api/examples/trash"): _trash_write,
}


def _seed_documents(client: TestClient) -> None:
    """Entries under the slugs the OpenAPI document uses as examples, so reads can succeed."""
    for slug in ("icons/star", "shapes/triangle"):
        client.post("/api/svg", json={"slug": slug, "svg": "<svg/>", "png": PNG, "title": slug})
        client.post("/api/figure-library", json={"slug": slug, "svg": "<svg/>", "png": PNG})
    client.put("/api/examples?path=/diagram", json={"examples": [{"t": 1}], "deletedProvided": []})


def _seed_sentinels(client: TestClient) -> list[str]:
    """Documents under random names no generated request can address: they must not change."""
    tag = secrets.token_hex(6)
    client.put(
        f"/api/examples?path=/reliability/sentinel-{tag}",
        json={"examples": [{"title": "sentinel", "nested": {"a": [1, 2.5, None]}}],
              "deletedProvided": ["x"], "updatedAt": "2024-01-01T00:00:00.000Z"},
    )  # fmt: skip
    client.post("/api/svg", json={"slug": f"sentinel-{tag}", "svg": "<svg/>", "png": PNG})
    client.post(
        "/api/figure-library",
        json={"slug": f"sentinel-{tag}", "svg": "<svg/>", "categoryId": f"sentinel-{tag}"},
    )
    return [
        f"examples:/reliability/sentinel-{tag}",
        f"svg:sentinel-{tag}",
        f"figure:sentinel-{tag}",
        f"figureAsset:sentinel-{tag}",
        f"figure:category:sentinel-{tag}",
    ]


def _fuzz_schema(
    env: Mapping[str, str], per_operation: int, rng_seed: int, reader: ReadBack, report: FuzzReport
) -> None:
    app, _ = build_app(env)
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", app)
    checks = [status_code_conformance, content_type_conformance]
    for result in schema.get_all_operations():
        if not isinstance(result, Ok):
            report.fail("the OpenAPI document has an invalid operation", str(result.err()))
            continue
        operation = result.ok()
        label = f"{operation.method.upper()} {operation.path}"
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            _seed_documents(reader.reader)  # earlier DELETEs may have removed them
            one = _schema_case(f"{label} {mode.value}", checks, reader, report)
            run = settings(
                max_examples=per_operation,
                database=None,
                deadline=None,
                phases=(Phase.explicit, Phase.generate),
                suppress_health_check=list(HealthCheck),
            )(seed(rng_seed)(given(operation.as_strategy(generation_mode=mode))(one)))
            try:
                run()
            except HypothesisException as exc:
                # A parameterless operation (GET /api/health) has no invalid form.
                report.not_generated.append(f"{label} {mode.value}: {type(exc).__name__}")


def _schema_case(
    label: str, checks: list[Any], reader: ReadBack, report: FuzzReport
) -> Callable[[schemathesis.Case[Any]], None]:
    def one(case: schemathesis.Case[Any]) -> None:
        response = case.call()
        report.requests += 1
        report.generated[label] += 1
        report.statuses[response.status_code] += 1
        report.outcomes[(label, response.status_code)] += 1
        content_type = response.headers.get("content-type", [""])[0]
        for kind in response_problems(
            case.method.upper(), case.path, response.status_code, content_type, response.content
        ):
            report.fail(kind, case.as_curl_command())
        try:
            case.validate_response(response, checks=checks)
        except FailureGroup as group:
            for failure in group.exceptions:
                report.fail(f"{label.rsplit(' ', 1)[0]}: {failure.title}", _first_line(failure))
        if 200 <= response.status_code < 300:
            try:
                body = json.loads(response.content)
            except ValueError:
                return
            reader.after(case.method.upper(), case.path, case.query or {}, body)

    return one


def _first_line(failure: Exception) -> str:
    message = getattr(failure, "message", "") or str(failure)
    return " ".join(message.split())[:160]


ROUTES = (*openapi.document()["paths"], "/svg/a.svg", "/bildearkiv/x/y.png",
          "/figure-library/z.png", "/api/svg/raw/a/b.svg", "/api/figure-library/raw/c.png",
          "/API/EXAMPLES/", "/nowhere")  # fmt: skip


@st.composite
def raw_requests(draw: st.DrawFn) -> tuple[str, str, dict[str, str], bytes]:
    method = draw(st.sampled_from(("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD",
                                   "TRACE", "PROPFIND")))  # fmt: skip
    path = draw(
        st.one_of(
            st.sampled_from(ROUTES), st.text(min_size=1).map(lambda t: "/" + quote(t, safe="/%"))
        )
    )
    query = draw(st.dictionaries(st.sampled_from(("path", "slug", "entryId", "categoryId",
                                                  "format", "view", "s")), st.text(max_size=40),
                                 max_size=3))  # fmt: skip
    json_values = st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
        lambda inner: st.lists(inner, max_size=4)
        | st.dictionaries(st.text(max_size=8), inner, max_size=4),
        max_leaves=20,
    )  # fmt: skip
    body = draw(st.one_of(
        st.sampled_from(ODD_BODIES),
        st.binary(max_size=200),
        json_values.map(lambda v: json.dumps(v, allow_nan=True).encode()),
        st.fixed_dictionaries({}, optional={
            "path": st.text(max_size=30), "slug": st.text(max_size=30), "examples": json_values,
            "deletedProvided": json_values, "entries": json_values,
            "png": st.sampled_from((PNG, "", 1)),
            "svg": st.text(max_size=30), "categoryId": json_values, "settings": json_values,
            "mode": st.text(max_size=8), "limit": json_values, "replace": json_values,
        }).map(lambda v: json.dumps(v).encode()),
    ))  # fmt: skip
    return method, path, query, body


def _fuzz_raw(env: Mapping[str, str], cases: int, rng_seed: int, report: FuzzReport) -> None:
    app, _ = build_app(env)
    with TestClient(app, raise_server_exceptions=False) as client:

        def one(request: tuple[str, str, dict[str, str], bytes]) -> None:
            method, path, query, body = request
            try:
                response = client.request(method, path, params=query, content=body)
            except (httpx2.InvalidURL, UnicodeError, ValueError) as exc:
                # The client refuses to send it (e.g. a path with a NUL); nothing reached the app.
                report.generated[f"unsendable ({type(exc).__name__})"] += 1
                return
            report.requests += 1
            report.generated["raw requests"] += 1
            report.statuses[response.status_code] += 1
            content_type = response.headers.get("content-type", "")
            for kind in response_problems(
                method, str(response.request.url.raw_path, "latin-1"), response.status_code,
                content_type, response.content,
            ):  # fmt: skip
                report.fail(kind, f"{method} {path} params={query} body={body[:60]!r}")

        settings(
            max_examples=cases,
            database=None,
            deadline=None,
            phases=(Phase.generate,),
            suppress_health_check=list(HealthCheck),
        )(seed(rng_seed)(given(raw_requests())(one)))()


def deep_bodies(depth: int) -> list[tuple[str, str, str]]:
    """Bodies nested ``depth`` levels deep (within orjson's 1024) on each JSON write route."""
    # The 1.0 matters: an integral float sends the parser down its number-fixing walk.
    nested = "[" * depth + "1.0" + "]" * depth
    return [
        ("PUT", "/api/examples?path=/deep",
         f'{{"examples":[{{"v":{nested}}}],"deletedProvided":[]}}'),
        ("POST", "/api/examples/trash", f'{{"entries":[{{"id":"deep","example":{nested}}}]}}'),
        ("POST", "/api/svg", f'{{"slug":"deep","png":"{PNG}","exampleState":{nested}}}'),
        ("POST", "/api/figure-library", f'{{"slug":"deep","svg":"<svg/>","x":{nested}}}'),
        ("PUT", "/api/settings", f'{{"settings":{{"projects":{{"a":{nested}}}}}}}'),
    ]  # fmt: skip


def _deep(env: Mapping[str, str], depths: tuple[int, ...], report: FuzzReport) -> None:
    app, _ = build_app(env)
    with TestClient(app, raise_server_exceptions=False) as client:
        for depth in depths:
            for method, url, body in deep_bodies(depth):
                response = client.request(method, url, content=body.encode())
                report.requests += 1
                report.generated[f"nested {depth} deep"] += 1
                report.statuses[response.status_code] += 1
                for kind in response_problems(
                    method, url, response.status_code, response.headers.get("content-type", ""),
                    response.content,
                ):  # fmt: skip
                    report.fail(f"{kind} (body nested {depth} deep)", f"{method} {url}")


def run_fuzz(
    server: RedisServer,
    *,
    per_operation: int,
    raw_cases: int,
    rng_seed: int,
    deep: tuple[int, ...] = (),
) -> FuzzReport:
    """The whole bad-input scenario against ``server`` (flushed first)."""
    flushall(server)
    env = redis_env(server)
    report = FuzzReport()
    reader_app, _ = build_app(env)
    with TestClient(reader_app) as reader:
        _seed_documents(reader)
        sentinels = _seed_sentinels(reader)
        with direct(server) as client:
            before = {key: integrity.snapshot(client).strings[key] for key in sentinels}
        _fuzz_schema(env, per_operation, rng_seed, ReadBack(reader, report), report)
    _fuzz_raw(env, raw_cases, rng_seed, report)
    _deep(env, deep, report)
    with direct(server) as client:
        snap = integrity.snapshot(client)
    report.integrity = integrity.check(snap) + integrity.unchanged(before, snap)
    report.integrity += asyncio.run(_readback(env, snap))
    return report


async def _readback(env: Mapping[str, str], snap: integrity.Snapshot) -> list[str]:
    async with in_process(env, 1) as (http,):
        return await integrity.api_readback(http, snap)


def row(work: Path, *, quick: bool, rng_seed: int) -> Row:
    result = Row("Bad input: API fuzzing (kv mode)", faults="malformed and hostile requests")
    with timed(result), redis_server(work / "fuzz") as server:
        report = run_fuzz(
            server,
            per_operation=12 if quick else 55,
            raw_cases=150 if quick else 600,
            rng_seed=rng_seed,
            deep=(64, 250, 600),
        )
        with direct(server) as client:
            keys = len(integrity.snapshot(client).strings)
    schema = sum(
        n for label, n in report.generated.items() if label.endswith(("positive", "negative"))
    )
    operations = len(
        {label.rsplit(" ", 1)[0] for label in report.generated if label.endswith("positive")}
    )
    raw = report.generated["raw requests"]
    deep = sum(n for label, n in report.generated.items() if label.startswith("nested"))
    result.size = (
        f"{report.requests:,} requests: {schema:,} generated from /api/openapi.json "
        f"({operations} operations, positive and negative), {raw:,} raw bodies/methods/paths, "
        f"{deep} deeply nested bodies; {report.read_back:,} acknowledged writes read back at once; "
        f"{keys:,} stored keys checked afterwards"
    )
    result.problems = report.problems
    statuses = ", ".join(f"{code}: {n:,}" for code, n in sorted(report.statuses.items()))
    result.details = [
        f"hypothesis seed {rng_seed}; responses by status: {statuses}",
        "checked on every response: no 5xx; every 4xx is application/json with a string "
        "`error` (raw routes: the text/plain `Not Found` of api.md §10); status and content "
        "type documented in the OpenAPI document",
        "checked after the run: every key in the §6.1 schema and decodable, no orphan key or "
        "dangling index member, figure/category links both ways, sentinel documents "
        "byte-identical, every entry served by a second API instance",
    ]
    if report.not_generated:
        result.details.append("no negative form exists for: " + "; ".join(report.not_generated))
    result.details += operation_table(report)
    return result


def operation_table(report: FuzzReport) -> list[str]:
    by_label: dict[str, Counter[int]] = {}
    for (label, status), count in report.outcomes.items():
        by_label.setdefault(label, Counter())[status] += count
    lines = ["", "| operation (generated) | requests | answers |", "|---|---|---|"]
    for label, statuses in sorted(by_label.items()):
        answers = ", ".join(f"{code}×{n}" for code, n in sorted(statuses.items()))
        lines.append(f"| {label} | {sum(statuses.values())} | {answers} |")
    return lines
