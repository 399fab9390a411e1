"""The Lambda entry point for API Gateway HTTP API payload 2.0 events (api.md §2.2)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from mangum import Mangum

from mathvisuals.api import snapstart
from mathvisuals.api.startup import build_root
from mathvisuals.logs import EventLog
from mathvisuals.settings import Settings, snapstart_init

if TYPE_CHECKING:
    from mathvisuals.store.base import Store

# maintenance.EVENT_KEY: that module (urllib, archives) loads only for events carrying it.
MAINTENANCE_KEY = "mathvisuals_maintenance"

LambdaHandler = Callable[[dict[str, Any], Any], dict[str, Any]]

# Responses with these types are sent as text; everything else (PNG) base64-encoded.
TEXT_TYPES = ["application/json", "text/plain", "image/svg+xml", "text/html"]


def strip_stage(path: str, stage: object) -> str:
    """``/prod/api/x`` → ``/api/x`` for stage ``prod``; ``$default`` leaves paths alone."""
    if not isinstance(stage, str) or not stage or stage == "$default":
        return path
    prefix = "/" + stage
    if path == prefix:
        return "/"
    if path.startswith(prefix + "/"):
        return path[len(prefix) :]
    return path


def adapt_event(event: dict[str, Any]) -> dict[str, Any]:
    """Give Mangum the stage-stripped ``rawPath`` and a method, whatever the event carried."""
    context = dict(event.get("requestContext") or {})
    http = dict(context.get("http") or {})
    http["method"] = http.get("method") or "GET"
    http.setdefault("sourceIp", "0.0.0.0")
    raw_path = strip_stage(event.get("rawPath") or http.get("path") or "/", context.get("stage"))
    # Mangum percent-decodes the path it is given; escaping "%" hands the app the raw path.
    http["path"] = raw_path.replace("%", "%25")
    context["http"] = http
    return {**event, "version": "2.0", "requestContext": context}


REFUSED = {
    "statusCode": 403,
    "headers": {"content-type": "application/json"},
    "body": '{"error":"Maintenance requests are accepted only by direct invocation"}',
}


class LambdaApp:
    """The API wrapped for Lambda: adapts the event, then lets Mangum drive the ASGI app."""

    def __init__(self, settings: Settings, log: EventLog | None = None) -> None:
        self.settings = settings
        self.log = log or EventLog()
        self.app = build_root(settings, self.log)
        self._adapter = Mangum(self.app, lifespan="off", text_mime_types=TEXT_TYPES)

    @property
    def store(self) -> Store:
        return self.app.ctx.store

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        if MAINTENANCE_KEY in event:
            from mathvisuals.api import maintenance

            if maintenance.is_direct(event):
                return maintenance.run(event[MAINTENANCE_KEY], self.settings.redis)
            # Shaped like an HTTP event: only a direct invocation may run maintenance.
            return REFUSED
        result: dict[str, Any] = self._adapter(adapt_event(event), context)
        return result


def build_handler(settings: Settings, log: EventLog | None = None) -> LambdaApp:
    return LambdaApp(settings, log)


_handler: LambdaHandler | None = None

if snapstart_init():
    # The init Lambda snapshots: build and prime the handler now, so every restore starts warm.
    _handler = snapstart.prepare(build_handler(Settings.from_env()))


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Built on the first event of a cold start, then reused for the life of the process."""
    global _handler
    if _handler is None:
        _handler = build_handler(Settings.from_env())
    return _handler(event, context)
