"""Every stack state of deploy.md §5.11 injected into the fake CloudFormation, checked row by row."""

from __future__ import annotations

import pytest

from reliability.recovery_table import Case, cases, expected, run, run_table

CASES = cases()


@pytest.mark.parametrize("case", CASES, ids=[case.label for case in CASES])
def test_each_state_is_handled_as_the_table_says(case: Case) -> None:
    name = f"math-visuals-{case.role}-rel"
    calls, exit_code, _ = run(case)
    want = expected(case, name)
    assert (list(calls), exit_code) == (list(want.calls), want.exit_code)


def test_the_data_stack_is_never_deleted_without_its_flag() -> None:
    report = run_table()
    assert report.problems == []
    assert report.cases == len(CASES) > 300
    assert report.data_deletes_with_flag > 0  # the flag does what it says
