"""The memo of sanitised records: bounded, keyed on the exact stored text, spliced safely."""

from __future__ import annotations

from mathvisuals import jsonfmt
from mathvisuals.store.rendered import Memo, Rendered, with_fields


def test_lookups_are_keyed_on_key_and_exact_text_and_copies_come_out() -> None:
    memo = Memo()
    stored = memo.store("/a", '{"x":1}', {"x": 1}, remember=True)
    assert stored.json == b'{"x":1}'
    assert memo.lookup("/a", '{"x": 1}') is None  # other text, same meaning: a miss
    assert memo.lookup("/b", '{"x":1}') is None
    hit = memo.lookup("/a", '{"x":1}')
    assert hit == {"x": 1} and hit is not stored and hit.json == b'{"x":1}'
    hit["x"] = 2  # a caller's change to the copy does not reach the memo
    assert memo.lookup("/a", '{"x":1}') == {"x": 1}
    memo.store("/c", "t", {"y": 1}, remember=False)
    assert memo.lookup("/c", "t") is None


def test_the_least_recently_used_go_first_when_full() -> None:
    memo = Memo(max_bytes=3 * (2 * 100 + 7 + 200))
    texts = [f"{i}" * 100 for i in range(4)]
    for text in texts[:3]:
        memo.store("/k", text, {"v": 1}, remember=True)
    assert memo.lookup("/k", texts[0]) is not None  # now the most recent
    memo.store("/k", texts[3], {"v": 1}, remember=True)
    assert memo.lookup("/k", texts[1]) is None
    assert all(memo.lookup("/k", t) is not None for t in (texts[0], texts[2], texts[3]))


def test_splicing_matches_encoding_the_merged_dict() -> None:
    meta = {"storage": "kv", "persistent": True}
    record = Rendered({"path": "/p", "n": 1}, b'{"path":"/p","n":1}')
    assert with_fields(record, meta, jsonfmt.dumps(meta)) == jsonfmt.dumps({**record, **meta})
    assert with_fields(record, {}, b"{}") == record.json
    empty = Rendered({}, b"{}")
    assert with_fields(empty, meta, jsonfmt.dumps(meta)) == jsonfmt.dumps(meta)
    # Overlapping keys keep the record's position: only the slow path gets that right.
    assert with_fields(record, {"n": 2}, b'{"n":2}') is None
    # A record orjson could not encode has no rendering to splice.
    assert with_fields(Rendered({"n": 2**70}, None), meta, jsonfmt.dumps(meta)) is None


def test_remembered_records_name_their_source_and_give_their_json_alone() -> None:
    memo = Memo()
    assert memo.store("/a", "t", {"x": 1}, remember=True).source == ("/a", "t")
    assert memo.store("/b", "t", {"x": 1}, remember=False).source is None  # not a pure view
    hit = memo.lookup("/a", "t")
    assert hit is not None and hit.source == ("/a", "t")
    assert memo.encoded("/a", "t") == b'{"x":1}'
    assert memo.encoded("/a", "u") is None
    memo.store("/n", "t", {"n": 2**70}, remember=True)  # no orjson rendering: nothing to give
    assert memo.encoded("/n", "t") is None
