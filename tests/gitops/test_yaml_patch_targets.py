"""Where a value is defined (kustomize base vs overlay patch, Helm values, routing) and which
fields a patch really changed (parsed comparison)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from domain.changes import FileChange
from domain.quantity import format_cpu, format_memory, parse_cpu, parse_memory
from gitops.diff import changed_fields, unified_diff
from gitops.targets import find_workload, index_repo, locate_field, locate_helm_value, locate_model, related
from tests.guardrails.helpers import write_repo

API = "spec.template.spec.containers[api].resources"


@pytest.fixture
def index(tmp_path: Path):  # type: ignore[no-untyped-def]
    return index_repo(write_repo(tmp_path / "repo"))


def test_overlay_patch_wins_where_it_defines_the_value(index) -> None:  # type: ignore[no-untyped-def]
    site = find_workload(index, "shop-prod", "Deployment", "api")
    assert site is not None and site.obj.path == "base/api.yaml"
    loc = locate_field(site, f"{API}.requests.cpu")
    assert (loc.path, loc.source, loc.defined) == ("overlays/prod/patches/api.yaml", "kustomize-patch", True)
    # the patch has the resources block but no cpu limit: still the patch (it overrides that block)
    assert locate_field(site, f"{API}.limits.ephemeral-storage").path == "overlays/prod/patches/api.yaml"
    assert site.effective()["spec"]["replicas"] == 4
    assert site.effective()["metadata"]["labels"]["env"] == "prod"


def test_base_value_reports_the_other_overlays_that_render_it(index) -> None:  # type: ignore[no-untyped-def]
    site = find_workload(index, "shop-dev", "Deployment", "web")
    loc = locate_field(site, "spec.template.spec.containers[web].resources.requests.cpu")
    assert (loc.path, loc.source) == ("base/web.yaml", "kustomize-base")
    assert loc.shared_by == ["overlays/prod (shop-prod)"]
    assert [h.name for h in related(site, "HorizontalPodAutoscaler")] == ["web"]
    assert find_workload(index, "shop-qa", "Deployment", "web") is None


def test_pdb_found_by_selector_only_in_its_namespace(index) -> None:  # type: ignore[no-untyped-def]
    prod = find_workload(index, "shop-prod", "Deployment", "batch")
    dev = find_workload(index, "shop-dev", "Deployment", "batch")
    assert [p.name for p in related(prod, "PodDisruptionBudget")] == ["batch"]
    assert related(dev, "PodDisruptionBudget") == []
    assert dev.effective()["spec"]["replicas"] == 2  # the dev patch


def test_plain_manifest_with_namespace(index) -> None:  # type: ignore[no-untyped-def]
    site = find_workload(index, "kube-system", "Deployment", "metrics")
    assert locate_field(site, "spec.replicas").source == "manifest"


def test_helm_values_and_routing(index) -> None:  # type: ignore[no-untyped-def]
    loc = locate_helm_value(index, "gateway", ["prod"], ["gateway.resources", "resources"])
    assert (loc.path, loc.field) == ("charts/gateway/values.yaml", "resources")
    assert locate_helm_value(index, "nope", [], ["resources"]) is None
    assert locate_model(index, "summary").field == "features.summary.model"
    assert locate_model(index, "unknown") is None


def test_changed_fields_compare_parsed_documents() -> None:
    before = [
        {
            "kind": "Deployment",
            "metadata": {"name": "a"},
            "spec": {
                "template": {
                    "spec": {
                        "containers": [
                            {"name": "api", "image": "x:1", "resources": {"requests": {"cpu": "1"}}},
                            {"name": "side", "image": "y"},
                        ]
                    }
                }
            },
        }
    ]
    after = [
        {
            "kind": "Deployment",
            "metadata": {"name": "a", "labels": {"team": "t"}},
            "spec": {
                "template": {
                    "spec": {
                        "containers": [
                            {"name": "api", "image": "x:2", "resources": {"requests": {"cpu": "500m"}}},
                            {"name": "side", "image": "y"},
                        ]
                    }
                }
            },
        }
    ]
    assert changed_fields(before, after) == [
        "Deployment/a:metadata.labels.team",
        "Deployment/a:spec.template.spec.containers[api].image",
        "Deployment/a:spec.template.spec.containers[api].resources.requests.cpu",
    ]
    assert changed_fields([{"a": 1}], [{"a": 1}, {"b": 2}]) == ["#1:<document>"]


def test_unified_diff_names_files() -> None:
    diff = unified_diff([FileChange(path="b.yaml", before="a: 1\n", after="a: 2\n")])
    assert diff.splitlines()[:2] == ["--- a/b.yaml", "+++ b/b.yaml"]
    assert "-a: 1" in diff and "+a: 2" in diff


@pytest.mark.parametrize(
    ("text", "cores"), [("500m", "0.5"), ("2", "2"), (1, "1"), ("1.5", "1.5"), ("100u", "0.0001")]
)
def test_cpu_quantities(text: object, cores: str) -> None:
    assert parse_cpu(text) == Decimal(cores)


def test_memory_quantities_and_formatting() -> None:
    assert parse_memory("1Gi") == 2**30
    assert parse_memory("1G") == 10**9
    assert parse_memory("129e6") == 129_000_000
    assert format_memory(3 * 2**30, "2Gi") == "3Gi"
    assert format_memory(1536 * 2**20, "2Gi") == "1536Mi"
    assert format_memory(2 * 10**9, "1G") == "2G"
    assert format_memory(1000, None) == "1Mi"  # rounds up, never down
    assert format_cpu(Decimal("0.25")) == "250m"
    assert format_cpu(Decimal("2"), "1") == "2"
    assert format_cpu(Decimal("2"), 1) == 2
    assert format_cpu(Decimal("0.0001")) == "1m"
    with pytest.raises(Exception, match="not a Kubernetes quantity"):
        parse_cpu("lots")
