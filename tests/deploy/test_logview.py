"""``logs``: --since, the selection sent to CloudWatch, rendering, and --follow's de-duplication."""

from __future__ import annotations

import pytest

from mathvisuals.deploy import logview
from mathvisuals.deploy.gateway import LogEvent

NOW = 1_800_000_000_000


@pytest.mark.parametrize(
    ("since", "back_s"), [("30s", 30), ("10m", 600), ("2h", 7200), ("1d", 86400), ("1w", 604800)]
)
def test_durations_count_back_from_now(since: str, back_s: int) -> None:
    assert logview.start_ms(since, NOW) == NOW - back_s * 1000


def test_iso_times_are_utc_unless_they_say_otherwise() -> None:
    assert logview.start_ms("2026-12-02T10:00:00Z", NOW) == 1_796_205_600_000
    assert logview.start_ms("2026-12-02T10:00:00", NOW) == 1_796_205_600_000
    assert logview.start_ms("2026-12-02T11:00:00+01:00", NOW) == 1_796_205_600_000


@pytest.mark.parametrize("since", ["ten minutes", "10x", "", "-5m"])
def test_a_bad_since_is_a_usage_error(since: str) -> None:
    with pytest.raises(logview.SinceError, match="--since") as caught:
        logview.start_ms(since, NOW)
    assert caught.value.exit_code == 2


def test_an_event_alone_is_filtered_by_cloudwatch() -> None:
    chosen = logview.select(None, "store.ready")
    assert chosen.pattern == '{ $.event = "store.ready" }'
    assert chosen.keeps('{"event":"store.ready","mode":"kv"}')
    assert not chosen.keeps("START RequestId: 1")  # where the pattern was not applied


def test_an_event_with_a_term_filter_is_matched_here() -> None:
    chosen = logview.select('"mode" "kv"', "store.ready")
    assert chosen.pattern == '"mode" "kv"'
    assert chosen.keeps('{"event":"store.ready","mode":"kv"}')
    assert not chosen.keeps('{"event":"request","mode":"kv"}')
    assert not chosen.keeps("START RequestId: 1")


def test_an_event_name_cannot_inject_a_pattern() -> None:
    with pytest.raises(logview.SinceError, match="--event"):
        logview.select(None, 'x" } || { $.level = "error')


def test_json_events_render_as_one_readable_line() -> None:
    event = LogEvent(
        1_796_205_600_123,
        '{"event":"store.ready","ts":"2026-12-02T10:00:00.123Z","level":"info","mode":"kv",'
        '"config_version":"abc 1","tls":true}',
        "1",
    )
    assert logview.render(event) == (
        '2026-12-02 10:00:00.123 info  store.ready mode=kv config_version="abc 1" tls=true'
    )


def test_other_lines_keep_their_text() -> None:
    event = LogEvent(1_796_205_600_000, "REPORT RequestId: 1\tDuration: 2.1 ms\n", "2")
    assert logview.render(event) == "2026-12-02 10:00:00.000 REPORT RequestId: 1\tDuration: 2.1 ms"
    assert logview.as_json(event)["message"] == "REPORT RequestId: 1\tDuration: 2.1 ms\n"


def test_follow_shows_each_event_once() -> None:
    seen: set[str] = set()
    first = [LogEvent(1, "a", "e1"), LogEvent(2, "b", "e2")]
    assert logview.fresh(first, seen) == first
    again = [LogEvent(2, "b", "e2"), LogEvent(3, "c", "e3")]
    assert [e.message for e in logview.fresh(again, seen)] == ["c"]
