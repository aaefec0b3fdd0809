"""Guardrail policy: safe defaults in code, overridden by ``.costpilot/policy.yaml`` in the GitOps repo.

The policy lives in the repository it protects, so a policy change goes through review like
any other change. The file is merged key by key over the defaults (maps merge, lists replace);
unknown keys are errors, and every value is checked at load — regexes compile, the Kubernetes
version has a bundled schema — so a bad policy is one line naming the file and the key path,
never a crash in the middle of a scan.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime, time
from decimal import Decimal
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from domain.environments import EnvironmentRules
from domain.errors import ConfigError, InputError
from gitops.repo_files import read_repo_file
from gitops.yaml_patch import load_documents
from guardrails import k8s_schema

POLICY_FILE = ".costpilot/policy.yaml"
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ResourcesPolicy(_Strict):
    cpu_headroom: Decimal = Field(
        Decimal("1.0"), ge=1, le=10, description="CPU request ≥ observed p95 × this"
    )
    memory_headroom: Decimal = Field(
        Decimal("1.0"), ge=1, le=10, description="memory request and limit ≥ observed peak working set × this"
    )
    max_decrease_pct: Decimal = Field(
        Decimal(50), gt=0, le=100, description="largest cut of one value per step, %"
    )
    max_increase_pct: Decimal = Field(
        Decimal(200), gt=0, description="largest raise of one value per step, %"
    )
    max_limit_request_ratio: Decimal = Field(Decimal(4), ge=1, description="limit / request at most")


class ReplicasPolicy(_Strict):
    prod_min_replicas: int = Field(
        2, ge=1, description="production workloads keep at least this many replicas"
    )


class NamespacesPolicy(EnvironmentRules):
    """Which namespaces are production, which environments others belong to (see
    ``domain.environments``), and which namespaces are never scaled to zero."""

    protected: list[str] = Field(
        default_factory=lambda: [
            "kube-system",
            "kube-public",
            "kube-node-lease",
            "istio-system",
            "cert-manager",
            "monitoring",
        ],
        description="namespace patterns never scaled to zero",
    )


class EvidencePolicy(_Strict):
    min_days: Decimal = Field(Decimal(7), ge=0, description="days of history behind a finding")
    min_samples: int = Field(100, ge=0, description="utilization samples behind a right-sizing finding")
    min_coverage: Decimal = Field(Decimal("0.8"), ge=0, le=1, description="share of expected samples present")


class BlastRadiusPolicy(_Strict):
    max_workloads_per_pr: int = Field(5, ge=1)
    max_files_per_pr: int = Field(5, ge=1)


class ModelsPolicy(_Strict):
    tiers: list[str] = Field(
        default_factory=lambda: ["basic", "standard", "advanced", "frontier"],
        description="quality tiers, lowest first; integers in the routing config also work",
    )


class CostPolicy(_Strict):
    allow_increase_with_reason: bool = True
    min_monthly_saving: dict[str, Annotated[Decimal, Field(ge=0, le=1_000_000)]] = Field(
        default_factory=dict,
        description="playbook → the smallest monthly saving worth a PR (USD/month); over the playbook's own",
    )


class SecretsPolicy(_Strict):
    min_entropy_length: int = Field(20, ge=8, description="shortest token checked for entropy, characters")
    entropy_bits_per_char: float = Field(
        4.0, ge=2.5, le=6.0, description="Shannon entropy that flags a token"
    )
    allow_patterns: list[str] = Field(
        default_factory=list, description="regexes of values that are not secrets"
    )

    @field_validator("allow_patterns")
    @classmethod
    def _regexes(cls, value: list[str]) -> list[str]:
        # Compiled here so a bad pattern is a load error naming the key, never a crash mid-scan.
        for i, pattern in enumerate(value):
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"item {i} {pattern!r} is not a regular expression: {exc}") from None
        return value


class FreezeWindow(_Strict):
    start: datetime
    end: datetime
    reason: str = "change freeze"

    @field_validator("start", "end")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        return value if value.tzinfo else value.replace(tzinfo=UTC)


class WeeklyFreeze(_Strict):
    days: list[Weekday]
    start: time = time(0, 0)
    end: time = time(23, 59, 59)
    reason: str = "weekly change freeze"


class FreezePolicy(_Strict):
    windows: list[FreezeWindow] = Field(default_factory=list)
    weekly: list[WeeklyFreeze] = Field(default_factory=list)


_PACKAGE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")


class RegoPolicySettings(_Strict):
    """How the repository's own Rego policies (``.costpilot/policies/*.rego``) count."""

    warn_only: list[str] = Field(
        default_factory=list,
        description="Rego packages (e.g. kubernetes.admission) whose deny/violation only warn",
    )

    @field_validator("warn_only")
    @classmethod
    def _packages(cls, value: list[str]) -> list[str]:
        for i, name in enumerate(value):
            if not _PACKAGE.match(name):
                raise ValueError(f"item {i} {name!r} is not a Rego package name (e.g. kubernetes.admission)")
        return value


