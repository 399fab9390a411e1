"""The target profiles: what differs per target, and nothing else deciding by target name."""

from __future__ import annotations

import re
from pathlib import Path

from mathvisuals.deploy.config import load_config
from mathvisuals.deploy.locks import FileLock, S3Lock
from mathvisuals.deploy.profile import AWS, LOCAL, PROFILES
from tests.deploy.fakes import FakeArtifacts

PACKAGE = Path("mathvisuals")
# A comparison with a target's name: the decision belongs in a profile.
TARGET_TEST = re.compile(r"""(==|!=)\s*["'](aws|local)["']|["'](aws|local)["']\s*(==|!=)""")


def test_the_registry_names_each_profile() -> None:
    assert PROFILES == {"aws": AWS, "local": LOCAL}


def test_the_lock_follows_the_profile(tmp_path: Path) -> None:
    config = load_config(Path("infra/environments/local.toml"))
    local = LOCAL.lock(config, FakeArtifacts(), tmp_path)
    assert isinstance(local, FileLock) and local.path == tmp_path / "locks" / "local.lock"
    remote = AWS.lock(config, FakeArtifacts(), tmp_path)
    assert isinstance(remote, S3Lock) and remote.bucket == config.api.artifact_bucket


def test_verify_labels_and_skipped_checks() -> None:
    assert (AWS.verify_label, AWS.skipped_checks, AWS.reads_alarms) == ("V1-V8", (), True)
    assert (LOCAL.verify_label, LOCAL.reads_alarms) == ("V1-V6", False)


def test_only_emulators_get_allowances() -> None:
    assert not AWS.vpc_config_optional
    assert not AWS.emulated and LOCAL.emulated and LOCAL.vpc_config_optional


def test_no_module_compares_a_target_name() -> None:
    found = [
        f"{path}:{number}"
        for path in sorted(PACKAGE.rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if TARGET_TEST.search(line)
    ]
    assert not found
