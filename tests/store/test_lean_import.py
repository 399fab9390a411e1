"""Deferred package initialisers: real imports, in fresh interpreters where it matters."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.conftest import TESTS

REPO = TESTS.parent


def run(code: str, *, path: Path, env: dict[str, str] | None = None) -> dict[str, object]:
    """``code`` in a fresh interpreter with ``path`` first on sys.path; its last stdout line."""
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=path, env={"PYTHONPATH": f"{path}:{REPO}", **(env or {})},
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout.splitlines()[-1]))


@pytest.fixture
def package(tmp_path: Path) -> Path:
    """``pkg`` whose ``__init__`` counts its runs and imports a heavy sibling, plus ``pkg.sub``."""
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text(
        "import builtins\nbuiltins.INIT_RUNS = getattr(builtins, 'INIT_RUNS', 0) + 1\n"
        "from pkg import heavy\nNAME = 'from init'\n"
    )
    (tmp_path / "pkg" / "heavy.py").write_text("")
    (tmp_path / "pkg" / "sub.py").write_text("VALUE = 42\n")
    return tmp_path


def test_a_submodule_imports_without_its_package_init(package: Path) -> None:
    seen = run(
        """
        import builtins, json, sys
        from mathvisuals.store.lean_import import defer_package_init
        defer_package_init("pkg")
        import pkg.sub
        from pkg import sub
        before = getattr(builtins, "INIT_RUNS", 0), "pkg.heavy" in sys.modules
        name = pkg.NAME  # a name only the init defines: it runs now, once
        pkg.NAME
        print(json.dumps({"before": before, "after": builtins.INIT_RUNS, "name": name,
                          "value": sub.VALUE, "heavy": "pkg.heavy" in sys.modules}))
        """,
        path=package,
    )
    assert seen == {"before": [0, False], "after": 1, "name": "from init", "value": 42,
                    "heavy": True}  # fmt: skip


def test_an_imported_package_is_left_alone(package: Path) -> None:
    seen = run(
        """
        import builtins, json
        import pkg
        from mathvisuals.store.lean_import import defer_package_init
        defer_package_init("pkg")
        import pkg.sub
        print(json.dumps({"runs": builtins.INIT_RUNS, "name": pkg.NAME}))
        """,
        path=package,
    )
    assert seen == {"runs": 1, "name": "from init"}


def test_a_missing_name_still_raises_after_the_init_ran(package: Path) -> None:
    seen = run(
        """
        import json
        from mathvisuals.store.lean_import import defer_package_init
        defer_package_init("pkg")
        import pkg
        try:
            pkg.NOT_THERE
        except AttributeError as exc:
            print(json.dumps({"error": str(exc), "name": pkg.NAME}))
        """,
        path=package,
    )
    assert seen == {"error": "module 'pkg' has no attribute 'NOT_THERE'", "name": "from init"}


def test_the_kv_store_works_on_redis_py_without_its_cluster_modules(
    redis_env: dict[str, str],
) -> None:
    seen = run(
        """
        import asyncio, json, os, sys
        from mathvisuals.settings import redis_config
        from mathvisuals.store import open_store
        from mathvisuals.store.base import SAdd, Set

        async def use(store):
            await store.write([Set("p:x", "1"), SAdd("i", "x")])
            listed = await store.list_index("i", "p:")
            await store.aclose()
            return listed

        store = open_store(redis_config(os.environ))
        listed = asyncio.run(use(store))
        lean = [m for m in ("redis.cluster", "redis.asyncio.cluster", "redis.sentinel",
                            "redis.keyspace_notifications") if m in sys.modules]
        import redis  # another user of redis-py gets the whole package
        from redis import exceptions
        from mathvisuals.store import redis as ours
        print(json.dumps({"listed": listed, "loaded while serving": lean,
                          "client": redis.Redis.__module__, "cluster": "redis.cluster" in sys.modules,
                          "same errors": ours.rex is exceptions
                                         and redis.ResponseError is exceptions.ResponseError}))
        """,
        path=REPO,
        env=redis_env,
    )
    assert seen == {"listed": [["x", "1"]], "loaded while serving": [], "client": "redis.client",
                    "cluster": True, "same errors": True}  # fmt: skip
