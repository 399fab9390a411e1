"""``mathvisuals logs``: the API function's log events, readable, optionally followed."""

from __future__ import annotations

import json
import time
from typing import Annotated

import typer

from mathvisuals.cli import render, wiring
from mathvisuals.cli.options import ConfigOption, EnvOption, JsonOption, TargetOption

FOLLOW_SECONDS = 2.0


def logs(
    env: EnvOption = None,
    config: ConfigOption = None,
    target: TargetOption = None,
    json_output: JsonOption = False,
    since: Annotated[
        str,
        typer.Option(metavar="DURATION|TIME", help="From how far back: 30s, 10m, 2h, 1d or ISO."),
    ] = "10m",
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep printing new events (Ctrl-C stops).")
    ] = False,
    filter_pattern: Annotated[
        str | None,
        typer.Option(
            "--filter",
            metavar="PATTERN",
            help='A CloudWatch Logs filter pattern, e.g. \'"mode" "kv"\'.',
        ),
    ] = None,
    event: Annotated[
        str | None,
        typer.Option(metavar="NAME", help="Only this event, e.g. store.ready or redis.error."),
    ] = None,
) -> None:
    """The function's log group (/aws/lambda/<api.function_name>), one line per event:
    time, level, event, then its fields. Read-only; never prints a token. With --json: one
    object with every event; with --follow, one JSON object per event line as they come
    (JSON Lines), then the closing object.

    The seed's step 5 check, that the function runs in kv mode:

    Example: mathvisuals logs --env prod --since 1h --event store.ready
    """
    from mathvisuals.deploy import logview

    selection = logview.select(filter_pattern, event)
    start = logview.start_ms(since, wiring.epoch_now_ms())
    with wiring.session(env, config, target) as s:
        group = s.config.log_group
        seen: set[str] = set()
        shown = 0
        collected: list[dict[str, object]] = []  # --json without --follow: one object at the end
        while True:
            found = s.gateways.logs.filter_events(group, start, pattern=selection.pattern)
            for item in logview.fresh(found, seen):
                start = max(start, item.timestamp_ms)
                if not selection.keeps(item.message):
                    continue
                shown += 1
                if json_output and not follow:
                    collected.append(logview.as_json(item))
                elif json_output:  # a stream: one JSON object per line (JSON Lines)
                    typer.echo(json.dumps(logview.as_json(item), ensure_ascii=False))
                else:
                    typer.echo(logview.render(item))
            if not follow:
                break
            try:
                time.sleep(FOLLOW_SECONDS)
            except KeyboardInterrupt:
                break
        if json_output and not follow:
            render.emit_json({"log_group": group, "events": collected})
        elif not shown:
            s.console.print(f"no events in {group} since {since}")
