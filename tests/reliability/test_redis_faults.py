"""SIGKILL of redis-server under write load: 503 while down, back within a second, no loss."""

from __future__ import annotations

from pathlib import Path

import pytest

from reliability.harness import in_process, redis_env, redis_server
from reliability.redis_faults import RECOVERY_LIMIT_S, FaultReport, run_faults


async def one_outage(tmp_path: Path) -> FaultReport:
    with redis_server(tmp_path) as server:  # its own server: the session one is not killed
        async with in_process(redis_env(server), instances=2) as apis:
            return await run_faults(server, apis, kills=1, writers=4, up_seconds=0.7)


@pytest.mark.anyio
async def test_kill_and_restart_redis_under_load(tmp_path: Path) -> None:
    report = await one_outage(tmp_path)
    assert report.problems == []
    assert set(report.down_statuses) == {503}
    assert len(report.recoveries_ms) == 1 and report.recoveries_ms[0] < RECOVERY_LIMIT_S * 1000
    assert len(report.acknowledged) > 20
