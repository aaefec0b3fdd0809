"""The schema of a playbook file (``playbooks/*.yaml``); unknown keys are errors everywhere."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from domain.findings import FindingKind

TITLE_FIELDS = (
    "playbook",
    "namespace",
    "kind",
    "workload",
    "container",
    "feature",
    "model",
    "count",
    "workloads",
    "subject",
    "cluster",
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TargetSpec(_Strict):
    """How targets are found in the GitOps repo."""

    sources: list[Literal["manifests", "kustomize", "helm", "routing"]] = Field(min_length=1)
    helm_value_paths: list[str] = Field(
        default_factory=lambda: ["{container}.resources", "{workload}.resources", "resources"],
        description="where a chart's values hold a container's resources; {container}/{workload} filled in",
    )


class PullRequestSpec(_Strict):
    title: str = Field(min_length=1, description=f"template; fields: {', '.join(TITLE_FIELDS)}")
    increase_title: str = Field(
        "", description="template for a labelled reliability increase (cost goes up); default: title"
    )
    labels: list[str] = Field(default_factory=list)
    intro: str = Field("", description="first paragraph of the PR body")


class Approvers(_Strict):
    """Slack user ids (``U…``) or user groups (``group:NAME``) allowed to approve."""

    default: list[str] = Field(min_length=1)
    production: list[str] = Field(
        default_factory=list, description="approvers for production targets; default when empty"
    )
    four_eyes_in_production: bool = Field(
        True, description="the requester may not approve their own production change"
    )


class Playbook(_Strict):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    description: str
    detector: FindingKind = Field(description="the finding kind this playbook consumes")
    action: str = Field(description="registry name of the action that plans the edit")
    options: dict[str, Any] = Field(default_factory=dict, description="validated by the action's own schema")
    targets: TargetSpec
    fields: list[str] = Field(min_length=1, description="field patterns the playbook may change")
    guardrails: list[str] = Field(min_length=1, description="rule ids (the mandatory rules always run)")
    grouping: Literal["workload", "namespace", "feature"] = "workload"
    min_monthly_saving: Decimal | None = Field(
        None,
        ge=0,
        description="no PR below this saving (USD/month); None: the workspace default; 0: exempt",
    )
    pr: PullRequestSpec
    approvers: Approvers
    source: str = Field("", exclude=True, description="file the playbook was loaded from")
