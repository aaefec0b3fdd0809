"""Helpers for guardrail tests: a small GitOps repo (kustomize base + dev/prod overlays, HPA, PDB, opted-out workload,
kube-system manifest, Helm chart, AI routing) and builders for findings and planned changes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from domain.changes import FileChange, PlannedChange
from domain.findings import Finding, FindingKind
from gitops.diff import unified_diff
from guardrails import ValidationContext, load_policy

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)  # a Monday
MI = 2**20
GI = 2**30


def _deployment(name: str, cpu: str, mem: str, replicas: int = 1, extra_labels: str = "") -> str:
    return f"""# {name} — owned by team shop
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
  labels:
    app: {name}{extra_labels}
spec:
  replicas: {replicas}
  selector:
    matchLabels:
      app: {name}
  template:
    metadata:
      labels:
        app: {name}
    spec:
      containers:
        - name: {name}
          image: "registry.example/{name}:1.0.0"
          env:
            - name: LOG_LEVEL
              value: info
          resources:
            requests:
              cpu: {cpu}   # p95 reviewed
              memory: {mem}
            limits:
              cpu: "1"
              memory: {mem}
---
apiVersion: v1
kind: Service
metadata:
  name: {name}
spec:
  selector:
    app: {name}
  ports:
    - port: 8080
"""


REPO_FILES: dict[str, str] = {
    "base/kustomization.yaml": "resources:\n  - api.yaml\n  - web.yaml\n  - legacy.yaml\n  - batch.yaml\n",
    "base/api.yaml": _deployment("api", "500m", "1Gi"),
    "base/web.yaml": _deployment("web", '"1"', "2Gi"),
    "base/legacy.yaml": _deployment(
        "legacy", "250m", "512Mi", extra_labels='\n    costpilot.io/opt-out: "true"'
    ),
    "base/batch.yaml": _deployment("batch", "250m", "512Mi"),
    "overlays/dev/kustomization.yaml": (
        "namespace: shop-dev\nlabels:\n  - pairs:\n      env: dev\nresources:\n  - ../../base\n  - hpa.yaml\n"
        "patches:\n  - path: patches/batch.yaml\n"
    ),
    "overlays/dev/patches/batch.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: batch\nspec:\n  replicas: 2\n",
    "overlays/dev/hpa.yaml": """apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: web
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: web
  minReplicas: 2
  maxReplicas: 4
""",
    "overlays/prod/kustomization.yaml": (
        "namespace: shop-prod\nlabels:\n  - pairs:\n      env: prod\nresources:\n  - ../../base\n  - hpa.yaml\n"
        "  - pdb.yaml\npatches:\n  - path: patches/api.yaml\n  - path: patches/batch.yaml\n"
    ),
    "overlays/prod/patches/api.yaml": """apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
spec:
  replicas: 4
  template:
    spec:
      containers:
        - name: api
          resources:  # sized for the holiday peak
            requests:
              cpu: "2"
              memory: 4Gi
            limits:
              cpu: "3"
              memory: 4Gi
""",
    "overlays/prod/patches/batch.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: batch\nspec:\n  replicas: 3\n",
    "overlays/prod/hpa.yaml": """apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: web
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: web
  minReplicas: 3
  maxReplicas: 10
""",
    "overlays/prod/pdb.yaml": """apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: api
spec:
  minAvailable: 2
  selector:
    matchLabels:
      app: api
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: batch
spec:
  minAvailable: 2
  selector:
    matchLabels:
      app: batch
""",
    "system/metrics.yaml": _deployment("metrics", "100m", "256Mi").replace(
        "  name: metrics\n  labels", "  name: metrics\n  namespace: kube-system\n  labels", 1
    ),
    "charts/gateway/Chart.yaml": "apiVersion: v2\nname: gateway\nversion: 0.1.0\n",
    "charts/gateway/values.yaml": (
        'replicaCount: 2\nresources:  # every environment\n  requests:\n    cpu: "1"\n    memory: 1Gi\n'
        "  limits:\n    memory: 2Gi\n"
    ),
    "charts/gateway/values-prod.yaml": "autoscaling:\n  enabled: true\n  minReplicas: 2\n",
    "ai/routing.yaml": """# allow-list and routing
models:
  gpt-4o: {tier: 3, context_window: 128000}
  gpt-4o-mini: {tier: 2, context_window: 128000}
  gpt-4.1-nano: {tier: 1, context_window: 1047576}
  gpt-4.1: {tier: 3, context_window: 1047576}
