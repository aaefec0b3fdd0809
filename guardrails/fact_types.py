"""The facts validators judge: parsed files, changed leaves, and what the changes mean
(resource, replica and model changes) for which workloads. Built by ``guardrails.facts``."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from domain.findings import Finding
from gitops.workloads import ObjectRef, WorkloadSite


@dataclass
class FileFacts:
    path: str
    before: list[Any] | None = None
    after: list[Any] | None = None
    path_error: str | None = None
    unsafe: str | None = None
    parse_error: str | None = None


@dataclass(frozen=True)
class Leaf:
    """One changed field: file, document, ``Kind/name`` selector, field path."""

    file: str
    doc: int
    selector: str | None
    path: str


@dataclass
class ResourceChange:
    workload: str
    container: str
    group: str  # requests | limits
    resource: str  # cpu (cores) | memory (bytes)
    before: Decimal | None
    after: Decimal | None
    effective: dict[str, dict[str, Decimal]]  # requests/limits after the change, canonical units
    finding: Finding | None


@dataclass
class ReplicaChange:
    workload: str
    field: str  # replicas | minReplicas | maxReplicas | replicas_off_hours
    before: int | None
    after: int | None
    leaf: Leaf


@dataclass
class ModelChange:
    feature: str
    before: str | None
    after: str | None
    finding: Finding | None


@dataclass
class WorkloadFacts:
    """A touched workload as the repository model deploys it, and what the policy says of it."""

    key: str
    namespace: str | None
    kind: str
    name: str
    labels: dict[str, str] = field(default_factory=dict)
    site: WorkloadSite | None = None
    hpas: list[ObjectRef] = field(default_factory=list)
    pdbs: list[ObjectRef] = field(default_factory=list)
    environment: str = "unknown"
    is_prod: bool = False
    protected: bool = False


@dataclass
class ChangeFacts:
    files: list[FileFacts]
    leaves: list[Leaf] = field(default_factory=list)
    resources: list[ResourceChange] = field(default_factory=list)
    replicas: list[ReplicaChange] = field(default_factory=list)
    models: list[ModelChange] = field(default_factory=list)
    workloads: dict[str, WorkloadFacts] = field(default_factory=dict)

    @property
    def parsed(self) -> bool:
        return all(f.after is not None and f.before is not None for f in self.files)
