"""The PR body and bot comment, asserted line by line."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from domain.changes import FileChange, GuardrailReport, GuardrailResult, PlannedChange, Verdict
from domain.findings import Finding, FindingKind
from gitops.pr_body import marker, render_body, render_comment, signed_usd, usd

DIFF = "--- a/apps/api/deployment.yaml\n+++ b/apps/api/deployment.yaml\n-cpu: 2\n+cpu: 500m\n"


def finding(
    workload: str,
    now: str,
    after: str,
    container: str = "app",
    current: dict[str, object] | None = None,
    proposed: dict[str, object] | None = None,
    **evidence: object,
) -> Finding:
    return Finding(
        kind=FindingKind.rightsize,
        target={
            "cluster": "c1",
            "namespace": "shop",
            "kind": "Deployment",
            "workload": workload,
            "container": container,
        },
        title=f"Right-size {workload}",
        current=current or {},
        proposed=proposed or {},
        evidence=evidence,
        monthly_cost_now=Decimal(now),
        monthly_cost_after=Decimal(after),
    )


def change(**kw: object) -> PlannedChange:
    return PlannedChange(
        playbook="rightsize-requests",
        target_slug="shop-api",
        title="Right-size requests in shop",
        findings=[
            finding(
                "api",
                "1200",
                "390",
                current={"cpu_request": "2", "memory_request": 2**31},
                proposed={"cpu_request": "0.5", "memory_request": 2**30},
                cpu_p95="0.31",
                memory_peak_bytes=734003200,
                days=14,
                samples=4032,
            ),
            finding("api", "34.5", "10.25", container="sidecar"),
            finding("web|v2", "10", "12.004"),
        ],
        files=[FileChange(path="apps/api/deployment.yaml", before="cpu: 2\n", after="cpu: 500m\n")],
        diff=DIFF,
        monthly_cost_now=Decimal("1244.5"),
        monthly_cost_after=Decimal("412.254"),
        base_sha="a1b2c3d4e5f6a7b8c9d0a1b2c3d4e5f6a7b8c9d0",
        **kw,  # type: ignore[arg-type]
    )


REPORT = GuardrailReport(
    patch_sha256=change().patch_sha256,
    results=[
        GuardrailResult(
            rule_id="resources.peak_headroom", verdict=Verdict.passed, message="cpu 0.5 ≥ p95 0.31 × 1.15"
        ),
        GuardrailResult(rule_id="evidence.days", verdict=Verdict.warn, message="web|v2 has 6 days | want 14"),
    ],
)
SHA = change().patch_sha256


def test_full_body_after_approval() -> None:
    body = render_body(
        "p0123456789",
        change(),
        REPORT,
        approved_by="U024BE7LH",
        approved_at=datetime(2026, 11, 23, 18, 4, 59, tzinfo=UTC),
    )
    # One row per workload (api's two containers together); every data-derived text escaped.
    assert (
        body
        == f"""<!-- costpilot:proposal=p0123456789 -->
## Right\\-size requests in shop

Monthly cost: **$1,244.50 → $412.25** (-$832.25 per month).

| workload | change | now $/month | after $/month | delta |
|---|---|---:|---:|---:|
| shop/Deployment/api | app: cpu request 2 → 500m, memory request 2Gi → 1Gi; sidecar: see diff | $1,234.50 | $400.25 | -$834.25 |
| shop/Deployment/web\\|v2 | app: see diff | $10.00 | $12.00 | +$2.00 |
| **total** (2 workloads) | | **$1,244.50** | **$412.25** | **-$832.25** |

### Evidence

- shop/Deployment/api/app: cpu\\_p95: 0\\.31; memory\\_peak\\_bytes: 734003200; days: 14; samples: 4032
- shop/Deployment/api/sidecar: none recorded
- shop/Deployment/web\\|v2/app: none recorded

### Guardrails

| rule | verdict | detail |
|---|---|---|
| `resources.peak_headroom` | pass | cpu 0\\.5 ≥ p95 0\\.31 × 1\\.15 |
| `evidence.days` | warn | web\\|v2 has 6 days \\| want 14 |

2 rules checked, 0 failed.

### Approval

- Approved by U024BE7LH at 2026-11-23 18:04 UTC.
- Patch SHA-256: `{SHA}` (base `a1b2c3d4e5f6`)
- Files: `apps/api/deployment.yaml`

<sub>Opened by costpilot for proposal p0123456789. Edits to this branch are overwritten on the next approved change for the same target.</sub>
"""
    )


def test_guardrail_markdown_from_guardrails_is_used_verbatim_and_cost_increase_reason_shown() -> None:
    body = render_body(
        "p1",
        change(cost_increase_reason="OOM kills at peak"),
        REPORT,
        approved_by=None,
        approved_at=None,
        report_markdown="**all 14 rules passed**",
        intro="  Requests follow observed usage.\n",
    )
    lines = body.splitlines()
    assert lines[1:4] == ["## Right\\-size requests in shop", "", "Requests follow observed usage."]
    assert lines[5:7] == [
        "Monthly cost: **$1,244.50 → $412.25** (-$832.25 per month).",
        "Cost increase accepted because: OOM kills at peak",
    ]
    guard = lines.index("### Guardrails")
    assert lines[guard + 1 : guard + 4] == ["", "**all 14 rules passed**", ""]
    assert "- Not approved yet." in lines
    assert lines[0] == marker("p1") == "<!-- costpilot:proposal=p1 -->"


def test_comment_starts_with_the_marker() -> None:
    assert render_comment("p1", change(), approved_by="U1") == (
        "<!-- costpilot:proposal=p1 -->\n"
        f"costpilot updated this pull request for proposal `p1` approved by U1: patch `{SHA[:12]}`, -$832.25 per month.\n"
    )


def test_money_formatting_rounds_half_even_to_cents() -> None:
    assert [usd(Decimal(x)) for x in ("0", "0.005", "0.015", "-1234567.891")] == [
        "$0.00",
        "$0.00",
        "$0.02",
        "-$1,234,567.89",
    ]
    assert [signed_usd(Decimal(x)) for x in ("3", "-3", "0")] == ["+$3.00", "-$3.00", "$0.00"]
