"""Remediation settings: ``remediation.toml``, approver rules and who may decide.

Approvers come from the workspace (``[approvers]`` in ``remediation.toml``) first, then from the
playbook's own block; in production, four-eyes keeps a requester from approving their own change.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from domain.changes import PlannedChange
from domain.errors import ConfigError, InputError
from playbooks.models import Approvers
from store.proposals import Proposal

REMEDIATION_FILE = "remediation.toml"
BOT = "costpilot"


# One approvers model: the playbooks' own block, also used for workspace overrides.
ApproverSpec = Approvers


class ApproverRules(BaseModel):
    """Workspace approvers: ``playbooks[NAME]`` (or ``*``) overrides the playbook's own block;
    ``groups`` gives the members of ``group:NAME``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    groups: dict[str, list[str]] = Field(default_factory=dict)
    playbooks: dict[str, ApproverSpec] = Field(default_factory=dict)


class ProposalLimits(BaseModel):
    """``[proposals]`` in ``remediation.toml``: what is worth a reviewer's time (Renovate's
    ``prConcurrentLimit`` / ``prHourlyLimit`` and grouping, applied to proposals)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    min_monthly_saving: Decimal = Field(
        Decimal(20), ge=0, description="no proposal saves less than this, USD/month (per PR)"
    )
    min_saving_by_playbook: dict[str, Decimal] = Field(
        default_factory=dict,
        description="per-playbook floor, USD/month; overrides the playbook's own and the default",
    )
    max_open_prs: int = Field(
        10, ge=1, le=1000, description="at most this many proposals awaiting approval or with a PR open"
    )
    max_new_per_scan: int = Field(5, ge=1, le=1000, description="at most this many new proposals per scan")
    material_change_pct: Decimal = Field(
        Decimal(25),
        ge=0,
        le=1000,
        description="a change closed unmerged is proposed again only when its saving moved this much, %",
    )


class RemediationConfig(BaseModel):
    """``<workspace>/remediation.toml``: TTL, lease, approvers, production environments, labels."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    ttl_hours: int = Field(
        168, ge=1, le=24 * 90, description="a proposal awaiting approval expires after this"
    )
    claim_lease_seconds: int = Field(
        600, ge=5, le=86400, description="how long a PR-opening attempt holds its lease"
    )
    production_environments: list[str] = Field(default_factory=lambda: ["production", "prod"])
    labels: list[str] = Field(default_factory=lambda: ["costpilot"])
    approvers: ApproverRules = Field(default_factory=ApproverRules)
    proposals: ProposalLimits = Field(default_factory=ProposalLimits)
    gitops_checkout: Path | None = Field(
        None, description="working copy scans read (default: the local forge repo)"
    )


def load_remediation_config(home: Path) -> RemediationConfig:
    """Read ``<home>/remediation.toml`` (defaults when absent); errors name the file and key."""
    path = home / REMEDIATION_FILE
    if not path.is_file():
        return RemediationConfig()
    try:
        raw = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    try:
        return RemediationConfig.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"{path}: key {key!r}: {first['msg']}") from None


def explicit_environment(change: PlannedChange) -> str | None:
    """An ``env`` / ``environment`` the findings' targets name, if any."""
    for finding in change.findings:
        for key in ("env", "environment"):
            if finding.target.get(key):
                return finding.target[key]
    return None


def environment_of(change: PlannedChange) -> str:
    """The environment a change deploys to without the repository's policy at hand: the same
    classifier with the policy's safe defaults (``unknown`` is treated like production)."""
    from guardrails.policy import Policy

    policy = Policy()
    targets = [f.target for f in change.findings if f.target.get("namespace")]
    envs = {policy.environment_of(t["namespace"], t.get("cluster")) for t in targets}
    if "production" in envs:
        return "production"
    explicit = explicit_environment(change)
    if explicit:
        return explicit
    return envs.pop() if len(envs) == 1 else "unknown"


class ApprovalRefused(InputError):
    """The user may not take this decision; told to them only, and audited."""


@dataclass(frozen=True)
class Authorizer:
    """Approver lists (workspace first, then the playbook's own block) and four-eyes."""

    rules: ApproverRules
    production_environments: frozenset[str]
    playbook_approvers: Mapping[str, ApproverSpec] = field(default_factory=dict)

    def spec(self, playbook: str) -> ApproverSpec | None:
        return (
            self.rules.playbooks.get(playbook)
            or self.rules.playbooks.get("*")
            or self.playbook_approvers.get(playbook)
        )

    def is_production(self, environment: str) -> bool:
        # An environment costpilot could not tell is treated as production: the strict side.
        return environment in self.production_environments or environment == "unknown"

    def approvers(self, playbook: str, environment: str) -> set[str] | None:
        """User ids allowed to approve, groups expanded; None when nothing is configured."""
        spec = self.spec(playbook)
        if spec is None:
            return None
        principals = spec.production if self.is_production(environment) and spec.production else spec.default
        allowed: set[str] = set()
        for principal in principals:
            if principal.startswith("group:"):
                allowed.update(self.rules.groups.get(principal.removeprefix("group:"), []))
            else:
                allowed.add(principal)
        return allowed

    def refusal(self, proposal: Proposal, user: str, *, approving: bool = True) -> str | None:
        """Why ``user`` may not decide on ``proposal``, or None when they may. Four-eyes guards
        approvals only: a requester may still reject (withdraw) their own change."""
        allowed = self.approvers(proposal.playbook, proposal.environment)
        if allowed is None:
            return f"no approvers configured for {proposal.playbook}"
        if user not in allowed:
            return f"not an approver of {proposal.playbook} in {proposal.environment}"
        spec = self.spec(proposal.playbook)
        four_eyes = (
            spec is not None and spec.four_eyes_in_production and self.is_production(proposal.environment)
        )
        if approving and four_eyes and user == proposal.requested_by:
            return "in production the requester may not approve their own change"
        return None