features:
  summary: {model: gpt-4o, min_tier: 2, min_context: 16000, team: search}
  long-docs: {model: gpt-4.1, min_tier: 2, min_context: 500000, team: search}
  fraud: {model: gpt-4o, min_tier: 3, min_context: 8000, team: payments}
  tagging: {model: gpt-4o-mini, min_tier: 1, min_context: 4000, team: growth}
""",
    ".costpilot/policy.yaml": "version: 1\nresources:\n  memory_headroom: 1.1\n",
}


def write_repo(root: Path, files: dict[str, str] | None = None) -> Path:
    for rel, text in (files or REPO_FILES).items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


GOOD_EVIDENCE = {"cpu_p95": "0.2", "memory_peak": 600 * MI, "days": 14, "samples": 4032, "coverage": 0.98}


def rightsize(
    namespace: str,
    workload: str,
    proposed: dict[str, Any],
    evidence: dict[str, Any] | None = None,
    now: str = "100",
    after: str = "60",
) -> Finding:
    return Finding(
        kind=FindingKind.rightsize,
        target={
            "cluster": "c1",
            "namespace": namespace,
            "kind": "Deployment",
            "workload": workload,
            "container": workload,
        },
        title=f"right-size {workload} in {namespace}",
        proposed=proposed,
        evidence=GOOD_EVIDENCE if evidence is None else evidence,
        monthly_cost_now=Decimal(now),
        monthly_cost_after=Decimal(after),
    )


def idle(
    namespace: str,
    workload: str,
    proposed: dict[str, Any] | None = None,
    evidence: dict[str, Any] | None = None,
) -> Finding:
    return Finding(
        kind=FindingKind.idle,
        target={"cluster": "c1", "namespace": namespace, "kind": "Deployment", "workload": workload},
        title=f"idle {workload} in {namespace}",
        proposed={"replicas": 0} if proposed is None else proposed,
        evidence={"days": 14, "samples": 4032} if evidence is None else evidence,
        monthly_cost_now=Decimal(50),
        monthly_cost_after=Decimal(0),
    )


def model_finding(feature: str, old: str, new: str, evidence: dict[str, Any] | None = None) -> Finding:
    return Finding(
        kind=FindingKind.cheaper_model,
        target={"feature": feature, "model": old},
        title=f"{feature}: {old} → {new}",
        proposed={"model": new},
        evidence={"days": 30, "prompt_tokens": 2_000_000, "completion_tokens": 300_000}
        if evidence is None
        else evidence,
        monthly_cost_now=Decimal(500),
        monthly_cost_after=Decimal(60),
    )


PLAYBOOK_FIELDS = {
    "rightsize-requests": [
        "spec.template.spec.containers[*].resources.requests.cpu",
        "spec.template.spec.containers[*].resources.requests.memory",
        "spec.template.spec.containers[*].resources.limits.memory",
        "resources.requests.cpu",
        "resources.requests.memory",
        "resources.limits.memory",
    ],
    "scale-idle-nonprod": [
        "spec.replicas",
        "HorizontalPodAutoscaler/*:spec.minReplicas",
        'metadata.annotations["downscaler/uptime"]',
        'metadata.annotations["downscaler/downtime-replicas"]',
    ],
    "cheaper-model": ["features.*.model"],
    "enforce-cost-tags": ["metadata.labels.*"],
}


def make_change(
    repo: Path,
    edits: dict[str, Callable[[str], str] | str],
    findings: list[Finding],
    playbook: str = "rightsize-requests",
    reason: str | None = None,
    now: Decimal | None = None,
    after: Decimal | None = None,
) -> PlannedChange:
    """A hand-made change: each file's after text from a function of its before text."""
    files = []
    for rel, edit in edits.items():
        path = repo / rel
        before = path.read_text() if path.is_file() and not path.is_symlink() else ""
        text = edit(before) if callable(edit) else edit
        files.append(FileChange(path=rel, before=before, after=text))
    return PlannedChange(
        playbook=playbook,
        target_slug="t",
        title="t",
        findings=findings,
        files=files,
        diff=unified_diff(files),
        allowed_fields=PLAYBOOK_FIELDS[playbook],
        monthly_cost_now=sum((f.monthly_cost_now for f in findings), Decimal(0)) if now is None else now,
        monthly_cost_after=sum((f.monthly_cost_after for f in findings), Decimal(0))
        if after is None
        else after,
        cost_increase_reason=reason,
    )


def context(repo: Path, **kw: Any) -> ValidationContext:
    return ValidationContext(
        policy=kw.pop("policy", None) or load_policy(repo), now=kw.pop("now", NOW), repo=repo, **kw
    )


def failed_rules(report: Any) -> set[str]:
    return {r.rule_id for r in report.failures}
