"""What the GitOps repository declares about workloads, as facts other layers may consume.

``gitops.repo.GitOpsRepo.manifest_facts()`` produces these from the one repository model
(kustomize overlays with legacy ``bases:``, plain manifests, Helm values); right-sizing and
the other tools receive them and never read the repository themselves.

Units: CPU in cores (exact ``Decimal``), memory in bytes (``int``); ``None`` means "not set".
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

# Kinds whose pod template costpilot reads (Rollout: Argo Rollouts, shaped like a Deployment).
WORKLOAD_KINDS: frozenset[str] = frozenset(
    {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "Rollout"}
)
# Kinds whose ``spec.replicas`` is a replica count.
REPLICATED_KINDS: frozenset[str] = frozenset({"Deployment", "StatefulSet", "ReplicaSet", "Rollout"})

ContainerType = Literal["regular", "sidecar", "init"]
Resource = Literal["cpu", "memory"]
WorkloadRef = tuple[str, str, str]  # namespace, kind, workload
ContainerRef = tuple[str, str, str, str]  # namespace, kind, workload, container

# RFC 1123 subdomain (object names, namespaces) and label (container names), as the API server
# checks them. A name outside these would never be admitted by Kubernetes, and costpilot uses
# names inside field paths, file names and diff headers, so such objects are skipped.
_SUBDOMAIN = re.compile(r"[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*")
_LABEL = re.compile(r"[a-z0-9](?:[-a-z0-9]*[a-z0-9])?")


def is_object_name(value: object) -> bool:
    """True for a valid Kubernetes object name or namespace (RFC 1123 subdomain, ≤ 253 chars)."""
    return isinstance(value, str) and len(value) <= 253 and _SUBDOMAIN.fullmatch(value) is not None


def is_container_name(value: object) -> bool:
    """True for a valid container name (RFC 1123 label, ≤ 63 chars)."""
    return isinstance(value, str) and len(value) <= 63 and _LABEL.fullmatch(value) is not None


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ManifestContainer(_Frozen):
    """One container of one workload as deployed in one namespace (overlay patches and Helm
    values applied)."""

    namespace: str
    kind: str
    workload: str
    container: str
    container_type: ContainerType = Field(
        "regular", description="regular | sidecar (init container with restartPolicy Always) | init"
    )
    cpu_request: Decimal | None = Field(None, description="cores")
    cpu_limit: Decimal | None = Field(None, description="cores")
    memory_request: int | None = Field(None, description="bytes")
    memory_limit: int | None = Field(None, description="bytes")
    file: str = Field("", description="repository file that sets the container's resources")

    @property
    def ref(self) -> ContainerRef:
        return (self.namespace, self.kind, self.workload, self.container)


class ManifestAutoscaler(_Frozen):
    """A HorizontalPodAutoscaler (a manifest, or a chart's ``autoscaling.enabled``) acting on a
    workload in one namespace."""

    namespace: str
    kind: str = Field(description="kind of the scaled workload")
    workload: str
    name: str = Field(description="the HPA's own name")
    resources: frozenset[Resource] = Field(
        default_factory=frozenset, description="cpu / memory metrics the HPA scales on"
    )
    min_replicas: int | None = None
    max_replicas: int | None = None
    file: str = ""

    @property
    def ref(self) -> WorkloadRef:
        return (self.namespace, self.kind, self.workload)


class ManifestFacts(_Frozen):
    """Every workload container and autoscaler the repository declares, and what was skipped."""

    containers: tuple[ManifestContainer, ...] = ()
    autoscalers: tuple[ManifestAutoscaler, ...] = ()
    notes: tuple[str, ...] = Field((), description="files and objects skipped, with the reason")
    files_read: int = 0

    def hpa_resources(self) -> dict[WorkloadRef, frozenset[str]]:
        """(namespace, kind, workload) → resources its autoscalers scale on."""
        out: dict[WorkloadRef, frozenset[str]] = {}
        for a in self.autoscalers:
            out[a.ref] = out.get(a.ref, frozenset()) | a.resources
        return out

    def container_map(self) -> dict[ContainerRef, ManifestContainer]:
        return {c.ref: c for c in self.containers}
