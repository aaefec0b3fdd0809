"""What right-sizing learns from the GitOps repository model (``GitOpsRepo.manifest_facts``):
kustomize namespaces and patches, legacy ``bases:``, Helm chart values, HPA targets, native
sidecars — and that it is the same workload the planner finds."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from rightsizing_helpers import run_preset
from utilization_factory import MI, frame, series

from domain.manifests import ManifestFacts
from gitops.facts import quantity
from gitops.helm import helm_merge
from gitops.repo import GitOpsRepo
from tools.rightsizing.service import manifest_inputs


def read_manifests(root: Path) -> ManifestFacts:
    return GitOpsRepo.load(root).manifest_facts()


BASE = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: api}
spec:
  template:
    spec:
      initContainers:
        - name: migrate
          resources: {requests: {cpu: 100m, memory: 64Mi}}
        - name: proxy
          restartPolicy: Always
          resources: {requests: {cpu: 50m, memory: 32Mi}}
      containers:
        - name: app
          resources:
            requests: {cpu: 500m, memory: 1Gi}
            limits: {cpu: "1", memory: 2Gi}
"""
PATCH = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: api}
spec:
  template:
    spec:
      containers:
        - name: app
          resources: {requests: {cpu: "2"}}
"""
HPA_V1 = """\
apiVersion: autoscaling/v1
kind: HorizontalPodAutoscaler
metadata: {name: api}
spec:
  scaleTargetRef: {kind: Deployment, name: api}
  maxReplicas: 4
  targetCPUUtilizationPercentage: 60
"""


def _tree(root: Path) -> Path:
    (root / "base").mkdir(parents=True)
    (root / "base" / "api.yaml").write_text(BASE)
    (root / "base" / "kustomization.yaml").write_text("resources: [api.yaml]\n")
    for env in ("dev", "prod"):
        folder = root / "overlays" / env
        (folder / "patches").mkdir(parents=True)
        extra = ""
        if env == "prod":
            (folder / "patches" / "api.yaml").write_text(PATCH)
            (folder / "hpa.yaml").write_text(HPA_V1)
            extra = "  - hpa.yaml\npatches:\n  - path: patches/api.yaml\n"
        (folder / "kustomization.yaml").write_text(
            f"namespace: shop-{env}\nresources:\n  - ../../base\n{extra}"
        )
    (root / "plain.yaml").write_text(BASE.replace("name: api}", "name: loose, namespace: tools}"))
    (root / "chart").mkdir()
    (root / "chart" / "template.yaml").write_text("{{ .Values.broken: [\n")
    return root


def test_kustomize_overlays_patches_and_hpas(tmp_path: Path) -> None:
    index = read_manifests(_tree(tmp_path))
    by_key = {(c.namespace, c.workload, c.container): c for c in index.containers}
    dev, prod = by_key[("shop-dev", "api", "app")], by_key[("shop-prod", "api", "app")]
    assert (dev.cpu_request, dev.memory_request, dev.memory_limit) == (Decimal("0.500"), 2**30, 2**31)
    assert prod.cpu_request == Decimal(2) and prod.memory_request == 2**30  # patch merged by name
    assert by_key[("shop-prod", "api", "proxy")].container_type == "sidecar"
    assert by_key[("shop-prod", "api", "migrate")].container_type == "init"
    assert ("tools", "loose", "app") in by_key
    assert index.hpa_resources() == {("shop-prod", "Deployment", "api"): frozenset({"cpu"})}
    assert not any(c.namespace == "default" for c in index.containers)


def test_quantities() -> None:
    assert quantity("250m") == Decimal("0.250")
    assert quantity("1Gi") == 2**30
    assert quantity("1.5") == Decimal("1.5")
    assert quantity(2) == 2
    assert quantity("lots") is None and quantity(None) is None


# Helm charts ---------------------------------------------------------------------------------
CHART = "apiVersion: v2\nname: web\nversion: 1.0.0\n"
VALUES = """\
labels: {app.kubernetes.io/part-of: shop}
resources:
  requests: {cpu: 250m, memory: 256Mi}
  limits: {cpu: "1", memory: 512Mi}
