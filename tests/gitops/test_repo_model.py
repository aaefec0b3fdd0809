"""The one repository model: where each workload is deployed (kustomize, plain manifests, Helm
releases), the HPAs and PDBs acting on it, and the routing config."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from domain.errors import ConfigError
from gitops.repo import GitOpsRepo
from tests.guardrails.helpers import write_repo

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "gitops-repo"


@pytest.fixture
def repo(tmp_path: Path) -> GitOpsRepo:
    return GitOpsRepo.load(write_repo(tmp_path / "repo"))


def test_every_workload_site_once_per_namespace(repo: GitOpsRepo) -> None:
    sites = {(s.namespace, s.obj.kind, s.obj.name): s.source for s in repo.workload_sites()}
    assert sites == {
        **{
            (ns, "Deployment", w): "kustomize"
            for ns in ("shop-dev", "shop-prod")
            for w in ("api", "batch", "legacy", "web")
        },
        ("kube-system", "Deployment", "metrics"): "manifest",
    }  # the gateway chart names no namespace: a floating release, matched on demand
    assert repo.notes == []


def test_floating_chart_release_is_matched_by_the_env_its_namespace_carries(repo: GitOpsRepo) -> None:
    prod = repo.find_workload("shop-prod", "Deployment", "gateway")
    dev = repo.find_workload("shop-dev", "Deployment", "gateway")
    assert prod is not None and prod.release is not None and prod.release.env == "prod"
    assert dev is not None and dev.release is not None and dev.release.env is None  # the defaults
    assert prod.effective()["spec"]["replicas"] == 2
    [hpa] = repo.related(prod, "HorizontalPodAutoscaler")
    assert (hpa.path, hpa.name, hpa.data["spec"]["minReplicas"]) == (
        "charts/gateway/values-prod.yaml",
        "gateway",
        2,
    )
    assert repo.related(dev, "HorizontalPodAutoscaler") == []
    # Right-sizing resolves floating releases for the namespaces it has samples for.
    facts = repo.manifest_facts(namespaces=["shop-prod", "shop-dev"])
    gw = facts.container_map()[("shop-prod", "Deployment", "gateway", "gateway")]
    assert (gw.cpu_request, gw.memory_limit, gw.file) == (Decimal(1), 2 * 2**30, "charts/gateway/values.yaml")
    assert facts.hpa_resources()[("shop-prod", "Deployment", "gateway")] == frozenset({"cpu"})
    assert ("shop-dev", "Deployment", "gateway") not in facts.hpa_resources()
    assert ("shop-prod", "Deployment", "gateway", "gateway") not in repo.manifest_facts().container_map()


def test_chart_pdb_and_labels_come_from_values(tmp_path: Path) -> None:
    root = write_repo(
        tmp_path / "repo",
        {
            "charts/web/Chart.yaml": "name: web\n",
            "charts/web/values.yaml": (
                "namespaceOverride: edge\nreplicaCount: 3\npodLabels: {team: shop}\n"
                "podDisruptionBudget: {enabled: true, minAvailable: 2}\n"
            ),
            "pdb.yaml": (
                "apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {name: web-extra, namespace: edge}\n"
                "spec:\n  minAvailable: 1\n  selector:\n    matchLabels: {app.kubernetes.io/name: web}\n"
            ),
        },
    )
    repo = GitOpsRepo.load(root)
    site = repo.find_workload("edge", "Deployment", "web")
    assert site is not None and repo.labels_of(site)["team"] == "shop"
    pdbs = {
        p.name: (p.path, p.data["spec"].get("minAvailable"))
        for p in repo.related(site, "PodDisruptionBudget")
    }
    assert pdbs == {"web-extra": ("pdb.yaml", 1), "web": ("charts/web/values.yaml", 2)}
    assert repo.find_workload("other", "Deployment", "web") is None  # the chart names its namespace


def test_plain_manifest_without_namespace_deploys_to_default(tmp_path: Path) -> None:
    text = (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: solo}\n"
        "spec:\n  template:\n    spec:\n      containers: [{name: solo, resources: {requests: {cpu: 100m}}}]\n"
    )
    repo = GitOpsRepo.load(write_repo(tmp_path / "r", {"solo.yaml": text}))
    assert repo.find_workload("default", "Deployment", "solo") is not None
    assert repo.find_workload("shop-dev", "Deployment", "solo") is None
    [c] = repo.manifest_facts().containers
    assert (c.namespace, c.container, c.cpu_request) == ("default", "solo", Decimal("0.1"))


def test_hpa_without_metrics_scales_on_cpu_as_kubernetes_defaults(repo: GitOpsRepo) -> None:
    hpa = repo.manifest_facts().hpa_resources()
    assert hpa[("shop-prod", "Deployment", "web")] == frozenset({"cpu"})  # no metrics: 80% CPU
    assert hpa[("shop-dev", "Deployment", "web")] == frozenset({"cpu"})


def test_routing_config_and_its_errors(repo: GitOpsRepo, tmp_path: Path) -> None:
    assert set(repo.routing_config()["features"]) == {"summary", "long-docs", "fraud", "tagging"}
    empty = GitOpsRepo.load(write_repo(tmp_path / "e", {"ai/other.yaml": "a: 1\n"}))
    with pytest.raises(ConfigError, match=r"ai/routing\.yaml: no AI routing config"):
        empty.routing_config()
    bad = GitOpsRepo.load(write_repo(tmp_path / "b", {"ai/routing.yaml": "models: []\n"}))
    with pytest.raises(ConfigError, match=r"^ai/routing\.yaml: needs mappings `models:` and `features:`$"):
        bad.routing_config()
    unsafe = GitOpsRepo.load(write_repo(tmp_path / "u", {"ai/routing.yaml": "a: &x 1\nb: *x\n"}))
    with pytest.raises(ConfigError, match=r"ai/routing\.yaml: line 1: YAML anchor &x"):
        unsafe.routing_config()


def test_example_repo_model_matches_what_the_sample_data_deploys() -> None:
    repo = GitOpsRepo.load(EXAMPLE)
    assert repo.notes == []
    sites = repo.workload_sites()
    namespaces = {s.namespace for s in sites}
    assert {ns.rsplit("-", 1)[1] for ns in namespaces} == {"dev", "staging", "prod"}
    facts = repo.manifest_facts()
    assert len(facts.containers) >= len(sites)
    assert facts.hpa_resources()[("ml-platform-prod", "Deployment", "inference-gateway")] == frozenset(
        {"cpu"}
    )


def test_read_routing_of_a_named_file(tmp_path: Path) -> None:
    from gitops.routing import read_routing

    good = tmp_path / "routing.yaml"
    good.write_text("models: {m: {tier: 1, context_window: 8000}}\nfeatures: {f: {model: m}}\n")
    assert read_routing(good)["features"] == {"f": {"model": "m"}}
    with pytest.raises(
        ConfigError, match=r"missing\.yaml: no AI routing config \(expected models: and features:\)$"
    ):
        read_routing(tmp_path / "missing.yaml")
    deep = tmp_path / "deep.yaml"
    deep.write_text("models: " + "[" * 200 + "]" * 200 + "\n")
    with pytest.raises(ConfigError, match=r"deep\.yaml: line 1: nested deeper than 64 levels; refused$"):
        read_routing(deep)
