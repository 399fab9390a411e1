"""Import chosen submodules of a package without first running the package's ``__init__``.

``import redis.asyncio.client`` runs ``redis/__init__.py`` and ``redis/asyncio/__init__.py``
first, and those import the cluster clients, sentinel and keyspace notifications: about a fifth
of redis-py's import time, paid on every Lambda cold start, for code kv mode never runs (issue 15).

:func:`defer_package_init` registers such packages as modules whose ``__init__`` has not run
yet. Submodules still import normally. The first time a package itself is asked for a name
that is not a submodule (``redis.Redis``, say), its ``__init__`` runs after all, so other users
of the library see the whole package. Nothing is deferred once the package is imported.
"""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType
from typing import Any


def defer_package_init(*names: str) -> None:
    """Defer the ``__init__`` of each package in ``names`` (parents first), if not yet imported."""
    for name in names:
        if name in sys.modules:
            continue
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None or spec.submodule_search_locations is None:
            return
        module = importlib.util.module_from_spec(spec)
        module.__getattr__ = _completing(module)  # type: ignore[method-assign]
        sys.modules[name] = module
        parent, _, child = name.rpartition(".")
        if parent:
            setattr(sys.modules[parent], child, module)


def _completing(module: ModuleType) -> Any:
    def __getattr__(name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)  # import machinery probing for dunders
        if importlib.util.find_spec(f"{module.__name__}.{name}") is not None:
            raise AttributeError(name)  # a submodule: the import system loads it alone
        complete(module)
        return getattr(module, name)

    return __getattr__


def complete(module: ModuleType) -> None:
    """Run the deferred ``__init__`` of ``module`` now (once)."""
    if "__getattr__" not in vars(module) or module.__spec__ is None:
        return
    del module.__getattr__
    loader = module.__spec__.loader
    assert loader is not None
    loader.exec_module(module)