autoscaling:
  enabled: false
  targetCPUUtilizationPercentage: 80
"""
VALUES_PROD = """\
resources:
  requests: {cpu: "2"}
autoscaling:
  enabled: true
  minReplicas: 3
  maxReplicas: 9
  targetMemoryUtilizationPercentage: 70
"""
VALUES_DEV = "resources:\n  limits: null\n"  # Helm: null deletes the inherited key
TEMPLATE = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web-from-template}\n"


def _chart(root: Path, folder: str, files: dict[str, str]) -> Path:
    chart = root / "charts" / folder
    (chart / "templates").mkdir(parents=True)
    (chart / "templates" / "deployment.yaml").write_text(TEMPLATE)  # parses, but is a template
    for name, text in files.items():
        (chart / name).write_text(text)
    return chart


def test_helm_values_merge_per_env_into_resources_and_hpas(tmp_path: Path) -> None:
    _chart(
        tmp_path,
        "web",
        {
            "Chart.yaml": CHART,
            "values.yaml": VALUES,
            "values-prod.yaml": VALUES_PROD,
            "values-dev.yaml": VALUES_DEV,
        },
    )
    # A kustomization labelled team=shop, env=staging names that env's namespace (not shop-staging).
    (tmp_path / "overlays" / "staging").mkdir(parents=True)
    (tmp_path / "overlays" / "staging" / "kustomization.yaml").write_text(
        "namespace: shop-stg\nlabels:\n  - pairs: {team: shop, env: staging}\nresources: []\n"
    )
    index = read_manifests(tmp_path)
    by_ns = {c.namespace: c for c in index.containers}
    assert sorted(by_ns) == ["shop-dev", "shop-prod", "shop-stg"]
    assert {(c.kind, c.workload, c.container, c.container_type) for c in index.containers} == {
        ("Deployment", "web", "web", "regular")
    }
    prod, dev, stg = by_ns["shop-prod"], by_ns["shop-dev"], by_ns["shop-stg"]
    # prod: values.yaml deep-merged with values-prod.yaml (cpu request overridden, the rest kept)
    assert (prod.cpu_request, prod.cpu_limit, prod.memory_request, prod.memory_limit) == (
        Decimal(2),
        Decimal(1),
        256 * 2**20,
        512 * 2**20,
    )
    assert prod.file == "charts/web/values-prod.yaml"
    assert (dev.cpu_request, dev.cpu_limit, dev.memory_limit) == (Decimal("0.250"), None, None)
    assert (stg.cpu_request, stg.memory_limit, stg.file) == (
        Decimal("0.250"),
        512 * 2**20,
        "charts/web/values.yaml",
    )
    # The HPA exists only where autoscaling is enabled; the CPU target is inherited from values.yaml.
    assert index.hpa_resources() == {("shop-prod", "Deployment", "web"): frozenset({"cpu", "memory"})}
    (hpa,) = index.autoscalers
    assert (hpa.min_replicas, hpa.max_replicas, hpa.file) == (3, 9, "charts/web/values-prod.yaml")
    assert not any(c.workload == "web-from-template" for c in index.containers)


def test_helm_namespace_override_default_metric_and_names(tmp_path: Path) -> None:
    _chart(
        tmp_path,
        "a",
        {
            "Chart.yaml": "name: gateway\n",
            "values.yaml": "fullnameOverride: edge\nkind: StatefulSet\n",
            "values.prod.yaml": "namespaceOverride: ingress\nautoscaling: {enabled: true}\n",
        },
    )
    _chart(tmp_path, "b", {"Chart.yaml": "name: orphan\n", "values.yaml": "resources: {}\n"})  # no namespace
    _chart(tmp_path, "c", {"values.yaml": "team: x\n"})  # no Chart.yaml: not a chart
    index = read_manifests(tmp_path)
    assert [(c.namespace, c.kind, c.workload, c.container) for c in index.containers] == [
        ("ingress", "StatefulSet", "edge", "gateway")
    ]
    # autoscaling.enabled without a target: Kubernetes' default metric is 80% CPU.
    assert index.hpa_resources() == {("ingress", "StatefulSet", "edge"): frozenset({"cpu"})}


def test_a_kustomized_workload_wins_over_a_chart_of_the_same_name(tmp_path: Path) -> None:
    _tree(tmp_path)
    _chart(
        tmp_path,
        "api",
        {
            "Chart.yaml": "name: api\n",
            "values.yaml": "team: shop\nresources: {requests: {cpu: 9}}\n",
            "values-prod.yaml": "{}\n",
        },
    )
    by_key = {(c.namespace, c.workload, c.container): c for c in read_manifests(tmp_path).containers}
    assert by_key[("shop-prod", "api", "app")].cpu_request == Decimal(2)
    assert ("shop-prod", "api", "api") not in by_key


def test_helm_merge_rules() -> None:
    base = {"a": {"b": 1, "c": [1, 2], "d": 4}, "e": "x"}
    assert helm_merge(base, {"a": {"c": [3], "d": None}, "f": 1}) == {
        "a": {"b": 1, "c": [3]},
        "e": "x",
        "f": 1,
    }
    assert helm_merge(base, {"a": 5}) == {"a": 5, "e": "x"}
    assert base == {"a": {"b": 1, "c": [1, 2], "d": 4}, "e": "x"}  # inputs untouched


SAMPLE_REPO = Path(__file__).resolve().parents[3] / "examples" / "gitops-repo"


def test_sample_repo_chart_hpa_makes_inference_gateway_hpa_aware() -> None:
    index = read_manifests(SAMPLE_REPO)
    hpa = index.hpa_resources()
    assert hpa[("ml-platform-prod", "Deployment", "inference-gateway")] == frozenset({"cpu"})
    assert not any(k[2] == "kafka-connect" for k in hpa)  # its chart has no autoscaling
    assert not any(k[0] != "ml-platform-prod" and k[2] == "inference-gateway" for k in hpa)
    charted = {(c.namespace, c.workload): c for c in index.containers if c.file.startswith("charts/")}
    assert sorted(charted) == [
        (f"{team}-{env}", workload)
        for team, workload in (("data-platform", "kafka-connect"), ("ml-platform", "inference-gateway"))
        for env in ("dev", "prod", "staging")
    ]
    gw = charted[("ml-platform-prod", "inference-gateway")]
    assert (gw.container, gw.cpu_request, gw.cpu_limit, gw.memory_request, gw.memory_limit) == (
        "inference-gateway",
        Decimal(1),
        None,
        2**30,
        2 * 2**30,
    )


@pytest.mark.parametrize("preset", ["krr-simple", "vpa-like"])
def test_sample_repo_inference_gateway_cpu_is_skipped_unless_allowed(preset: str) -> None:
    facts = read_manifests(SAMPLE_REPO)
    hpa, containers = manifest_inputs(facts)
    assert hpa[("ml-platform-prod", "Deployment", "inference-gateway")] == frozenset({"cpu"})
    assert (
        containers[("ml-platform-prod", "Deployment", "inference-gateway", "inference-gateway")].cpu_request
        == 1
    )
    df = frame(
        *(
            series(
                f"inference-gateway-{p}",
                np.full(2 * 288, 0.4),
                900 * MI,
                namespace="ml-platform-prod",
                workload="inference-gateway",
                container="inference-gateway",
            )
            for p in "ab"
        )
    )
    (rec,) = run_preset(df, preset, manifests=facts).recommendations
    assert rec.evidence["hpa_resources"] == ["cpu"]
    assert rec.skip_reason == "cpu: HPA scales on cpu (allow_hpa is off)"
    assert rec.recommended.cpu_request is None and rec.recommended.memory_request is not None
    assert rec.current.cpu_request == Decimal(1) and rec.current.memory_limit == 2 * 2**30  # from values.yaml
    (allowed,) = run_preset(df, preset, manifests=facts, overrides={"allow_hpa": True}).recommendations
    assert allowed.skip_reason is None and allowed.recommended.cpu_request >= Decimal("0.4")


# One model: right-sizing, the planner and the guardrails see the same workload ------------------
LEGACY_OVERLAY = """\
namespace: pay-prod
bases:
  - ../../base
