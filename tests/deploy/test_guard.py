"""The guard's method sets cover every gateway method, and each mutating one passes the hook."""

from __future__ import annotations

import inspect
import typing
from typing import Any

import pytest

from mathvisuals.deploy import gateway
from mathvisuals.deploy.gateway import Gateways
from mathvisuals.deploy.guard import MUTATING, READ_ONLY, guard

# A method whose first word is one of these changes state; it must never be classified read-only.
MUTATING_VERBS = (
    "create", "put", "delete", "update", "modify", "set", "upload", "execute", "subscribe",
    "acquire", "restore", "continue", "tag", "untag", "attach", "detach", "add", "remove",
    "write", "enable", "disable", "rotate", "import", "start", "stop", "invalidate",
)  # fmt: skip


def protocols() -> dict[str, type]:
    """Each Gateways field's protocol class (``X | None`` unwrapped)."""
    hints = typing.get_type_hints(Gateways, vars(gateway))
    found: dict[str, type] = {}
    for name, hint in hints.items():
        options = [arg for arg in typing.get_args(hint) if arg is not type(None)] or [hint]
        found[name] = options[0]
    return found


def methods(protocol: type) -> list[str]:
    return [
        name
        for name, member in vars(protocol).items()
        if inspect.isfunction(member) and not name.startswith("_")
    ]


ALL_METHODS = sorted({(p.__name__, m) for p in protocols().values() for m in methods(p)})


def test_the_gateways_have_protocols_with_methods() -> None:
    assert len(protocols()) == len(Gateways.__dataclass_fields__)
    assert len(ALL_METHODS) > 30


@pytest.mark.parametrize(("protocol", "method"), ALL_METHODS)
def test_every_gateway_method_is_classified(protocol: str, method: str) -> None:
    assert method in MUTATING or method in READ_ONLY, (
        f"{protocol}.{method} is in neither guard.MUTATING nor guard.READ_ONLY"
    )


@pytest.mark.parametrize(("protocol", "method"), ALL_METHODS)
def test_no_method_named_like_a_mutation_is_read_only(protocol: str, method: str) -> None:
    if method in READ_ONLY:
        verb = method.split("_", 1)[0]
        assert verb not in MUTATING_VERBS, f"{protocol}.{method} looks mutating"


def test_the_sets_are_disjoint_and_name_real_methods() -> None:
    assert not MUTATING & READ_ONLY
    named = {method for _, method in ALL_METHODS}
    assert named == MUTATING | READ_ONLY


class Recorder:
    """Answers any method call with None, recording it."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        def call(*args: Any, **kwargs: Any) -> None:
            self.calls.append(name)

        return call


def test_each_mutating_method_passes_the_hook_first() -> None:
    fields = protocols()
    raw = {name: Recorder() for name in fields}
    hooked: list[str] = []
    guarded = guard(Gateways(**raw), hooked.append)
    expected: list[str] = []
    for service, protocol in fields.items():
        for method in methods(protocol):
            getattr(getattr(guarded, service), method)()
            if method in MUTATING:
                expected.append(f"{service}.{method}")
    assert hooked == expected
    assert all(raw[s].calls == methods(p) for s, p in fields.items())
