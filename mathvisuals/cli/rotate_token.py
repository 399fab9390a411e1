"""``mathvisuals rotate-token``: zero-downtime AUTH token rotation."""

from __future__ import annotations

from mathvisuals.cli import render, wiring
from mathvisuals.cli.options import ConfigOption, EnvOption, JsonOption, TargetOption


def rotate_token(
    env: EnvOption = None,
    config: ConfigOption = None,
    target: TargetOption = "aws",
    json_output: JsonOption = False,
) -> None:
    """Rotate the Redis AUTH token with zero downtime: ROTATE (old and new valid), store the
    new secret version, update the api, verify V4-V6, then SET. On a failed verify the old
    token is restored everywhere (exit 8). MATHVISUALS_TOKEN_FILE supplies a chosen token.

    Example: mathvisuals rotate-token --env prod
    """
    from mathvisuals.deploy.rotation import TokenRotation

    with wiring.session(env, config, target) as s:
        orchestrator = wiring.orchestrator(s, rotating=True)
        started_ms = wiring.epoch_now_ms()

        def check() -> bool:
            report = wiring.verify_report(
                s, code_sha256=None, only=("V4", "V5", "V6"), since_ms=started_ms
            )
            s.console.print(report.summary())
            return report.ok

        new_fingerprint = TokenRotation(orchestrator, check).run()
        s.reporter.stop()
        wiring.write_status(s, None)
        if json_output:
            render.emit_json({"rotated": True, "secret": new_fingerprint})
        else:
            s.console.print(f"token rotated: {new_fingerprint}")