resources:
  - hpa.yaml
patchesStrategicMerge:
  - api-patch.yaml
"""
HPA_V2 = """\
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: api}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: api}
  minReplicas: 2
  maxReplicas: 6
  metrics:
    - type: Resource
      resource: {name: cpu, target: {type: Utilization, averageUtilization: 70}}
"""


def _legacy_repo(root: Path) -> Path:
    (root / "base").mkdir(parents=True)
    (root / "base" / "api.yaml").write_text(BASE)
    (root / "base" / "kustomization.yaml").write_text("resources: [api.yaml]\n")
    prod = root / "overlays" / "prod"
    prod.mkdir(parents=True)
    (prod / "kustomization.yaml").write_text(LEGACY_OVERLAY)
    (prod / "hpa.yaml").write_text(HPA_V2)
    (prod / "api-patch.yaml").write_text(PATCH)
    return root


@pytest.mark.parametrize("preset", ["krr-simple", "vpa-like"])
def test_legacy_bases_overlay_gives_rightsizing_and_the_planner_the_same_workload_and_hpa(
    tmp_path: Path, preset: str
) -> None:
    from guardrails import ValidationContext, load_policy, validate
    from playbooks import load_playbooks, plan

    repo_root = _legacy_repo(tmp_path / "repo")
    repo = GitOpsRepo.load(repo_root)
    facts = repo.manifest_facts()
    # Right-sizing's view: the base rendered into pay-prod through `bases:`, patch applied, HPA known.
    app = facts.container_map()[("pay-prod", "Deployment", "api", "app")]
    assert (app.cpu_request, app.memory_request, app.file) == (
        Decimal(2),
        2**30,
        "overlays/prod/api-patch.yaml",
    )
    assert facts.hpa_resources() == {("pay-prod", "Deployment", "api"): frozenset({"cpu"})}
    assert not any(c.namespace == "default" for c in facts.containers)  # not a stray plain manifest
    df = frame(
        *(
            series(
                f"api-{p}",
                np.full(2 * 288, 0.3),
                700 * MI,
                namespace="pay-prod",
                workload="api",
                container="app",
            )
            for p in "ab"
        )
    )
    (rec,) = run_preset(df, preset, manifests=facts).recommendations
    assert rec.evidence["hpa_resources"] == ["cpu"]
    assert rec.skip_reason == "cpu: HPA scales on cpu (allow_hpa is off)"
    assert rec.current.cpu_request == Decimal(2)  # from the overlay patch, as the planner edits it
    # The planner's view of the same finding: same workload, same file, same HPA.
    site = repo.find_workload("pay-prod", "Deployment", "api")
    assert site is not None and site.overlay is not None and site.overlay.namespace == "pay-prod"
    assert [h.name for h in repo.related(site, "HorizontalPodAutoscaler")] == ["api"]
    finding = rec.to_finding()
    result = plan([finding], repo_root, load_playbooks(), load_policy(repo_root), index=repo)
    assert result.skipped == []
    (change,) = result.changes
    # The memory request goes next to the patch's cpu request (a memory limit, when the preset
    # changes it, where it is defined: the base, rendered by this overlay only); CPU is the HPA's.
    changed = {f.path: f.changed_fields for f in change.files}
    pod = "Deployment/api:spec.template.spec.containers[app].resources"
    assert changed["overlays/prod/api-patch.yaml"] == [f"{pod}.requests.memory"]
    assert changed.get("base/api.yaml", [f"{pod}.limits.memory"]) == [f"{pod}.limits.memory"]
    # The guardrails judge that same workload with its HPA.
    ctx = ValidationContext(
        policy=load_policy(repo_root), now=datetime(2026, 11, 23, tzinfo=UTC), repo=repo_root, index=repo
    )
    from guardrails.facts import build_facts

    wf = build_facts(change, ctx).workloads["pay-prod/Deployment/api"]
    assert [h.name for h in wf.hpas] == ["api"] and wf.is_prod
    report = validate(change, ctx)
    assert "hpa-min-replicas-only" in {r.rule_id for r in report.results}
