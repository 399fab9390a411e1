"""``mathvisuals rotate-token``: zero-downtime AUTH token rotation."""

from __future__ import annotations

from typing import Annotated

import typer

from mathvisuals.cli import render, wiring
from mathvisuals.cli.options import ConfigOption, EnvOption, JsonOption, TargetOption

NoBackup = Annotated[
    bool, typer.Option("--no-backup", help="Rotate without a `data export` first.")
]


def rotate_token(
    env: EnvOption = None,
    config: ConfigOption = None,
    target: TargetOption = None,
    json_output: JsonOption = False,
    no_backup: NoBackup = False,
) -> None:
    """Rotate the Redis AUTH token with zero downtime: ROTATE (old and new valid), store the
    new secret version, update the api, verify V4-V6, then SET. On a failed verify the old
    token is restored everywhere (exit 8). MATHVISUALS_TOKEN_FILE supplies a chosen token.
    First it exports the data (to the state directory's backups/; --no-backup skips it).

    Example: mathvisuals rotate-token --env prod
    """
    from mathvisuals.deploy.rotation import TokenRotation

    with wiring.session(env, config, target) as s:
        # V6 reads the logs from here: the export's invocation may be the one that starts the
        # function under its current configuration (a resumed rotation updates nothing).
        started_ms = wiring.epoch_now_ms()
        orchestrator = wiring.orchestrator(s, rotating=True)
        if orchestrator.context.token_file is not None:
            # A token file that would be refused is refused now: before the backup, and alone.
            orchestrator.new_token()
        if not no_backup:
            from mathvisuals.cli.data import backup_before

            backup_before(s, "rotate-token")

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
