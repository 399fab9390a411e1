"""The live state: read once per run and shared by verify and status; the log-line parser."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from mathvisuals.deploy.config import EnvironmentConfig, load_config
from mathvisuals.deploy.gateway import Gateways
from mathvisuals.deploy.live import Observed, parse_events
from mathvisuals.deploy.model import StackState
from mathvisuals.deploy.profile import LOCAL
from mathvisuals.deploy.status import build_status
from mathvisuals.deploy.verify import verify
from tests.deploy.test_verify import READY, converged


@pytest.fixture
def config() -> EnvironmentConfig:
    return load_config(Path("infra/environments/local.toml"))


class Counting:
    """A gateway that counts the calls it passes on."""

    def __init__(self, inner: Any, counts: Counter[str], service: str) -> None:
        self._inner, self._counts, self._service = inner, counts, service

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._inner, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            self._counts[f"{self._service}.{name}"] += 1
            return attribute(*args, **kwargs)

        return call if callable(attribute) else attribute


def counting(gateways: Gateways, counts: Counter[str]) -> Gateways:
    services = ("cloudformation", "secrets", "parameters", "cache", "functions")
    wrapped = {name: Counting(getattr(gateways, name), counts, name) for name in services}
    return Gateways(**{**vars(gateways), **wrapped})


def test_verify_and_status_share_one_reading(config: EnvironmentConfig) -> None:
    world = converged(config)
    counts: Counter[str] = Counter()
    gateways = counting(world.gateways, counts)
    observed = Observed(config, gateways)
    report = verify(
        config,
        gateways,
        profile=LOCAL,
        expected_code_sha256=None,
        run_id="run-1",
        sleep=lambda _: None,
        observed=observed,
    )
    assert report.ok, report.summary()
    build_status(
        config,
        gateways,
        profile=LOCAL,
        verify_report=report,
        tool_version="0",
        now="2026-01-01T00:00:00Z",
        observed=observed,
    )
    # Three stacks described once each, one exports listing, one parameter read, one secret
    # description, one function configuration and one replication group, for both reports.
    assert counts["cloudformation.describe"] == 3
    assert counts["cloudformation.exports"] == 1
    assert counts["parameters.get"] == 1
    assert counts["secrets.describe"] == 1
    assert counts["functions.configuration"] == 1
    assert counts["cache.replication_group"] == 1


def test_observed_reads_each_part_lazily_and_once(config: EnvironmentConfig) -> None:
    world = converged(config)
    counts: Counter[str] = Counter()
    observed = Observed(config, counting(world.gateways, counts))
    assert not counts
    states = [observed.stacks, observed.stacks]
    assert states[0] is states[1]
    assert all(isinstance(state, StackState) for state in states[0].values())
    assert counts == Counter({"cloudformation.describe": 3})


def test_parse_events_skips_text_and_reads_prefixed_json() -> None:
    lines = [
        "START RequestId: 1 Version: $LATEST",
        f"2026-01-01T10:00:00.000Z\treq-1\tINFO\t{json.dumps(READY)}",
        "[1, 2]",
        '{"no_event": true}',
        "{not json",
        "REPORT RequestId: 1\tDuration: 1 ms",
    ]
    assert parse_events(lines) == [READY]
