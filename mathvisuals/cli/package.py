"""``mathvisuals package``: the Lambda artefact exactly as ``up`` builds it, without AWS."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path
from typing import Annotated

import typer

from mathvisuals.cli import render, wiring
from mathvisuals.cli.options import ConfigOption, EnvOption, JsonOption, TargetOption
from mathvisuals.cli.workdir import out_file
from mathvisuals.deploy.errors import DeploymentFailedError

OutOption = Annotated[
    Path | None,
    typer.Option(
        "--out", "-o", callback=out_file, metavar="FILE", help="Also copy the zip to this file."
    ),
]


def package(
    env: EnvOption = None,
    config: ConfigOption = None,
    target: TargetOption = None,
    out: OutOption = None,
    json_output: JsonOption = False,
) -> None:
    """Build the Lambda artefact as `up` would (same interpreter version, platform, bytecode,
    file list) and print its path, sha256, sizes and whether it carries bytecode. Touches no
    AWS account and starts no sandbox. Exit 6 when no Python of the runtime's version is
    found to compile the bytecode, 7 when the build fails.

    Example: mathvisuals package --env prod --out dist/lambda.zip
    """
    wiring.install_scrubber()
    # A bad environment file is exit 3, as for up; env.target picks the profile.
    artifact = wiring.build_artifact(wiring.target_profile(env, config, target))
    path = artifact.path.resolve()  # the state directory may be relative to the project root
    if out is not None:
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(artifact.path, out)
        except OSError as exc:
            raise DeploymentFailedError(f"cannot write {out}: {exc.strerror or exc}") from exc
        path = out
    with zipfile.ZipFile(artifact.path) as archive:
        unzipped = sum(info.file_size for info in archive.infolist())
    facts = {
        "path": str(path),
        "sha256": artifact.sha256,
        "code_sha256": artifact.code_sha256,
        "size": artifact.size,
        "unzipped_size": unzipped,
        "files": len(artifact.manifest),
        "bytecode": artifact.bytecode is not None,
        "cache_tag": artifact.bytecode,
    }
    if json_output:
        render.emit_json(facts)
        return
    bytecode = f"yes ({artifact.bytecode})" if artifact.bytecode else "no"
    typer.echo(
        f"{path}\n  sha256    {artifact.sha256}\n"
        f"  size      {artifact.size:,} bytes zipped, {unzipped:,} unzipped, "
        f"{len(artifact.manifest)} files\n  bytecode  {bytecode}"
    )
