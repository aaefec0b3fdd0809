"""Planned changes and guardrail reports for the proposal-store tests."""

from __future__ import annotations

from decimal import Decimal

from domain.changes import FileChange, GuardrailReport, GuardrailResult, PlannedChange, Verdict
from domain.findings import Finding, FindingKind

BEFORE = 'spec:\n  resources:\n    requests:\n      cpu: "2"\n'


def make_change(
    cpu: str = "500m",
    *,
    slug: str = "shop-api",
    namespace: str = "shop",
    env: str | None = None,
    playbook: str = "rightsize-requests",
) -> PlannedChange:
    target = {
        "cluster": "c1",
        "namespace": namespace,
        "kind": "Deployment",
        "workload": "api",
        "container": "api",
    }
    if env:
        target["env"] = env
    finding = Finding(
        kind=FindingKind.rightsize,
        target=target,
        title="Right-size api",
        current={"cpu_request": "2"},
        proposed={"cpu_request": cpu},
        evidence={"cpu_p95": "0.31", "days": 14, "samples": 4032},
        monthly_cost_now=Decimal("120"),
        monthly_cost_after=Decimal("40"),
    )
    after = BEFORE.replace('"2"', f'"{cpu}"')
    return PlannedChange(
        playbook=playbook,
        target_slug=slug,
        title=f"Right-size {slug}",
        findings=[finding],
        files=[FileChange(path="apps/api/deployment.yaml", before=BEFORE, after=after)],
        diff=f'--- a/apps/api/deployment.yaml\n+++ b/apps/api/deployment.yaml\n-      cpu: "2"\n+      cpu: "{cpu}"\n',
        monthly_cost_now=Decimal("120"),
        monthly_cost_after=Decimal("40"),
    )


def make_report(change: PlannedChange, failing: tuple[str, ...] = ()) -> GuardrailReport:
    results = [GuardrailResult(rule_id="patch.parses", verdict=Verdict.passed, message="ok")]
    results += [GuardrailResult(rule_id=r, verdict=Verdict.fail, message=f"{r} failed") for r in failing]
    return GuardrailReport(patch_sha256=change.patch_sha256, results=results)
