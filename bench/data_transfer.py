"""``data`` export and import throughput: keys/s and MB/s through the real maintenance handler
(in process, as Lambda runs it) against the TLS redis-server, pages inline as on AWS."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import redis

from bench.servers import BenchRedis
from mathvisuals.api.lambda_handler import build_handler
from mathvisuals.deploy.data import DataTransfer
from mathvisuals.logs import EventLog, MemorySink
from mathvisuals.settings import Settings


@dataclass
class DataFigures:
    keys: int
    megabytes: float
    export_seconds: float
    import_seconds: float
    export_pages: int
    import_pages: int

    def rows(self) -> list[str]:
        def rate(seconds: float) -> str:
            return f"{self.keys / seconds:,.0f} keys/s, {self.megabytes / seconds:,.1f} MB/s"

        return [
            "| step | keys | MB | pages | seconds | rate |",
            "|---|---:|---:|---:|---:|---|",
            f"| export | {self.keys:,} | {self.megabytes:.1f} | {self.export_pages} | "
            f"{self.export_seconds:.1f} | {rate(self.export_seconds)} |",
            f"| import (empty db) | {self.keys:,} | {self.megabytes:.1f} | {self.import_pages} | "
            f"{self.import_seconds:.1f} | {rate(self.import_seconds)} |",
        ]


class _Functions:
    def __init__(self, app: object) -> None:
        self.app = app

    def configuration(self, name: str) -> None:
        return None

    def invoke(self, name: str, event: Mapping[str, object]) -> dict[str, object]:
        return self.app(dict(event), None)  # type: ignore[operator, no-any-return]


class _NoBucket:
    """Inline pages need no bucket; the kept copy of the archive is dropped."""

    def put_backup(self, bucket: str, key: str, body: bytes) -> None:
        return None

    def expire_backups(self, bucket: str, prefix: str, days: int) -> None:
        return None


def measure(work: Path, server: BenchRedis, *, quick: bool) -> DataFigures:
    keys, size = (2_000, 2_000) if quick else (10_000, 5_000)
    env = server.env()
    client = redis.Redis(
        host=env["REDIS_HOST"], port=int(env["REDIS_PORT"]), password=env["REDIS_PASSWORD"],
        ssl=server.tls, ssl_ca_certs=env.get("REDIS_TLS_CA_FILE"),
    )  # fmt: skip
    client.flushall()
    blob = os.urandom(size // 2).hex().encode()  # JSON-safe text, `size` bytes
    with client.pipeline(transaction=False) as pipe:
        for i in range(keys):
            pipe.set(f"examples:/bench/{i}", blob)
            pipe.sadd("examples:__paths__", f"/bench/{i}")
        pipe.execute()
    app = build_handler(Settings.from_env(env), EventLog(MemorySink()))
    data = DataTransfer(
        _Functions(app), _NoBucket(),  # type: ignore[arg-type]
        function_name="bench", bucket="bench", env="bench", region="local", via="inline",
    )  # fmt: skip
    work.mkdir(parents=True, exist_ok=True)
    archive = work / "bench.jsonl.gz"
    started = time.perf_counter()
    exported = data.export(archive, app_version="bench", now="now")
    export_seconds = time.perf_counter() - started
    client.flushall()
    started = time.perf_counter()
    imported = data.import_(archive, dry_run=False, overwrite=False)
    import_seconds = time.perf_counter() - started
    client.flushall()
    client.close()
    loop = asyncio.get_event_loop()
    loop.run_until_complete(app.app.state.ctx.store.aclose())
    return DataFigures(
        exported.manifest.keys, exported.bytes / 1e6, export_seconds, import_seconds,
        exported.pages, imported.pages,
    )  # fmt: skip
