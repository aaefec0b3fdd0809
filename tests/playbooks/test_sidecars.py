"""Right-sizing native sidecars: init containers with ``restartPolicy: Always`` are planned in
``initContainers``, declared by the playbook, and checked by the same guardrails."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from domain.changes import FileChange, PlannedChange
from domain.findings import Finding, FindingKind
from gitops.diff import unified_diff
from guardrails import load_policy, validate
from playbooks import load_playbooks, plan
from tests.guardrails.helpers import MI, context, failed_rules, write_repo

SIDECAR_DEPLOYMENT = """\
# search-api: the app plus a native sidecar and a migration init container
apiVersion: apps/v1
kind: Deployment
metadata:
  name: search-api
spec:
  replicas: 2
  selector:
    matchLabels: {app: search-api}
  template:
    metadata:
      labels: {app: search-api}
    spec:
      initContainers:
        - name: db-migrate
          image: registry.example/search-api:2.0.0
          resources:
            requests:
              cpu: 100m
              memory: 128Mi
        - name: otel-collector
          image: otel/opentelemetry-collector:0.111.0
          restartPolicy: Always  # native sidecar
          resources:
            requests:
              cpu: 50m
              memory: 96Mi
            limits:
              memory: 192Mi
      containers:
        - name: search-api
          image: registry.example/search-api:2.0.0
          resources:
            requests:
              cpu: "1"
              memory: 2Gi
            limits:
              memory: 2Gi
