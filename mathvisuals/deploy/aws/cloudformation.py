"""CloudFormation: stacks, change sets, events, exports and imports."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Literal

from botocore.exceptions import (
    ClientError,
)
from botocore.handlers import json_decode_template_body

from mathvisuals.deploy.aws.base import (
    Backoff,
    Gateway,
    as_utc,
    error_code,
    error_message,
    iso,
    stack_missing,
    tag_list,
    tag_map,
)
from mathvisuals.deploy.aws.drift import AwsDrift
from mathvisuals.deploy.errors import (
    DeploymentFailedError,
    WaitTimeoutError,
)
from mathvisuals.deploy.model import (
    Change,
    ChangeSet,
    DriftReport,
    ExportInfo,
    PropertyDetail,
    StackEvent,
    StackResource,
    StackSpec,
    StackState,
)

log = logging.getLogger(__name__)

# The two ways CloudFormation says a change set would change nothing (CLI v1 and v2 disagree
# on which one they surface, hence both).
NO_CHANGE_REASONS = (
    "The submitted information didn't contain changes",
    "No updates are to be performed.",
)


# Every status of a stack that exists (ListStacks lists deleted stacks too, for 90 days).
_LIVE_STATUSES = [
    "CREATE_IN_PROGRESS", "CREATE_FAILED", "CREATE_COMPLETE", "ROLLBACK_IN_PROGRESS",
    "ROLLBACK_FAILED", "ROLLBACK_COMPLETE", "DELETE_IN_PROGRESS", "DELETE_FAILED",
    "UPDATE_IN_PROGRESS", "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", "UPDATE_COMPLETE",
    "UPDATE_FAILED", "UPDATE_ROLLBACK_IN_PROGRESS", "UPDATE_ROLLBACK_FAILED",
    "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS", "UPDATE_ROLLBACK_COMPLETE",
    "REVIEW_IN_PROGRESS", "IMPORT_IN_PROGRESS", "IMPORT_COMPLETE",
    "IMPORT_ROLLBACK_IN_PROGRESS", "IMPORT_ROLLBACK_FAILED", "IMPORT_ROLLBACK_COMPLETE",
]  # fmt: skip


def _stack_of(export: Mapping[str, Any]) -> str:
    """The stack name inside ``ExportingStackId`` (arn:…:stack/<name>/<uuid>)."""
    stack_id = str(export.get("ExportingStackId", ""))
    parts = stack_id.split(":stack/", 1)
    return parts[1].split("/", 1)[0] if len(parts) == 2 else stack_id


def _no_changes(reason: str) -> bool:
    return any(text in reason for text in NO_CHANGE_REASONS)


class AwsCloudFormation(Gateway):
    service = "cloudformation"

    def __init__(
        self,
        client: Any,  # CloudFormation client (no boto3 stubs installed)
        *,
        poll_seconds: float = 5.0,
        change_set_polls: int = 120,
        backoff: Backoff | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        elsewhere: Callable[[], Mapping[str, Any]] | None = None,
    ) -> None:
        super().__init__(backoff=backoff)
        # region -> a client of that region, made on demand (only `stacks_elsewhere` needs them)
        self._elsewhere = elsewhere
        self._client = client
        # botocore decodes a JSON TemplateBody into a dict; keep the text exactly as submitted,
        # so that it compares equal to the local template.
        client.meta.events.unregister(
            "after-call.cloudformation.GetTemplate", json_decode_template_body
        )
        self._poll_seconds = poll_seconds
        self._change_set_polls = change_set_polls
        self._clock = clock

    def describe(self, stack: str) -> StackState:
        try:
            found = self._raw(
                "DescribeStacks", lambda: self._client.describe_stacks(StackName=stack)
            )
        except ClientError as exc:
            if stack_missing(exc):
                return StackState(stack, None)
            raise self._error("DescribeStacks", exc) from exc
        data = found["Stacks"][0]
        status = str(data["StackStatus"])
        return StackState(
            name=stack,
            status=status,
            reason=str(data.get("StackStatusReason", "")),
            outputs=tag_map(data.get("Outputs"), "OutputKey", "OutputValue"),
            parameters=tag_map(data.get("Parameters"), "ParameterKey", "ParameterValue"),
            tags=tag_map(data.get("Tags")),
            # CreateChangeSet(CREATE) leaves the stack in REVIEW_IN_PROGRESS until executed; only
            # a change set being executed means someone else is at work.
            pending_execution=status == "REVIEW_IN_PROGRESS" and self._executing(stack),
            termination_protection=bool(data.get("EnableTerminationProtection", False)),
        )

    def _executing(self, stack: str) -> bool:
        def summaries() -> list[dict[str, Any]]:
            pages = self._client.get_paginator("list_change_sets").paginate(StackName=stack)
            return [summary for page in pages for summary in page.get("Summaries", [])]

        found = self._call("ListChangeSets", summaries)
        return any(s.get("ExecutionStatus") == "EXECUTE_IN_PROGRESS" for s in found)

    def template(self, stack: str) -> str | None:
        try:
            found = self._raw(
                "GetTemplate",
                lambda: self._client.get_template(StackName=stack, TemplateStage="Original"),
            )
        except ClientError as exc:
            if stack_missing(exc):
                return None
            raise self._error("GetTemplate", exc) from exc
        return str(found["TemplateBody"])

    def events(self, stack: str, since: str | None = None) -> list[StackEvent]:
        after = as_utc(datetime.fromisoformat(since)) if since else None

        def newest_first() -> list[dict[str, Any]]:
            collected: list[dict[str, Any]] = []
            pages = self._client.get_paginator("describe_stack_events").paginate(StackName=stack)
            for page in pages:
                for event in page.get("StackEvents", []):
                    if after is not None and as_utc(event["Timestamp"]) <= after:
                        return collected  # events come newest first: the rest is older
                    collected.append(event)
            return collected

        try:
            found = self._raw("DescribeStackEvents", newest_first)
        except ClientError as exc:
            if stack_missing(exc):
                return []
            raise self._error("DescribeStackEvents", exc) from exc
        return [
            StackEvent(
                timestamp=iso(event["Timestamp"]),
                logical_id=str(event.get("LogicalResourceId", "")),
                resource_type=str(event.get("ResourceType", "")),
                status=str(event.get("ResourceStatus", "")),
                reason=str(event.get("ResourceStatusReason", "")),
            )
            for event in reversed(found)
        ]

    def create_change_set(self, spec: StackSpec, kind: Literal["CREATE", "UPDATE"]) -> ChangeSet:
        name = f"mathvisuals-{self._clock():%Y%m%dT%H%M%S%fZ}"
        try:
            created = self._raw(
                "CreateChangeSet",
                lambda: self._client.create_change_set(
                    StackName=spec.name,
                    ChangeSetName=name,
                    # Explicit: without it moto (and old CLIs) assume CREATE.
                    ChangeSetType=kind,
                    TemplateBody=spec.template_body,
                    # Every parameter explicit, never UsePreviousValue: the plan is the whole truth.
                    Parameters=[
                        {"ParameterKey": key, "ParameterValue": value}
                        for key, value in sorted(spec.parameters.items())
                    ],
                    Capabilities=list(spec.capabilities),
                    Tags=tag_list(spec.tags),
                    Description="mathvisuals",
                ),
            )
        except ClientError as exc:
            # moto refuses an identical template synchronously rather than failing the change set.
            if error_code(exc) == "ValidationError" and _no_changes(error_message(exc)):
                log.info("%s: no changes", spec.name)
                return ChangeSet(spec.name, name, kind, empty=True)
            raise self._error("CreateChangeSet", exc) from exc
        change_set_id = str(created["Id"])
        described = self._wait_for_change_set(spec.name, name, change_set_id)
        if described["Status"] == "FAILED":
            reason = str(described.get("StatusReason", ""))
            if _no_changes(reason):
                log.info("%s: no changes", spec.name)
                empty = ChangeSet(spec.name, name, kind, empty=True, change_set_id=change_set_id)
                self.delete_change_set(empty)
                return empty
            # The failed change set stays for inspection; a later run creates a fresh one.
            raise DeploymentFailedError(
                f"change set {name} for {spec.name} failed: {reason or 'no reason given'}"
            )
        changes = tuple(self._changes(change_set_id))
        log.info("%s: change set %s has %d changes", spec.name, name, len(changes))
        return ChangeSet(spec.name, name, kind, changes=changes, change_set_id=change_set_id)

    def update_outputs(self, spec: StackSpec) -> bool:
        """``UpdateStack`` with the whole spec, for a change to Outputs alone: a change set with
        no resource change ends "didn't contain changes" (ministack; AWS too, by its message).
        False when CloudFormation says there is nothing to update."""
        try:
            self._raw(
                "UpdateStack",
                lambda: self._client.update_stack(
                    StackName=spec.name,
                    TemplateBody=spec.template_body,
                    Parameters=[
                        {"ParameterKey": key, "ParameterValue": value}
                        for key, value in sorted(spec.parameters.items())
                    ],
                    Capabilities=list(spec.capabilities),
                    Tags=tag_list(spec.tags),
                ),
            )
        except ClientError as exc:
            if error_code(exc) == "ValidationError" and _no_changes(error_message(exc)):
                return False
            raise self._error("UpdateStack", exc) from exc
        return True

    def _wait_for_change_set(self, stack: str, name: str, change_set_id: str) -> dict[str, Any]:
        for attempt in range(self._change_set_polls):
            if attempt:
                self._backoff.sleep(self._poll_seconds)
            described: dict[str, Any] = self._call(
                "DescribeChangeSet",
                lambda: self._client.describe_change_set(ChangeSetName=change_set_id),
            )
            if described["Status"] not in ("CREATE_PENDING", "CREATE_IN_PROGRESS"):
                return described
        raise WaitTimeoutError(f"change set {name} for {stack} was not ready in time")

    def _changes(self, change_set_id: str) -> Iterable[Change]:
        def pages() -> list[dict[str, Any]]:
            paginator = self._client.get_paginator("describe_change_set")
            return [
                change
                for page in paginator.paginate(ChangeSetName=change_set_id)
                for change in page.get("Changes", [])
            ]

        for change in self._call("DescribeChangeSet", pages):
            resource = change.get("ResourceChange")
            if change.get("Type") != "Resource" or not resource:
                continue
            yield Change(
                action=str(resource.get("Action", "")),
                logical_id=str(resource.get("LogicalResourceId", "")),
                resource_type=str(resource.get("ResourceType", "")),
                # Absent for Add/Remove; "True" | "False" | "Conditional" otherwise.
                replacement=str(resource.get("Replacement", "False")),
                details=tuple(_property_details(resource.get("Details", []))),
            )

    def drift(self, stack: str) -> DriftReport:
        reader = AwsDrift(
            self._client,
            backoff=self._backoff,
            poll_seconds=self._poll_seconds,
            polls=self._change_set_polls,
        )
        return reader.detect(stack)

    def execute(self, change_set: ChangeSet) -> None:
        if change_set.empty:
            return  # an empty change set was already deleted: executing nothing does nothing
        self._call(
            "ExecuteChangeSet",
            lambda: self._client.execute_change_set(
                ChangeSetName=change_set.change_set_id or change_set.name,
                StackName=change_set.stack,
            ),
        )

    def delete_change_set(self, change_set: ChangeSet) -> None:
        try:
            self._raw(
                "DeleteChangeSet",
                lambda: self._client.delete_change_set(
                    ChangeSetName=change_set.change_set_id or change_set.name,
                    StackName=change_set.stack,
                ),
            )
        except ClientError as exc:
            if error_code(exc) != "ChangeSetNotFound":
                raise self._error("DeleteChangeSet", exc) from exc

    def delete_stack(self, stack: str, retain: Sequence[str] = ()) -> None:
        # RetainResources is only accepted for stacks in DELETE_FAILED: pass it only when asked.
        extra: dict[str, Any] = {"RetainResources": list(retain)} if retain else {}
        self._call("DeleteStack", lambda: self._client.delete_stack(StackName=stack, **extra))

    def continue_rollback(self, stack: str, skip: Sequence[str] = ()) -> None:
        extra: dict[str, Any] = {"ResourcesToSkip": list(skip)} if skip else {}
        self._call(
            "ContinueUpdateRollback",
            lambda: self._client.continue_update_rollback(StackName=stack, **extra),
        )

    def physical_ids(self, stack: str) -> set[str]:
        def pages() -> list[dict[str, Any]]:
            paginator = self._client.get_paginator("list_stack_resources")
            return [
                item
                for page in paginator.paginate(StackName=stack)
                for item in page.get("StackResourceSummaries", [])
            ]

        try:
            resources = self._raw("ListStackResources", pages)
        except ClientError as exc:
            if "does not exist" in error_message(exc):
                return set()
            raise self._error("ListStackResources", exc) from exc
        return {
            str(item["PhysicalResourceId"]) for item in resources if "PhysicalResourceId" in item
        }

    def exports(self) -> Mapping[str, str]:
        def pages() -> list[dict[str, Any]]:
            paginator = self._client.get_paginator("list_exports")
            return [item for page in paginator.paginate() for item in page.get("Exports", [])]

        return tag_map(self._call("ListExports", pages), "Name", "Value")

    def importers(self, export: str) -> list[str]:
        def pages() -> list[str]:
            paginator = self._client.get_paginator("list_imports")
            return [
                str(stack)
                for page in paginator.paginate(ExportName=export)
                for stack in page.get("Imports", [])
            ]

        try:
            return self._raw("ListImports", pages)
        except ClientError as exc:
            if "is not imported by any stack" in error_message(exc):
                return []
            raise self._error("ListImports", exc) from exc

    def resources(self, stack: str) -> list[StackResource]:
        def pages() -> list[dict[str, Any]]:
            paginator = self._client.get_paginator("list_stack_resources")
            return [
                item
                for page in paginator.paginate(StackName=stack)
                for item in page.get("StackResourceSummaries", [])
            ]

        try:
            found = self._raw("ListStackResources", pages)
        except ClientError as exc:
            if "does not exist" in error_message(exc):
                return []
            raise self._error("ListStackResources", exc) from exc
        return [
            StackResource(
                str(item["LogicalResourceId"]),
                str(item.get("ResourceType", "")),
                str(item.get("PhysicalResourceId", "")),
                str(item.get("ResourceStatus", "")),
            )
            for item in found
        ]

    def export_table(self) -> list[ExportInfo]:
        def pages() -> list[dict[str, Any]]:
            paginator = self._client.get_paginator("list_exports")
            return [item for page in paginator.paginate() for item in page.get("Exports", [])]

        return [
            ExportInfo(str(item["Name"]), str(item.get("Value", "")), _stack_of(item))
            for item in self._call("ListExports", pages)
        ]

    def stacks_elsewhere(self, names: Sequence[str]) -> dict[str, list[str]]:
        """One ListStacks per other region; a region the account has not enabled is skipped."""
        found: dict[str, list[str]] = {}
        wanted = set(names)
        for region, client in (self._elsewhere() if self._elsewhere else {}).items():

            def pages(client: Any = client) -> list[str]:
                paginator = client.get_paginator("list_stacks")
                return [
                    str(summary["StackName"])
                    for page in paginator.paginate(StackStatusFilter=_LIVE_STATUSES)
                    for summary in page.get("StackSummaries", [])
                ]

            try:
                present = sorted(wanted & set(self._raw("ListStacks", pages)))
            except ClientError as exc:
                # Opt-in regions answer InvalidClientTokenId/UnrecognizedClient until enabled.
                log.info("ListStacks in %s: %s", region, error_code(exc))
                continue
            if present:
                found[region] = present
        return found

    def set_termination_protection(self, stack: str, enabled: bool) -> None:
        self._call(
            "UpdateTerminationProtection",
            lambda: self._client.update_termination_protection(
                StackName=stack, EnableTerminationProtection=enabled
            ),
        )

    def set_stack_policy(self, stack: str, policy: str) -> None:
        self._call(
            "SetStackPolicy",
            lambda: self._client.set_stack_policy(StackName=stack, StackPolicyBody=policy),
        )


def _property_details(details: Iterable[Mapping[str, Any]]) -> Iterable[PropertyDetail]:
    """The changed properties; one property may appear once per cause (a direct and a dynamic)."""
    seen: dict[str, str] = {}
    order = ("Never", "Conditionally", "Always")
    for detail in details:
        target = detail.get("Target") or {}
        if target.get("Attribute") != "Properties" or not target.get("Name"):
            continue
        name, needs = str(target["Name"]), str(target.get("RequiresRecreation", "Never"))
        known = seen.get(name, "Never")
        rank = order.index(needs) if needs in order else len(order)
        seen[name] = needs if rank >= order.index(known) else known
    return [PropertyDetail(name, needs) for name, needs in seen.items()]
