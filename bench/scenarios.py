"""The HTTP scenarios: what is seeded, what wrk sends, and upstream's figure for each."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from bench import data
from bench.load import Request


@dataclass(frozen=True)
class Upstream:
    """Upstream's Node.js figures (issue 6), wrk -t2 -c32 -d10s against Redis without TLS."""

    rps: float
    p50_ms: float | None
    p99_ms: float
    note: str = ""


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    requests: list[Request]
    seed: list[Request] = field(default_factory=list)
    writes: bool = False  # compared with redis-benchmark SET instead of GET
    upstream: Upstream | None = None
    goal: str = ""  # the throughput goal, as a factor of upstream
    goal_factor: float = 0.0
    # Upstream's throughput as a fraction of its Redis GET ceiling (issue 15), lowest–highest.
    upstream_ratio: tuple[float, float] | None = None
    entries: int = 0  # entries a list answers, for CPU per listed entry


def build(directory: Path) -> list[Scenario]:
    """Write the request bodies under ``directory`` and describe every scenario."""
    bench_set = data.write_json(directory, "bench-set.json", data.example_set("/bench"))
    put_set = data.write_json(directory, "put-set.json", data.example_set("/bench/put"))
    mix_set = data.write_json(directory, "mix-set.json", data.example_set("/bench/mix"))
    icon = data.write_json(directory, "icon.json", data.svg_entry("bench/icon"))
    big = {key: value for key, value in data.svg_entry("x", 100_000).items() if key != "slug"}
    big_svg = data.write_json(directory, "svg-100k.json", big)
    many = [
        data.write_json(directory, f"set-{i:03d}.json", data.example_set(f"/bench/list/{i:03d}"))
        for i in range(200)
    ]
    archive = [
        data.write_json(directory, f"svg-{i:03d}.json", data.svg_entry(f"bench/archive-{i:03d}"))
        for i in range(100)
    ]
    figures = [
        data.write_json(directory, f"figure-{i:03d}.json", data.figure(i)) for i in range(100)
    ]
    seed_one = [Request("PUT", "/api/examples", bench_set)]
    seed_icon = [Request("POST", "/api/svg", icon)]
    return [
        Scenario(
            "examples-get",
            "GET /api/examples?path=/bench (5 examples, ~2.3 kB)",
            [Request("GET", "/api/examples?path=/bench")],
            seed_one,
            upstream=Upstream(3058, 10.1, 17.4),
            goal="2×",
            goal_factor=2,
            upstream_ratio=(0.034, 0.034),
        ),
        Scenario(
            "svg-raw",
            "GET /api/svg/raw?path=/bench/icon.svg",
            [Request("GET", "/api/svg/raw?path=/bench/icon.svg")],
            seed_icon,
            upstream=Upstream(5525, None, 12.0, "4,473–5,525"),
            goal="2×",
            goal_factor=2,
            upstream_ratio=(0.050, 0.062),
        ),
        Scenario(
            "examples-list-1",
            "GET /api/examples (list holding one entry)",
            [Request("GET", "/api/examples")],
            seed_one,
            upstream=Upstream(2975, None, 17.6),
            goal="2×",
            goal_factor=2,
            upstream_ratio=(0.033, 0.033),
            entries=1,
        ),
        Scenario(
            "examples-list-200",
            "GET /api/examples (list of 200 entries, ~460 kB)",
            [Request("GET", "/api/examples")],
            [Request("PUT", "/api/examples", body) for body in many],
            goal="10×",
            goal_factor=10,
            entries=200,
        ),
        Scenario(
            "examples-put",
            "PUT /api/examples (an example set, ~2.3 kB)",
            [Request("PUT", "/api/examples", put_set)],
            writes=True,
        ),
        Scenario(
            "figures-list-100",
            "GET /api/figure-library (100 figures, 5 categories)",
            [Request("GET", "/api/figure-library")],
            [Request("POST", "/api/figure-library", body) for body in figures],
            entries=100,
        ),
        Scenario(
            "svg-list-100",
            "GET /api/svg (the SVG archive: 100 entries of ~1.2 kB SVG + PNG)",
            [Request("GET", "/api/svg")],
            [Request("POST", "/api/svg", body) for body in archive],
            entries=100,
        ),
        Scenario(
            "svg-post-100k",
            "POST /api/svg (100 kB SVG, 64 slugs)",
            [Request("POST", f"/api/svg?slug=bench/big-{i:02d}", big_svg) for i in range(64)],
            writes=True,
        ),
        Scenario(
            "mixed",
            "mixed: 60% examples GET, 20% raw SVG GET, 20% example-set PUT",
            [Request("GET", "/api/examples?path=/bench")] * 3
            + [
                Request("PUT", "/api/examples", mix_set),
                Request("GET", "/api/svg/raw?path=/bench/icon.svg"),
            ],
            seed_one + seed_icon,
        ),
    ]
