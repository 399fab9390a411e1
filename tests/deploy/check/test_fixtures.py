"""Every rule against a fixture that reproduces the upstream mistake it exists to prevent."""

from __future__ import annotations

from pathlib import Path

import pytest

from mathvisuals.deploy.check import run_checks

from .support import BAD, CONFIGS, PROD, markers, own_rules, stage, template_markers

# bad/<case> → the bug it reproduces (deploy.md §3). Each file marks its expected findings with
# ``# expect: <rule>``; the test demands exactly those MV findings, at exactly those lines.
TEMPLATE_CASES = {
    "b1_shared_and_data_create_same_names": "B1",
    "b11_secret_reference_without_json_key": "B11",
    "b10_split_over_dynamic_reference": "B10",
    "auth_token_without_tls": "C2",
    "b17_zero_replicas_with_failover": "B17",
    "b17_parameter_allows_zero_replicas": "B17",
    "b12_reference_as_parameter_default": "B12",
    "b27_ssm_secure_reference": "§6.5",
    "dynamic_reference_quota": "quota",
    "b9_transform": "B9",
    "b27_nodejs_runtime": "B27",
    "b30_generated_function_name": "B30",
    "function_name_not_from_config": "B30",
    "b30_log_group_not_for_function": "B30",
    "b27_redis_ping_filter": "B27",
    "b28_retain_on_first_create": "B28",
    "b29_replication_group_without_snapshot": "B29",
    "import_not_exported": "C26",
    "import_from_later_stack": "cycle",
    "duplicate_export_name": "B22",
    "b13_override_not_declared": "B13",
    "b13_required_parameter_not_supplied": "B13",
    "b13_value_refused": "B13",
    "unresolvable_name": "B1",
    "b2_shared_exports_other_secret_name": "B2",
}
WARNING_ONLY = {"unresolvable_name"}


def _config_line(path: Path, key: str) -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(n for n, line in enumerate(lines, 1) if line.startswith(f"{key} ="))


def test_the_good_templates_are_clean(tmp_path: Path) -> None:
    report = run_checks(PROD, templates_dir=stage(tmp_path), lint=False)
    assert report.findings == ()
    assert report.ok


@pytest.mark.parametrize("case", sorted(TEMPLATE_CASES))
def test_bad_template_is_reported_at_its_line(tmp_path: Path, case: str) -> None:
    templates = stage(tmp_path, case)
    expected = {item for item in template_markers(templates) if item[0].startswith("MV")}
    secret_line = ("MV120", str(PROD), _config_line(PROD, "auth_secret_name"))
    if case == "b1_shared_and_data_create_same_names":
        # the secret is the orchestrator's too: the config line is named as the third owner
        expected.add(secret_line)
    if case == "b2_shared_exports_other_secret_name":
        expected.add(("MV121", *secret_line[1:]))

    report = run_checks(PROD, templates_dir=templates, lint=False)

    assert expected, "the fixture marks no finding"
    assert own_rules(report) == expected
    assert report.ok is (case in WARNING_ONLY)


def test_every_bad_template_fixture_is_exercised() -> None:
    lint_only = {"lint_attribute_typo", "malformed_template", "named_iam_role"}
    assert {path.name for path in BAD.iterdir()} == set(TEMPLATE_CASES) | lint_only


def test_stack_name_collision_is_reported_at_both_config_lines(tmp_path: Path) -> None:
    path = CONFIGS / "stack_names_collide.toml"
    report = run_checks(path, templates_dir=stage(tmp_path), lint=False)
    assert own_rules(report) == markers(path)
    assert len(markers(path)) == 2
    assert not report.ok


def test_collision_names_both_places(tmp_path: Path) -> None:
    templates = stage(tmp_path, "b1_shared_and_data_create_same_names")
    report = run_checks(PROD, templates_dir=templates, lint=False)
    endpoint = [
        item
        for item in report.findings
        if item.rule == "MV120" and "/math-visuals/prod/redis/endpoint" in item.message
    ]
    assert len(endpoint) == 2
    shared, data = (str(templates / role / "template.yaml") for role in ("shared", "data"))
    assert {item.file for item in endpoint} == {shared, data}
    for item in endpoint:
        other = data if item.file == shared else shared
        assert f"{other}:" in item.message
        assert "B1" in item.hint


def test_messages_name_the_bug(tmp_path: Path) -> None:
    report = run_checks(PROD, templates_dir=stage(tmp_path, "b17_zero_replicas_with_failover"))
    (finding,) = [item for item in report.findings if item.rule == "MV102"]
    assert "AutomaticFailoverEnabled" in finding.message
    assert "B17" in finding.hint
