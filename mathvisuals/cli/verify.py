"""``mathvisuals verify``: V1–V8 against the live deployment."""

from __future__ import annotations

from mathvisuals.cli import render, wiring
from mathvisuals.cli.options import ConfigOption, EnvOption, JsonOption, TargetOption
from mathvisuals.deploy.errors import VerificationError


def verify(
    env: EnvOption = None,
    config: ConfigOption = None,
    target: TargetOption = None,
    json_output: JsonOption = False,
) -> None:
    """Prove the deployment works: stacks, Redis flags, security groups, the Lambda's
    resolved configuration, an in-VPC round trip through the function, its logs, and (AWS)
    the public endpoint and alarms. Exit 8 when any check fails.

    Example: mathvisuals verify --env prod
    """
    with wiring.session(env, config, target) as s:
        report = wiring.verify_report(s, code_sha256=None)
        wiring.record_verify(s, report)
        s.reporter.stop()
        if json_output:
            render.emit_json_text(report.to_json())
        else:
            s.console.print(report.summary())
        if not report.ok:
            failed = [c.id for c in report.checks if c.outcome == "fail"]
            raise VerificationError("verification failed: " + (", ".join(failed) or "see above"))
