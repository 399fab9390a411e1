"""``DetectStackDrift`` polled to a bound (verify V1, status). Emulators may not implement it."""

from __future__ import annotations

from functools import partial
from typing import Any

from botocore.exceptions import ClientError

from mathvisuals.deploy.aws.base import Backoff, Gateway, error_code, http_status
from mathvisuals.deploy.model import DriftReport

# What an endpoint answers for an operation it does not implement.
_UNSUPPORTED = frozenset(
    {"InvalidAction", "NotImplemented", "NotImplementedException", "UnknownOperationException",
     "UnsupportedOperation", "InvalidRequest"}
)  # fmt: skip
_DRIFTED = ["MODIFIED", "DELETED"]


class AwsDrift(Gateway):
    """Starts a detection, polls its status and lists what drifted. Changes no resource."""

    service = "cloudformation"

    def __init__(
        self, client: Any, *, backoff: Backoff | None = None, poll_seconds: float, polls: int
    ) -> None:
        super().__init__(backoff=backoff)
        self._client, self._poll_seconds, self._polls = client, poll_seconds, polls

    def detect(self, stack: str) -> DriftReport:
        try:
            started = self._raw(
                "DetectStackDrift", lambda: self._client.detect_stack_drift(StackName=stack)
            )
            detection = str(started["StackDriftDetectionId"])
            return self._wait(stack, detection)
        except ClientError as exc:
            if error_code(exc) in _UNSUPPORTED or http_status(exc) == 501:
                note = f"the endpoint does not support drift detection ({error_code(exc)})"
                return DriftReport(stack, "NOT_SUPPORTED", note=note)
            raise self._error("DetectStackDrift", exc) from exc

    def _wait(self, stack: str, detection: str) -> DriftReport:
        for attempt in range(self._polls):
            if attempt:
                self._backoff.sleep(self._poll_seconds)
            status: dict[str, Any] = self._raw(
                "DescribeStackDriftDetectionStatus",
                lambda: self._client.describe_stack_drift_detection_status(
                    StackDriftDetectionId=detection
                ),
            )
            state = status.get("DetectionStatus")
            if state == "DETECTION_IN_PROGRESS":
                continue
            drift = str(status.get("StackDriftStatus", "UNKNOWN"))
            if state == "DETECTION_FAILED":
                # Some resource types cannot be checked; the others' result still stands.
                reason = str(status.get("DetectionStatusReason") or "detection failed")
                if drift == "DRIFTED":
                    return DriftReport(stack, "DRIFTED", self._drifted(stack), reason)
                return DriftReport(stack, "FAILED", note=reason)
            if drift == "DRIFTED":
                return DriftReport(stack, "DRIFTED", self._drifted(stack))
            return DriftReport(stack, "IN_SYNC" if drift == "IN_SYNC" else "UNKNOWN")
        return DriftReport(stack, "TIMED_OUT", note=f"not done after {self._polls} polls")

    def _drifted(self, stack: str) -> tuple[str, ...]:
        """DescribeStackResourceDrifts has no paginator in botocore: follow NextToken by hand."""

        def page(extra: dict[str, str]) -> dict[str, Any]:
            found: dict[str, Any] = self._client.describe_stack_resource_drifts(
                StackName=stack, StackResourceDriftStatusFilters=_DRIFTED, **extra
            )
            return found

        drifted: set[str] = set()
        token: str | None = None
        for _ in range(self._polls):
            answer = self._raw(
                "DescribeStackResourceDrifts", partial(page, {"NextToken": token} if token else {})
            )
            drifted |= {
                str(item["LogicalResourceId"]) for item in answer.get("StackResourceDrifts", [])
            }
            token = answer.get("NextToken")
            if not token:
                break
        return tuple(sorted(drifted))
