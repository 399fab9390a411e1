"""The e2e load check's rule for telling ministack's killed worker from an application error."""

from __future__ import annotations

import json

import pytest

from tests.deploy.takeover.lambda_workers import worker_replaced


def body(message: str, kind: str = "Runtime.HandlerError") -> str:
    return json.dumps({"errorMessage": message, "errorType": kind})


@pytest.mark.parametrize(
    "payload",
    [
        body("Worker process died"),
        body("'NoneType' object has no attribute 'stdout'"),
        body("Worker process exited immediately. stderr: ", "RuntimeError"),
        # Seen in the e2e run: the re-spawned worker's code directory deleted under it.
        body(
            "Worker init failed: No module named 'mathvisuals.api.lambda_handler'", "RuntimeError"
        ),
        # Seen in the e2e run: the artefact being extracted into a directory the kill deleted.
        body(
            "[Errno 2] No such file or directory: '/tmp/state/ministack/tmp/"
            "ministack-lambda-math-visuals-api-local-m7l_xcb6/code/mathvisuals/errors.py'",
            "FileNotFoundError",
        ),
    ],
)
def test_the_emulators_worker_errors_are_recognised(payload: str) -> None:
    assert worker_replaced(payload)


@pytest.mark.parametrize(
    "payload",
    [
        # The handler raised: whatever it says, it is ours.
        body("invalid username-password pair or user is disabled."),
        body("Worker process died", "AuthenticationError"),
        # A module the artefact really lacks, a dependency or a name the package does not have.
        body("Worker init failed: No module named 'redis'", "RuntimeError"),
        body("Worker init failed: No module named 'mathvisuals.api.nowhere'", "RuntimeError"),
        # The handler's own missing file, or one outside the worker's code directory.
        body("[Errno 2] No such file or directory: '/var/task/figures.json'"),
        body("[Errno 2] No such file or directory: '/etc/ssl/ca.pem'", "FileNotFoundError"),
        # A crash with something on stderr is not a clean kill.
        body("Worker process exited immediately. stderr: Segmentation fault", "RuntimeError"),
        # Extra fields, not JSON, an API answer.
        json.dumps(
            {"errorMessage": "Worker process died", "errorType": "Runtime.HandlerError", "x": 1}
        ),
        "Bad Gateway",
        '{"error":"internal"}',
    ],
)
def test_anything_else_is_an_application_error(payload: str) -> None:
    assert not worker_replaced(payload)
