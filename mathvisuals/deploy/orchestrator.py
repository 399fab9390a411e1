"""The seed's five steps as one idempotent sequence: ``up`` and its read-only twin ``plan``.

Order (deploy.md §5.10): check, preflight, artefact, secret, shared, allow-lists, data,
parameter versions and ConfigVersion, api, alarm subscriptions (§5.8), verify, report. Each
step reads first and mutates only on a difference; the environment lock is taken before the
first mutation, so a converged run makes no mutating call at all.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from mathvisuals.deploy import permissions
from mathvisuals.deploy.config import EnvironmentConfig, check_account
from mathvisuals.deploy.context import DeployContext, StepResult
from mathvisuals.deploy.errors import (
    CheckFailedError,
    DeploymentFailedError,
    PreflightBlockedError,
    WaitTimeoutError,
)
from mathvisuals.deploy.gateway import ParameterInfo, SecretValue
from mathvisuals.deploy.model import Flags, StackRole, StackSpec
from mathvisuals.deploy.parameters import (
    PINNED_KEYS,
    Live,
    config_version,
    pinned,
    served_function,
    served_qualifier,
    stack_parameters,
)
from mathvisuals.deploy.pending import refuse_unfinished_rotation
from mathvisuals.deploy.stacks import WAIT_LIMITS, Preview, StackDeployer
from mathvisuals.deploy.takeover import guards
from mathvisuals.deploy.takeover.phases import Phase
from mathvisuals.deploy.takeover.survey import Survey, survey
from mathvisuals.deploy.token import fingerprint, generate_token, token_problems

__all__ = ["BuiltArtifact", "Orchestrator", "PlanResult", "StepResult", "UpResult"]

ROLES: tuple[StackRole, ...] = ("shared", "data", "api")


class BuiltArtifact(Protocol):
    @property
    def path(self) -> Path: ...

    @property
    def sha256(self) -> str: ...

    @property
    def code_sha256(self) -> str: ...

    def key(self, prefix: str) -> str: ...


@dataclass
class UpResult:
    steps: list[StepResult] = field(default_factory=list)
    mutations: list[str] = field(default_factory=list)
    outputs: dict[str, str] = field(default_factory=dict)
    secret_fingerprint: str = ""
    config_version: str = ""

    @property
    def changed(self) -> bool:
        return bool(self.mutations)


@dataclass
class PlanResult:
    stacks: list[Preview] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    takeover: list[str] = field(default_factory=list)  # the phases and predicted actions
    refusals: list[str] = field(default_factory=list)


def load_templates(root: Path = Path("infra")) -> dict[StackRole, str]:
    return {role: (root / role / "template.yaml").read_text(encoding="utf-8") for role in ROLES}


class Orchestrator:
    """The steps of ``up`` and ``plan``; rotation and teardown reuse its public steps."""

    def __init__(
        self,
        context: DeployContext,
        *,
        templates: Mapping[StackRole, str],
        build_artifact: Callable[[], BuiltArtifact],
        flags: Flags | None = None,
        stack_policy: str | None = None,
    ) -> None:
        self.context = context
        self.config = context.config
        self.gateways = context.gateways
        self.flags = flags or Flags()
        self._templates = templates
        self._build_artifact = build_artifact
        self._stack_policy = stack_policy
        self._artifact_version = ""
        self.result = UpResult(steps=context.steps, mutations=context.mutations)
        self.code_sha256: str | None = None
        self.survey: Survey | None = None
        self._phase: dict[StackRole, Phase | None] = {}
        self.deployer = StackDeployer(
            self.gateways.cloudformation,
            context.reporter,
            flags=self.flags,
            poll_seconds=context.profile.stack_poll_seconds,
            sleep=context.sleep,
        )

    # The steps -----------------------------------------------------------------------------

    def up(self) -> UpResult:
        with self.context.locked():
            self.preflight()
            found = self.take_survey(for_up=True)
            if found.taking_over and self.flags.backup:
                guards.snapshot(self.context, self.config.redis.replication_group_id)
            refuse_unfinished_rotation(self.config, self.gateways)  # rotate-token's to finish
            artifact = self.artifact()
            secret_version = self.secret()
            inputs: dict[StackRole, Live] = {
                "shared": Live(secret_version_id=secret_version),
                "data": Live(secret_version_id=secret_version),
            }
            self.deploy_stack("shared", inputs["shared"])
            origins = self.allow_lists()
            self.deploy_stack("data", inputs["data"])
            inputs["api"] = self.live_values(secret_version, artifact, origins)
            self.result.config_version = config_version(self.config, inputs["api"])
            self.deploy_stack("api", inputs["api"])
            for phase in found.later:
                # Exports the old stacks imported are dropped once nothing imports them.
                role: StackRole = phase.role  # type: ignore[assignment]
                self._phase[role] = phase
                self.deploy_stack(role, inputs[role])
            self.alarms()
        return self.result

    def take_survey(self, *, for_up: bool, config: EnvironmentConfig | None = None) -> Survey:
        """Read what is live and plan its takeover; ``up`` refuses here, before any mutation.

        ``config`` plans with other settings (``adopt`` tries the live function's name)."""
        config = config or self.config
        secret = self.gateways.secrets.describe(config.redis.auth_secret_name)
        version = secret.current_version if secret and secret.current_version else None
        placeholder = Live() if version is None else Live(secret_version_id=version)
        parameters = {role: stack_parameters(config, role, placeholder) for role in ROLES}
        found = survey(
            config,
            self.context.raw.cloudformation,
            self._templates,
            parameters,
            derive_missing=not for_up,
        )
        self.survey = found
        self._phase = {role: found.first_phase(role) for role in ROLES}
        if for_up:
            guards.adoption_recorded(found)
            refusals = found.refusals(allow_replace=self.flags.allow_replace)
            if refusals:
                more = f" (and {len(refusals) - 1} more)" if len(refusals) > 1 else ""
                raise PreflightBlockedError(refusals[0] + more).with_hint(
                    f"mathvisuals plan --env {self.config.name} lists every one; nothing was "
                    "changed"
                )
            guards.live_token_matches(self.context, found)
        return found

    def preflight(self) -> None:
        self.context.reporter.step("preflight", "identity, permissions, ownership")
        account = self.gateways.identity.account_id()
        check_account(self.config, account)
        if self.context.profile.simulates_permissions:
            self._simulate_permissions()
        self._probe_ownership()
        guards.one_production(self.context, new_environment=self.flags.new_environment)
        self.context.record("preflight", "ok", f"account {account}")

    def _simulate_permissions(self) -> None:
        """Every action of the permission table, on a resource of the scope the bootstrap policy
        gives it, with the context keys the real call carries (C6, B48)."""
        missing: list[str] = []
        for grant in permissions.grants(self.config):
            resource, context = grant.simulation()
            found = self.gateways.identity.missing_permissions(grant.actions, resource, context)
            if found is None:
                self.context.reporter.warn("permission simulation not allowed; continuing")
                return
            missing += found
        if missing:
            more = f" (and {len(missing) - 12} more)" if len(missing) > 12 else ""
            raise PreflightBlockedError(
                "the deploying principal lacks: " + ", ".join(missing[:12]) + more
            ).with_hint(
                f"mathvisuals bootstrap --env {self.config.name} creates a role that has them"
            )

    def _probe_ownership(self) -> None:
        """Every name we are about to create is ours or absent (B1, B28); exit 6 otherwise."""
        config = self.config
        problems: list[str] = []
        secret = self.gateways.secrets.describe(config.redis.auth_secret_name)
        if secret is not None and secret.owning_stack:
            problems.append(f"secret {secret.name} belongs to stack {secret.owning_stack}")
        data_owned = [config.ssm_name(k) for k in ("endpoint", "port", "reader-endpoint")]
        ours = [config.ssm_name("examples-origins"), config.ssm_name("svg-origins")]
        found = self.gateways.parameters.get([*data_owned, *ours], owners=True)
        for name, info in found.items():
            owner = info.owning_stack
            if name in data_owned and owner != config.stacks.data:
                problems.append(f"parameter {name} belongs to {owner or 'no stack'}")
            if name in ours and owner:
                problems.append(f"parameter {name} belongs to stack {owner}")
        group = self.gateways.cache.replication_group(config.redis.replication_group_id)
        # The ownership tag is authoritative in AWS; emulators omit it, so a group that the data
        # stack lists among its resources is ours too.
        if (
            group is not None
            and group.owning_stack != config.stacks.data
            and group.group_id not in self.gateways.cloudformation.physical_ids(config.stacks.data)
        ):
            problems.append(
                f"replication group {group.group_id} belongs to {group.owning_stack or 'no stack'}"
            )
        if problems:
            raise PreflightBlockedError("; ".join(problems)).with_hint(
                "import the resource into its owning stack or rename it in the config"
            )

    def artifact(self) -> BuiltArtifact:
        api = self.config.api
        self.context.reporter.step("artefact", "build")
        built = self._build_artifact()
        self.code_sha256 = built.code_sha256
        key = built.key(api.artifact_prefix)
        region = self.gateways.artifacts.bucket_region(api.artifact_bucket)
        if region is None:
            self.gateways.artifacts.create_bucket(
                api.artifact_bucket, self.config.env.region, self.config.tags
            )
        elif region != self.config.env.region:
            raise PreflightBlockedError(
                f"artefact bucket {api.artifact_bucket} is in {region}, the stacks in "
                f"{self.config.env.region}"
            ).with_hint("Lambda reads code only from its own region (PermanentRedirect)")
        version = self.gateways.artifacts.head(api.artifact_bucket, key)
        if version is None:
            self.gateways.artifacts.upload(api.artifact_bucket, key, built.path.read_bytes())
            version = self.gateways.artifacts.head(api.artifact_bucket, key)
            if version is None:
                raise PreflightBlockedError(
                    f"s3://{api.artifact_bucket}/{key} missing after upload"
                )
            self.context.record("artefact", "uploaded", key)
        else:
            self.context.record("artefact", "unchanged", key)
        self._artifact_version = version
        return built

    def secret(self) -> str:
        name = self.config.redis.auth_secret_name
        self.context.reporter.step("secret", name)
        info = self.gateways.secrets.describe(name)
        if info is None or info.deleted or info.current_version is None:
            token = self.new_token()
            version = self.gateways.secrets.create(name, token, self.config.tags)
            self.result.secret_fingerprint = fingerprint(token.reveal())
            self.context.record("secret", "created", f"version {version}")
            return version
        value = self.gateways.secrets.value(name)
        problems = token_problems(value.reveal())
        if problems:
            raise CheckFailedError(
                f"the token in {name} breaks the ElastiCache rules: {'; '.join(problems)}"
            ).with_hint("run mathvisuals rotate-token to replace it")
        self.result.secret_fingerprint = fingerprint(value.reveal())
        self.context.record("secret", "unchanged", f"version {info.current_version}")
        return info.current_version

    def new_token(self) -> SecretValue:
        """A generated token, or the one in the token file (read exactly as written)."""
        token_file = self.context.token_file
        if token_file is None:
            return SecretValue(generate_token(self.config.redis.token_length))
        # Read exactly as written: a stray newline would become part of the AUTH token (C14),
        # so it is refused here just as `check` refuses it (MV150).
        try:
            token = token_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
            raise CheckFailedError(f"{token_file}: cannot read the token file: {reason}").with_hint(
                "MATHVISUALS_TOKEN_FILE must name a readable file holding only the token"
            ) from exc
        problems = token_problems(token)
        if problems:
            raise CheckFailedError(f"{token_file}: {'; '.join(problems)}")
        return SecretValue(token)

    def desired_origins(self) -> tuple[str, ...]:
        origins = list(self.config.cors.allowed_origins)
        static = self.gateways.static_site
        stack = self.config.stacks.static_site
        if self.config.cors.include_static_site_domain and static is not None and stack:
            state = static.describe(stack)
            domain = state.outputs.get("CloudFrontDistributionDomainName")
            if domain:
                origins.append(f"https://{domain}")
            else:
                self.context.reporter.warn(
                    "allow-list is provisional: the static site has no domain yet"
                )
        return tuple(dict.fromkeys(origins))

    def allow_lists(self) -> tuple[str, ...]:
        self.context.reporter.step("allow-lists")
        origins = self.desired_origins()
        value = ",".join(origins)
        names = [self.config.ssm_name("examples-origins"), self.config.ssm_name("svg-origins")]
        current = self.gateways.parameters.get(names)
        written = 0
        for name in names:
            found = current.get(name)
            if found is None or found.value != value:
                self.gateways.parameters.put(
                    name, value, kind="StringList", tags=self.config.tags, overwrite=True
                )
                written += 1
        self.context.record(
            "allow-lists", "updated" if written else "unchanged", f"{len(origins)} origins"
        )
        return origins

    def pinned_parameters(self) -> dict[str, ParameterInfo]:
        """The four parameters whose versions the api stack pins, by key; absent ones left out."""
        names = {self.config.ssm_name(key): key for key in PINNED_KEYS}
        found = self.gateways.parameters.get(list(names))
        return {names[name]: info for name, info in found.items()}

    def live_values(
        self, secret_version: str, artifact: BuiltArtifact, origins: tuple[str, ...]
    ) -> Live:
        found = self.pinned_parameters()
        for key in PINNED_KEYS:
            parameter = found.get(key)
            if parameter is None or parameter.value in ("", "placeholder"):
                raise PreflightBlockedError(
                    f"{self.config.ssm_name(key)} is missing or a placeholder; the api stack "
                    "needs it"
                ).with_hint("the data stack writes it; check that stack's outputs")
        return pinned(
            secret_version,
            {key: info.version for key, info in found.items()},
            artifact_key=artifact.key(self.config.api.artifact_prefix),
            artifact_version=self._artifact_version,
            allowed_origins=origins,
            redis_ca_file=self.context.profile.redis_ca_file(self.config),
        )

    def live_values_for_rotation(self, secret_version: str, api: Mapping[str, str]) -> Live:
        """The api inputs with a new secret version; artefact and origins as deployed."""
        found = self.pinned_parameters()
        return pinned(
            secret_version,
            {key: found[key].version if key in found else 0 for key in PINNED_KEYS},
            artifact_key=api.get("ArtifactKey", ""),
            artifact_version=api.get("ArtifactObjectVersion", ""),
            allowed_origins=tuple(o for o in api.get("AllowedOrigins", "").split(",") if o),
            redis_ca_file=self.context.profile.redis_ca_file(self.config),
        )

    def spec(self, role: StackRole, live: Live) -> StackSpec:
        data = role == "data"
        body = self._templates[role]
        in_place: frozenset[str] = frozenset()
        if self.survey is not None:
            body = self.survey.template_body(role, body, self._phase.get(role))
            in_place = self.survey.in_place(role, self._phase.get(role))
        return StackSpec(
            role=role,
            name=getattr(self.config.stacks, role),
            template_body=body,
            parameters=stack_parameters(self.config, role, live),
            tags=self.config.tags,
            capabilities=("CAPABILITY_IAM",) if role == "api" else (),
            stack_policy=self._stack_policy if data else None,
            termination_protection=data and self.config.protection.termination_protection,
            in_place=in_place,
        )

    def deploy_stack(self, role: StackRole, live: Live) -> None:
        """Bring one stack to ``spec(role, live)`` and record its outputs and outcome."""
        spec = self.spec(role, live)
        self.context.reporter.step(role, spec.name)
        outcome = self.deployer.deploy(spec, WAIT_LIMITS[role])
        if role == "api" and outcome != "unchanged":
            self.wait_function_ready()
        state = self.gateways.cloudformation.describe(spec.name)
        self.result.outputs.update({f"{role}.{k}": v for k, v in state.outputs.items()})
        self.context.record(role, outcome, spec.name)

    def alarms(self) -> None:
        """Subscribe the configured e-mails to the api stack's alarm topic (§5.8); an address
        already listed, confirmed or pending, is left alone (no second confirmation mail)."""
        monitoring = self.gateways.monitoring
        if monitoring is None:
            return
        wanted = self.config.alarms.email_subscriptions
        self.context.reporter.step("alarms", self.config.alarm_topic_name)
        if not wanted:
            self.context.record("alarms", "unchanged", "no e-mail subscriptions configured")
            return
        topic = self.result.outputs.get("api.AlarmTopicArn")
        if not topic:
            raise DeploymentFailedError(f"{self.config.stacks.api} has no output AlarmTopicArn")
        present = {
            s.endpoint.casefold() for s in monitoring.subscriptions(topic) if s.protocol == "email"
        }
        added = 0
        for address in wanted:
            if address.casefold() not in present:
                monitoring.subscribe_email(topic, address)
                present.add(address.casefold())
                added += 1
        if added:
            self.context.record("alarms", "subscribed", f"{added} e-mail(s), confirmation pending")
        else:
            self.context.record("alarms", "unchanged", f"{len(wanted)} e-mail subscription(s)")

    def wait_function_ready(self, limit: float = 300.0) -> None:
        """A stack update leaves the function Pending/InProgress for a while; verification and
        the next rotation step need it Active with the update applied. Under SnapStart the
        version behind the alias is what serves, and it is Pending until its snapshot exists."""
        deadline = time.monotonic() + limit
        name, qualifier = served_function(self.config), served_qualifier(self.config)
        while True:
            info = self.gateways.functions.configuration(self.config.api.function_name, qualifier)
            if info is None or (
                info.state == "Active" and info.last_update_status in ("Successful", "")
            ):
                return
            if info.last_update_status == "Failed":
                raise DeploymentFailedError(f"the update of function {name} failed")
            if time.monotonic() >= deadline:
                raise WaitTimeoutError(
                    f"function {name} still {info.state}/{info.last_update_status}"
                )
            self.context.sleep(self.context.profile.stack_poll_seconds)

    # Read-only preview ---------------------------------------------------------------------

    def plan(self, *, describe_changes: bool = True) -> PlanResult:
        """Preflight, the takeover plan and a preview of each stack; nothing is deployed."""
        from mathvisuals.deploy.preview import preview

        return preview(self, describe_changes=describe_changes)

    def planned_api_inputs(self, version: str | None) -> Live | None:
        config = self.config
        if version is None or len(self.pinned_parameters()) < len(PINNED_KEYS):
            return None
        built = self._build_artifact()
        self._artifact_version = (
            self.gateways.artifacts.head(
                config.api.artifact_bucket, built.key(config.api.artifact_prefix)
            )
            or ""
        )
        return self.live_values(version, built, self.desired_origins())