"""
EVIDENCE = {"cpu_p95": "0.03", "memory_peak": 60 * MI, "days": 14, "samples": 4032, "coverage": 0.98}


def sidecar_finding(namespace: str, container: str, proposed: dict[str, object]) -> Finding:
    return Finding(
        kind=FindingKind.rightsize,
        target={
            "cluster": "c1",
            "namespace": namespace,
            "kind": "Deployment",
            "workload": "search-api",
            "container": container,
        },
        title=f"right-size {container} of search-api in {namespace}",
        proposed=proposed,
        evidence=EVIDENCE,
        monthly_cost_now=Decimal(10),
        monthly_cost_after=Decimal(8),
    )


@pytest.fixture
def plain(tmp_path: Path) -> Path:
    """One plain manifest (no kustomize) in namespace search."""
    text = SIDECAR_DEPLOYMENT.replace("  name: search-api\n", "  name: search-api\n  namespace: search\n", 1)
    return write_repo(tmp_path / "plain", {"apps/search-api.yaml": text})


@pytest.fixture
def shared(tmp_path: Path) -> Path:
    """A kustomize base rendered by dev and prod overlays (prod is production)."""
    return write_repo(
        tmp_path / "shared",
        {
            "base/kustomization.yaml": "resources:\n  - search-api.yaml\n",
            "base/search-api.yaml": SIDECAR_DEPLOYMENT,
            "overlays/dev/kustomization.yaml": "namespace: search-dev\nresources:\n  - ../../base\n",
            "overlays/prod/kustomization.yaml": "namespace: search-prod\nresources:\n  - ../../base\n",
        },
    )


def test_native_sidecar_requests_are_planned_in_init_containers(plain: Path) -> None:
    finding = sidecar_finding("search", "otel-collector", {"cpu_request": "0.04", "memory_request": 100 * MI})
    result = plan([finding], plain, load_playbooks(), load_policy(plain))
    assert result.skipped == []
    [change] = result.changes
    [f] = change.files
    assert f.path == "apps/search-api.yaml"
    assert f.changed_fields == [
        "Deployment/search-api:spec.template.spec.initContainers[otel-collector].resources.requests.cpu",
        "Deployment/search-api:spec.template.spec.initContainers[otel-collector].resources.requests.memory",
    ]
    assert (
        "-              cpu: 50m\n-              memory: 96Mi\n+              cpu: 40m\n+              memory: 100Mi"
        in (change.diff)
    )
    assert "restartPolicy: Always  # native sidecar" in f.after  # the comment survives the patch
    report = validate(change, context(plain))
    assert report.passed, [r.message for r in report.failures]
    messages = [(r.rule_id, r.message) for r in report.results]
    assert ("declared-fields-only", "2 changed field(s), all declared by the playbook") in messages
    assert (
        "max-change-per-step",
        "search/Deployment/search-api container otel-collector cpu request 50m → 40m (-20.0%) within ±50%",
    ) in messages


def test_a_sidecar_limit_below_the_new_request_is_blocked(plain: Path) -> None:
    # 300Mi request against the sidecar's 192Mi limit: the resource guardrails see the sidecar
    finding = sidecar_finding("search", "otel-collector", {"memory_request": 300 * MI})
    [change] = plan([finding], plain, load_playbooks(), load_policy(plain)).changes
    report = validate(change, context(plain))
    assert "requests-within-limits" in failed_rules(report)


def test_run_to_completion_init_container_is_skipped_with_the_reason(plain: Path) -> None:
    findings = [
        sidecar_finding("search", "db-migrate", {"cpu_request": "0.05"}),
        sidecar_finding("search", "ghost", {"cpu_request": "0.05"}),
    ]
    result = plan(findings, plain, load_playbooks(), load_policy(plain))
    assert result.changes == []
    reasons = dict(result.skipped)
    assert reasons[findings[0].id] == (
        "apps/search-api.yaml: Deployment/search-api: 'db-migrate' is an init container that runs to "
        "completion, not a native sidecar (restartPolicy: Always); its requests are not sized from steady usage"
    )
    assert reasons[findings[1].id] == "apps/search-api.yaml: Deployment/search-api has no container 'ghost'"


def test_shared_base_sidecar_prod_edits_the_base_and_dev_gets_an_overlay_patch(shared: Path) -> None:
    prod = sidecar_finding("search-prod", "otel-collector", {"cpu_request": "0.04"})
    dev = sidecar_finding("search-dev", "otel-collector", {"cpu_request": "0.04", "memory_request": 100 * MI})
    result = plan([prod, dev], shared, load_playbooks(), load_policy(shared))
    assert result.skipped == []
    by_finding = {c.findings[0].id: c for c in result.changes}
    assert [f.path for f in by_finding[prod.id].files] == ["base/search-api.yaml"]
    change = by_finding[dev.id]
    paths = [f.path for f in change.files]
    assert "overlays/dev/patches/costpilot-deployment-search-api.yaml" in paths
    assert "base/search-api.yaml" not in paths  # prod's base stays untouched by the dev change
    [patch] = [f for f in change.files if f.path.endswith("costpilot-deployment-search-api.yaml")]
    assert "initContainers:" in patch.after and "otel-collector" in patch.after
    report = validate(change, context(shared))
    assert report.passed, [r.message for r in report.failures]
    messages = [(r.rule_id, r.message) for r in report.results]
    # the step is measured against the base's sidecar value (50m), not a missing one
    assert (
        "max-change-per-step",
        "search-dev/Deployment/search-api container otel-collector cpu request 50m → 40m (-20.0%) within ±50%",
    ) in messages


@pytest.mark.parametrize(
    ("proposed", "rule"),
    [
        ({"cpu_request": "0.01"}, "max-change-per-step"),  # 50m → 10m in the base: -80%
        ({"memory_request": 180 * MI, "cpu_request": "0.05"}, None),  # control: safe, under the 192Mi limit
        ({"memory_request": 140 * MI}, None),
        ({"memory_request": 250 * MI}, "requests-within-limits"),  # base limit 192Mi
        ({"memory_request": 50 * MI}, "above-observed-peak"),  # observed peak 60Mi
    ],
)
def test_dev_sidecar_overlay_change_is_checked_against_the_base(
    shared: Path, proposed: dict[str, object], rule: str | None
) -> None:
    dev = sidecar_finding("search-dev", "otel-collector", proposed)
    result = plan([dev], shared, load_playbooks(), load_policy(shared))
    assert result.skipped == []
    [change] = result.changes
    assert all(f.path.startswith("overlays/dev/") for f in change.files)
    report = validate(change, context(shared))
    if rule is None:
        assert report.passed, [r.message for r in report.failures]
    else:
        assert rule in failed_rules(report), [r.message for r in report.results]
        [msg] = [r.message for r in report.failures if r.rule_id == rule]
        assert "otel-collector" in msg


def test_dev_sidecar_image_change_in_an_overlay_patch_is_not_declared(shared: Path) -> None:
    dev = sidecar_finding("search-dev", "otel-collector", {"cpu_request": "0.04"})
    [change] = plan([dev], shared, load_playbooks(), load_policy(shared)).changes
    [patch] = [f for f in change.files if f.path.endswith("costpilot-deployment-search-api.yaml")]
    after = patch.after.replace(
        "- name: otel-collector\n",
        "- name: otel-collector\n          image: otel/opentelemetry-collector:0.112.0\n",
        1,
    )
    assert after != patch.after, patch.after
    files = [f.model_copy(update={"after": after}) if f is patch else f for f in change.files]
    tampered = change.model_copy(update={"files": files, "diff": unified_diff(files)})
    report = validate(tampered, context(shared))
    assert "declared-fields-only" in failed_rules(report)
    [msg] = [r.message for r in report.failures if r.rule_id == "declared-fields-only"]
    assert "initContainers[otel-collector].image" in msg


def test_declared_fields_stay_honest_for_init_containers(plain: Path) -> None:
    """The playbook declares sidecar resources only: an image change of the same init container
    is outside the declared fields."""
    fields = list(load_playbooks()["rightsize-requests"].fields)
    assert "spec.template.spec.initContainers[*].resources.requests.cpu" in fields
    assert not any("image" in f for f in fields)
    before = (plain / "apps/search-api.yaml").read_text()
    after = before.replace("cpu: 50m", "cpu: 40m").replace(
        "otel/opentelemetry-collector:0.111.0", "otel/opentelemetry-collector:0.112.0"
    )
    files = [FileChange(path="apps/search-api.yaml", before=before, after=after)]
    finding = sidecar_finding("search", "otel-collector", {"cpu_request": "0.04"})
    change = PlannedChange(
        playbook="rightsize-requests",
        target_slug="search-deployment-search-api",
        title="t",
        findings=[finding],
        files=files,
        diff=unified_diff(files),
        allowed_fields=fields,
        monthly_cost_now=Decimal(10),
        monthly_cost_after=Decimal(8),
    )
    report = validate(change, context(plain))
    assert "declared-fields-only" in failed_rules(report)
    [msg] = [r.message for r in report.failures if r.rule_id == "declared-fields-only"]
    assert "initContainers[otel-collector].image" in msg
