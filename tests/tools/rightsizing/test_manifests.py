"""GitOps manifests (read-only): kustomize namespaces and patches, HPA targets, native sidecars."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from warehouse.manifests import quantity, read_manifests

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
