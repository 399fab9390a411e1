"""How ministack answers a request whose execution environment it replaced (finding 9 of
`tests/deploy/takeover/EMULATOR.md`).

A configuration update kills every warm worker of the function, the one serving a request
included, and deletes its code directory, even while a worker is still being set up. That
request fails with one of the errors below; the HTTP API answers it as a 502 whose body is the
error. AWS keeps serving in-flight (and new) requests on the old execution environments until
the new ones are ready, so none of these is an application error. Anything else is one: a
handler that raises (``Runtime.HandlerError`` with the exception's message), a module missing
from the artefact, any other body.
"""

from __future__ import annotations

import importlib.util
import json
import re

# ministack.core.lambda_runtime Worker.invoke's reader, by where the kill lands: the pipe closes
# mid-request, the reader finds the process already gone (``_proc`` is None), or writes to it.
KILLED_SERVING = frozenset(
    {
        "Worker process died",
        "Worker returned no response",
        "'NoneType' object has no attribute 'stdin'",
        "'NoneType' object has no attribute 'stdout'",
        "[Errno 32] Broken pipe",
    }
)
# Worker._spawn, raised to _execute_function_warm (errorType RuntimeError): killed while it
# initialises, or its freshly extracted code directory deleted by the kill of its predecessor.
KILLED_STARTING = "Worker process exited immediately. stderr: "
CODE_DELETED = re.compile(r"Worker init failed: No module named '(mathvisuals(?:\.\w+)*)'")
# Worker._spawn's extractall (errorType FileNotFoundError): the worker's own temporary directory
# deleted while the artefact is being extracted into it.
EXTRACTING = re.compile(
    r"\[Errno 2\] No such file or directory: '[^']*/ministack-lambda-[^'/]+/code/[^']+'"
)


def _ours(module: str) -> bool:
    """A module of the package the artefact is built from (so the artefact has it)."""
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def worker_replaced(payload: str) -> bool:
    """A Lambda error payload (the HTTP API's 502 body) saying the emulator killed the worker."""
    try:
        error = json.loads(payload)
    except ValueError:
        return False
    if not isinstance(error, dict) or set(error) != {"errorMessage", "errorType"}:
        return False
    kind, message = error["errorType"], error["errorMessage"]
    if not isinstance(message, str):
        return False
    if kind == "Runtime.HandlerError":
        return message in KILLED_SERVING
    if kind == "RuntimeError":
        deleted = CODE_DELETED.fullmatch(message)
        return message == KILLED_STARTING or (deleted is not None and _ours(deleted[1]))
    if kind == "FileNotFoundError":
        return EXTRACTING.fullmatch(message) is not None
    return False
