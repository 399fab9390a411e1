"""Read the live stacks and the account's exports into the predictor's vocabulary (reads only)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cfnlint.decode import decode_str

from mathvisuals.deploy.gateway import CloudFormation
from mathvisuals.deploy.takeover.model import LiveResource, LiveStack, World


def decode(text: str) -> dict[str, Any] | None:
    """A template body (YAML or JSON) as a mapping; None when it is not one."""
    body, matches = decode_str(text)
    if matches or not isinstance(body, dict) or not isinstance(body.get("Resources"), dict):
        return None
    return body


def read_stack(cfn: CloudFormation, name: str) -> LiveStack | None:
    """The stack as it is, or None when it does not exist or its template is not readable."""
    state = cfn.describe(name)
    if not state.exists:
        return None
    text = cfn.template(name)
    body = decode(text) if text is not None else None
    if body is None:
        return None
    resources = {
        r.logical_id: LiveResource(r.logical_id, r.type, r.physical_id)
        for r in cfn.resources(name)
        if r.physical_id
    }
    return LiveStack(
        name,
        body,
        dict(state.parameters),
        resources,
        exports={},
        tags=dict(state.tags),
        status=state.status or "",
    )


def read_world(
    cfn: CloudFormation, names: Sequence[str], region: str, account_id: str
) -> tuple[dict[str, LiveStack | None], World]:
    """Our stacks by name, plus every export of the region and who imports ours."""
    table = cfn.export_table()
    live: dict[str, LiveStack | None] = {}
    for name in names:
        found = read_stack(cfn, name)
        if found is not None:
            own = {e.name: e.value for e in table if e.stack == name}
            found = LiveStack(
                found.name,
                found.template,
                found.parameters,
                found.resources,
                own,
                found.tags,
                found.status,
            )
        live[name] = found
    importers = {e.name: tuple(cfn.importers(e.name)) for e in table if e.stack in names}
    world = World(
        region,
        account_id,
        exports={e.name: e.value for e in table},
        importers={k: v for k, v in importers.items() if v},
    )
    return live, world