class Policy(_Strict):
    """Every guardrail knob; the defaults are the safe ones."""

    version: Literal[1] = 1
    cooldown_hours: Decimal = Field(
        Decimal(72), ge=0, description="hours between two changes of one workload"
    )
    opt_out_label: str = "costpilot.io/opt-out"
    kubernetes_version: str = Field(
        "1.37",
        pattern=r"^\d+\.\d+$",
        description="Kubernetes minor release whose schema the patches are checked against",
    )
    resources: ResourcesPolicy = Field(default_factory=ResourcesPolicy)
    replicas: ReplicasPolicy = Field(default_factory=ReplicasPolicy)
    namespaces: NamespacesPolicy = Field(default_factory=NamespacesPolicy)
    evidence: EvidencePolicy = Field(default_factory=EvidencePolicy)
    blast_radius: BlastRadiusPolicy = Field(default_factory=BlastRadiusPolicy)
    models: ModelsPolicy = Field(default_factory=ModelsPolicy)
    cost: CostPolicy = Field(default_factory=CostPolicy)
    secrets: SecretsPolicy = Field(default_factory=SecretsPolicy)
    freeze: FreezePolicy = Field(default_factory=FreezePolicy)
    rego: RegoPolicySettings = Field(default_factory=RegoPolicySettings)
    source: str = Field("defaults", description="where this policy came from")

    @field_validator("kubernetes_version")
    @classmethod
    def _has_schema(cls, value: str) -> str:
        # Without a bundled schema the k8s-schema rule could check nothing: refuse at load.
        if k8s_schema.schema_dir(value) is None:
            known = k8s_schema.schema_versions()
            have = f"{known[0]}–{known[-1]}" if known else "none installed"
            raise ValueError(f"{value!r} has no bundled Kubernetes schema (available: {have})")
        return value

    def environment_of(
        self, namespace: str | None, cluster: str | None = None, labels: Mapping[str, object] | None = None
    ) -> str:
        """``production``, a named environment or ``unknown`` (see ``domain.environments``)."""
        return self.namespaces.environment_of(namespace, cluster, labels)

    def is_production(
        self, namespace: str | None, cluster: str | None = None, labels: Mapping[str, object] | None = None
    ) -> bool:
        return self.namespaces.is_production(namespace, cluster, labels)

    def is_protected(self, namespace: str | None) -> bool:
        return any(fnmatchcase(namespace or "", p) for p in self.namespaces.protected)


def load_policy(repo: Path) -> Policy:
    """The repo's ``.costpilot/policy.yaml`` merged over the defaults (defaults alone if absent)."""
    file = repo / POLICY_FILE
    if not file.is_file() and not file.is_symlink():
        return Policy()
    try:
        # The repository's own guards: a symlink out of the repository, a FIFO or a huge file
        # is refused, never read.
        docs = load_documents(read_repo_file(repo, POLICY_FILE), POLICY_FILE)
    except InputError as exc:
        raise ConfigError(str(exc)) from exc
    data = docs[0] if docs else None
    if data is None:
        return Policy(source=POLICY_FILE)
    if not isinstance(data, dict) or len(docs) > 1:
        raise ConfigError(f"{POLICY_FILE}: must be one YAML mapping")
    if "source" in data:
        raise ConfigError(f"{POLICY_FILE}: source: not a policy key")
    return policy_from_dict(data, POLICY_FILE)


def policy_from_dict(data: dict[str, Any], source: str = "<policy>") -> Policy:
    """Validate ``data`` merged over the defaults; errors name ``source`` and the key path."""
    merged = _deep_merge(Policy().model_dump(mode="python", exclude={"source"}), data)
    try:
        return Policy.model_validate({**merged, "source": source})
    except ValidationError as exc:
        first = sorted(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")[0]
        key = ".".join(str(p) for p in first["loc"]) or "<root>"
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        msg = str(first["msg"]).removeprefix("Value error, ")
        raise ConfigError(f"{source}: {key}: {' '.join(msg.split())}{more}") from exc


def _deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            out[key] = _deep_merge(base[key], value)
        else:
            out[key] = value
    return out
