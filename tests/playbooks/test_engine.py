"""The engine: findings → planned changes in the right files, grouped within the blast radius,
without writing anything."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from domain.findings import Finding, FindingKind
from guardrails import ValidationContext, load_policy, policy_from_dict, validate
from playbooks import load_playbooks, plan, plan_changes
from playbooks.actions import uptime_annotation
from tests.guardrails.helpers import GI, MI, context, idle, model_finding, rightsize, write_repo

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "gitops-repo"
EV = {"cpu_p95": "1.2", "memory_peak": 2 * GI, "days": 14, "samples": 4032}


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return write_repo(tmp_path / "gitops")


def tree_digest(root: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        if p.is_file():
            h.update(str(p.relative_to(root)).encode() + p.read_bytes())
    return h.hexdigest()


def test_rightsize_patches_the_overlay_patch_and_writes_nothing(repo: Path) -> None:
    digest = tree_digest(repo)
    finding = rightsize(
        "shop-prod",
        "api",
        {"cpu_request": "1.5", "cpu_limit": None, "memory_request": 3 * GI, "memory_limit": 3 * GI},
        EV,
    )
    [change] = plan_changes([finding], repo, load_playbooks(), load_policy(repo))
    assert tree_digest(repo) == digest  # dry run
    assert change.playbook == "rightsize-requests"
    assert change.branch == "costpilot/rightsize-requests/shop-prod"  # one PR per namespace
    assert change.title == "costpilot: right-size api in shop-prod"
    [f] = change.files
    assert f.path == "overlays/prod/patches/api.yaml"
    assert f.changed_fields == [
        "Deployment/api:spec.template.spec.containers[api].resources.requests.cpu",
        "Deployment/api:spec.template.spec.containers[api].resources.requests.memory",
        "Deployment/api:spec.template.spec.containers[api].resources.limits.memory",
    ]
    assert (
        '-              cpu: "2"\n-              memory: 4Gi\n+              cpu: "1500m"\n+              memory: 3Gi'
        in change.diff
    )
    assert "resources:  # sized for the holiday peak" in f.after
    assert (change.monthly_cost_now, change.monthly_cost_after) == (Decimal(100), Decimal(60))
    assert validate(change, context(repo)).passed


def test_each_kind_goes_to_its_playbook_and_target_file(repo: Path) -> None:
    findings = [
        model_finding("summary", "gpt-4o", "gpt-4o-mini"),
        idle("shop-dev", "batch"),
        idle("shop-dev", "web"),
        rightsize("shop-prod", "gateway", {"cpu_request": "0.8"}, EV),
        Finding(
            kind=FindingKind.untagged,
            target={"namespace": "shop-dev", "kind": "Deployment", "workload": "api"},
            title="untagged",
            proposed={"labels": {"team": "shop", "cost_center": "CC-1"}},
        ),
    ]
    result = plan(findings, repo, load_playbooks(), load_policy(repo))
    assert result.skipped == []
    got = {(c.playbook, f.path, tuple(f.changed_fields)) for c in result.changes for f in c.files}
    assert got == {
        ("cheaper-model", "ai/routing.yaml", ("features.summary.model",)),
        ("scale-idle-nonprod", "overlays/dev/patches/batch.yaml", ("Deployment/batch:spec.replicas",)),
        ("scale-idle-nonprod", "overlays/dev/hpa.yaml", ("HorizontalPodAutoscaler/web:spec.minReplicas",)),
        ("rightsize-requests", "charts/gateway/values.yaml", ("resources.requests.cpu",)),
        (
            "enforce-cost-tags",
            "base/api.yaml",
            ("Deployment/api:metadata.labels.cost_center", "Deployment/api:metadata.labels.team"),
        ),
    }
    hpa = next(c for c in result.changes if c.files[0].path == "overlays/dev/hpa.yaml")
    assert "-  minReplicas: 2\n+  minReplicas: 1" in hpa.diff


def test_off_hours_schedule_becomes_downscaler_annotations_in_a_new_overlay_patch(repo: Path) -> None:
    schedule = {
        "timezone": "UTC",
        "scale_up_cron": "0 8 * * 1,2,3,4,5",
        "scale_down_cron": "0 19 * * 1,2,3,4,5",
    }
    assert uptime_annotation(schedule) == "Mon-Fri 08:00-19:00 UTC"
    finding = idle("shop-dev", "batch", {"replicas_off_hours": 0, "schedule": schedule})
    [change] = plan_changes([finding], repo, load_playbooks(), load_policy(repo))
    # base/batch.yaml is also rendered by production, which does not override annotations:
    # the change goes into a new patch of the dev overlay, listed in its kustomization.
    new, kustomization = change.files
    assert (new.path, new.before) == ("overlays/dev/patches/costpilot-deployment-batch.yaml", "")
    assert new.after.endswith(
        "metadata:\n  name: batch\n  annotations:\n"
        '    downscaler/uptime: "Mon-Fri 08:00-19:00 UTC"\n    downscaler/downtime-replicas: "0"\n'
    )
    assert kustomization.path == "overlays/dev/kustomization.yaml"
    assert kustomization.after == kustomization.before + "  - path: patches/costpilot-deployment-batch.yaml\n"
    report = validate(change, context(repo))
    assert report.passed, [r.message for r in report.failures]
    off = [r for r in report.results if r.rule_id == "no-scale-to-zero-protected"]
    assert off[0].message == "shop-dev/Deployment/batch: scale to zero in non-production namespace shop-dev"


def test_dev_rightsize_of_a_shared_base_gets_its_own_overlay_patch(repo: Path) -> None:
    ev = {**EV, "cpu_p95": "0.15", "memory_peak": 300 * MI}
    finding = rightsize("shop-dev", "batch", {"cpu_request": "0.3", "memory_request": 400 * MI}, ev)
    [change] = plan_changes([finding], repo, load_playbooks(), load_policy(repo))
    assert [f.path for f in change.files] == [
        "overlays/dev/patches/costpilot-deployment-batch.yaml",
        "overlays/dev/kustomization.yaml",
    ]
    assert (
        "        - name: batch\n          resources:\n            requests:\n              cpu: 300m\n"
        in change.files[0].after
    )
    report = validate(change, context(repo))
    assert report.passed, [r.message for r in report.failures]
    steps = [r.message for r in report.results if r.rule_id == "max-change-per-step"]
    assert steps[0].endswith("cpu request 250m → 300m (+20.0%) within ±200%")  # against the base value
    # the same finding for production edits the base (no overlay overrides it there... but prod
    # renders it, so it is production's own value) and the dev overlay is left alone
    prod = rightsize("shop-prod", "batch", {"cpu_request": "0.2"}, ev)
    [change] = plan_changes([prod], repo, load_playbooks(), load_policy(repo))
    assert [f.path for f in change.files] == ["base/batch.yaml"]


def test_grouping_splits_to_respect_the_blast_radius(repo: Path) -> None:
    findings = [
        Finding(
            kind=FindingKind.untagged,
            target={"namespace": "shop-dev", "kind": "Deployment", "workload": w},
            title=f"untagged {w}",
            proposed={"labels": {"team": "shop"}},
        )
        for w in ("api", "web", "batch", "legacy")
    ]
    # Each base here renders in two overlays, so each workload counts twice against the limit,
    # exactly as the blast-radius guardrail counts it.
    policy = policy_from_dict({"blast_radius": {"max_workloads_per_pr": 4, "max_files_per_pr": 5}})
    changes = plan_changes(findings, repo, load_playbooks(), policy)
    assert [c.target_slug for c in changes] == ["c1-shop-dev", "c1-shop-dev-2"] or [
        c.target_slug for c in changes
    ] == ["shop-dev", "shop-dev-2"]
    assert [len(c.findings) for c in changes] == [2, 2]
    assert changes[0].title == "costpilot: add cost labels in shop-dev (2 workloads)"
    now = datetime.now(UTC)
    for change in changes:
        report = validate(change, ValidationContext(policy=policy, now=now, repo=repo))
        assert "blast-radius" not in [r.rule_id for r in report.failures]


def test_unplannable_findings_are_reported_with_a_reason(repo: Path) -> None:
    findings = [
        rightsize("shop-prod", "ghost", {"cpu_request": "1"}, EV),
        rightsize("shop-prod", "api", {"cpu_request": "2"}, EV),  # already 2 cores
        model_finding("unknown-feature", "gpt-4o", "gpt-4o-mini"),
    ]
    result = plan(findings, repo, load_playbooks(), load_policy(repo))
    assert result.changes == []
    reasons = sorted(r for _, r in result.skipped)
    assert reasons[0] == "already at the proposed values"
    assert "feature 'unknown-feature' not in the routing config" in reasons[1]
    assert "workload ghost not found in the repository" in reasons[2]


def test_memory_is_written_in_the_manifest_unit_and_rounded_up(repo: Path) -> None:
    finding = rightsize(
        "shop-prod", "web", {"memory_request": 1500 * MI + 1}, {**EV, "memory_peak": 1200 * MI}
    )
    [change] = plan_changes([finding], repo, load_playbooks(), load_policy(repo))
    assert "+              memory: 1501Mi" in change.diff


def test_example_repo_plans_where_its_readme_says() -> None:
    if not (EXAMPLE / "overlays").is_dir():
        pytest.skip("example repo not present")
    findings = [
        rightsize("payments-prod", "payments-api", {"cpu_request": "1.5"}, EV),
        model_finding("search-summary", "gpt-4o", "gpt-4o-mini"),
    ]
    result = plan(findings, EXAMPLE, load_playbooks(), load_policy(EXAMPLE))
    paths = sorted(f.path for c in result.changes for f in c.files)
    assert paths == ["ai/routing.yaml", "overlays/prod/payments/patches/payments-api.yaml"]


def test_bad_proposed_values_skip_the_finding(repo: Path) -> None:
    findings = [
        rightsize("shop-prod", "api", {"cpu_request": "lots"}, EV),
        rightsize("shop-prod", "web", {"memory_request": -5}, EV),
        rightsize("shop-prod", "batch", {"cpu_request": "300m"}, EV),  # a quantity string is fine
    ]
    result = plan(findings, repo, load_playbooks(), load_policy(repo))
    reasons = sorted(r.split(": ", 1)[1] for _, r in result.skipped)
    assert reasons == [
        "proposed cpu_request 'lots' is not a quantity",
        "proposed memory_request -5 is not positive",
    ]
    assert [c.target_slug for c in result.changes] == ["shop-prod"]


def test_bad_idle_proposals_skip_with_a_reason(repo: Path) -> None:
    findings = [
        idle("shop-dev", "batch", {"replicas": "none"}),
        idle("shop-dev", "api", {"replicas_off_hours": 0, "schedule": "weekdays"}),
    ]
    result = plan(findings, repo, load_playbooks(), load_policy(repo))
    assert result.changes == []
    reasons = sorted(r for _, r in result.skipped)
    assert reasons[0].endswith("proposed replicas 'none' is not a replica count")
    assert reasons[1] == "unreadable schedule 'weekdays'"
