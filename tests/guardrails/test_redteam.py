"""Red team: unsafe proposals must be blocked by the RIGHT rule id; safe ones must pass."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from domain.changes import PlannedChange
from domain.findings import Finding, FindingKind
from gitops.yaml_patch import FieldEdit, set_fields
from guardrails import ValidationContext, load_policy, policy_from_dict, validate
from playbooks import load_playbooks, plan, validate_change
from tests.guardrails.helpers import (
    GI,
    MI,
    NOW,
    context,
    failed_rules,
    idle,
    make_change,
    model_finding,
    rightsize,
)

Case = Callable[[Path], tuple[PlannedChange, ValidationContext]]
PATCH = "overlays/prod/patches/api.yaml"
PEAKY = {"cpu_p95": "1.8", "memory_peak": int(3.8 * GI), "days": 14, "samples": 4032, "coverage": 0.97}
CALM = {**PEAKY, "memory_peak": 3 * GI}


def sub(*pairs: str) -> Callable[[str], str]:
    """Replace each (old, new) pair once; the old text must be there."""

    def edit(text: str) -> str:
        for old, new in zip(pairs[::2], pairs[1::2], strict=True):
            assert old in text, old
            text = text.replace(old, new, 1)
        return text

    return edit


def fields(doc: int, **paths: Any) -> Callable[[str], str]:
    return lambda text: set_fields(text, [FieldEdit(doc, p.replace("__", "."), v) for p, v in paths.items()])


def prod_api(evidence: dict[str, Any] | None = None, now: str = "100", after: str = "60") -> Finding:
    return rightsize(
        "shop-prod", "api", {"cpu_request": "1.5"}, PEAKY if evidence is None else evidence, now, after
    )


def with_policy(repo: Path, **overrides: Any) -> ValidationContext:
    return context(repo, policy=policy_from_dict(overrides))


def annotate(key: str, value: str) -> Callable[[str], str]:
    return lambda text: set_fields(text, [FieldEdit(0, f'metadata.annotations["{key}"]', value)])


UNSAFE: dict[str, tuple[Case, str]] = {
    "memory below observed peak": (
        lambda r: (
            make_change(
                r, {PATCH: sub("memory: 4Gi", "memory: 3Gi", "memory: 4Gi", "memory: 3Gi")}, [prod_api()]
            ),
            context(r),
        ),
        "above-observed-peak",
    ),
    "cpu below p95": (
        lambda r: (make_change(r, {PATCH: sub('cpu: "2"', "cpu: 1500m")}, [prod_api()]), context(r)),
        "above-observed-peak",
    ),
    "cut deeper than the step limit": (
        lambda r: (
            make_change(r, {PATCH: sub('cpu: "2"', "cpu: 200m")}, [prod_api({**PEAKY, "cpu_p95": "0.1"})]),
            context(r),
        ),
        "max-change-per-step",
    ),
    "raise beyond the step limit": (
        lambda r: (
            make_change(
                r,
                {PATCH: sub("memory: 4Gi", "memory: 16Gi", "memory: 4Gi", "memory: 16Gi")},
                [prod_api()],
                reason="OOM kills",
                now=Decimal(100),
                after=Decimal(300),
            ),
            context(r),
        ),
        "max-change-per-step",
    ),
    "prod replicas below minimum": (
        lambda r: (
            make_change(
                r,
                {"overlays/prod/patches/batch.yaml": sub("replicas: 3", "replicas: 1")},
                [idle("shop-prod", "batch", {"replicas": 1})],
                "scale-idle-nonprod",
            ),
            context(r),
        ),
        "prod-min-replicas",
    ),
    "replicas at PDB minAvailable": (
        lambda r: (
            make_change(
                r,
                {"overlays/prod/patches/batch.yaml": sub("replicas: 3", "replicas: 2")},
                [idle("shop-prod", "batch", {"replicas": 2})],
                "scale-idle-nonprod",
            ),
            context(r),
        ),
        "pdb-min-available",
    ),
    "scale to zero in kube-system": (
        lambda r: (
            make_change(
                r,
                {"system/metrics.yaml": sub("replicas: 1", "replicas: 0")},
                [idle("kube-system", "metrics")],
                "scale-idle-nonprod",
            ),
            context(r),
        ),
        "no-scale-to-zero-protected",
    ),
    "scale to zero in production": (
        lambda r: (
            make_change(
                r,
                {"overlays/prod/patches/batch.yaml": sub("replicas: 3", "replicas: 0")},
                [idle("shop-prod", "batch")],
                "scale-idle-nonprod",
            ),
            context(r),
        ),
        "no-scale-to-zero-protected",
    ),
    "off-hours scale to zero in kube-system": (
        lambda r: (
            make_change(
                r,
                {"system/metrics.yaml": annotate("downscaler/uptime", "Mon-Fri 08:00-19:00 UTC")},
                [idle("kube-system", "metrics")],
                "scale-idle-nonprod",
            ),
            context(r),
        ),
        "no-scale-to-zero-protected",
    ),
    "opted-out workload right-sized": (
        lambda r: (
            make_change(
                r,
                {"base/legacy.yaml": sub("cpu: 250m", "cpu: 200m")},
                [rightsize("shop-dev", "legacy", {"cpu_request": "0.2"})],
            ),
            context(r),
        ),
        "opt-out",
    ),
    "opted-out workload scaled to zero": (
        lambda r: (
            make_change(
                r,
                {"base/legacy.yaml": sub("replicas: 1", "replicas: 0")},
                [idle("shop-dev", "legacy")],
                "scale-idle-nonprod",
            ),
            context(r),
        ),
        "opt-out",
    ),
    "inside a freeze window": (
        lambda r: (
            make_change(r, {PATCH: sub('cpu: "2"', "cpu: 1900m")}, [prod_api()]),
            with_policy(
                r,
                freeze={
                    "windows": [
                        {"start": "2026-11-20T00:00:00Z", "end": "2026-11-30T00:00:00Z", "reason": "peak"}
                    ]
                },
            ),
        ),
        "change-freeze",
    ),
    "weekly freeze": (
        lambda r: (
            make_change(r, {PATCH: sub('cpu: "2"', "cpu: 1900m")}, [prod_api()]),
            with_policy(r, freeze={"weekly": [{"days": ["mon"], "start": "09:00", "end": "18:00"}]}),
        ),
        "change-freeze",
    ),
    "replicas on an HPA-managed workload": (
        lambda r: (
            make_change(
                r,
                {"base/web.yaml": sub("replicas: 1", "replicas: 0")},
                [idle("shop-dev", "web")],
                "scale-idle-nonprod",
            ),
            context(r),
        ),
        "hpa-min-replicas-only",
    ),
    "diff touches the image": (
        lambda r: (
            make_change(
                r,
                {"base/api.yaml": sub("api:1.0.0", "api:6.6.6", "cpu: 500m", "cpu: 450m")},
                [rightsize("shop-prod", "api", {"cpu_request": "0.45"})],
            ),
            context(r),
        ),
        "declared-fields-only",
    ),
    "diff touches env": (
        lambda r: (
            make_change(
                r,
                {"base/api.yaml": sub("value: info", "value: debug")},
                [rightsize("shop-prod", "api", {"cpu_request": "0.45"})],
            ),
            context(r),
        ),
        "declared-fields-only",
    ),
    "diff adds a container": (
        lambda r: (
            make_change(
                r,
                {PATCH: lambda t: t + "        - name: miner\n          image: evil/miner:1\n"},
                [prod_api()],
            ),
            context(r),
        ),
        "declared-fields-only",
    ),
    "diff drops a review comment": (
        lambda r: (
            make_change(
                r, {PATCH: sub("  # sized for the holiday peak", "", 'cpu: "2"', "cpu: 1900m")}, [prod_api()]
            ),
            context(r),
        ),
        "declared-fields-only",
    ),
    "AWS key in the diff": (
        lambda r: (
            make_change(r, {PATCH: annotate("note", "AKIAIOSFODNN7EXAMPLE")}, [prod_api()]),
            context(r),
        ),
        "no-secrets",
    ),
    "GitHub token in the diff": (
        lambda r: (
            make_change(
                r, {PATCH: annotate("ci", "ghp_" + "aB3dE6gH9jK2mN5pQ8sT1vW4yZ7bC0eF3hJ6")}, [prod_api()]
            ),
            context(r),
        ),
        "no-secrets",
    ),
    "high-entropy string in the diff": (
        lambda r: (
            make_change(r, {PATCH: annotate("blob", "q8Zx3LmP0vT7rW2nKs9YbHf4Jd6Gc1Ea")}, [prod_api()]),
            context(r),
        ),
        "no-secrets",
    ),
    "private key in the diff": (
        lambda r: (
            make_change(r, {PATCH: lambda t: t + "# -----BEGIN RSA PRIVATE KEY-----\n"}, [prod_api()]),
            context(r),
        ),
        "no-secrets",
    ),
    "target path escapes with ../": (
        lambda r: (make_change(r, {"../outside.yaml": "a: 1\n"}, [prod_api()]), context(r)),
        "path-inside-repo",
    ),
    "absolute target path": (
        lambda r: (make_change(r, {"/tmp/costpilot-evil.yaml": "a: 1\n"}, [prod_api()]), context(r)),
        "path-inside-repo",
    ),
    "symlink escaping the repo": (
        lambda r: (_symlink(r), make_change(r, {"link.yaml": "a: 1\n"}, [prod_api()]), context(r))[1:],
        "path-inside-repo",
    ),
    "YAML alias bomb": (
        lambda r: (make_change(r, {PATCH: lambda t: t + _BOMB}, [prod_api()]), context(r)),
        "yaml-safe",
    ),
    "YAML anchor and merge key": (
        lambda r: (
            make_change(r, {PATCH: sub("metadata:\n  name: api", "metadata: &m\n  name: api")}, [prod_api()]),
            context(r),
        ),
        "yaml-safe",
    ),
    "model not on the allow-list": (
        lambda r: (
            make_change(
                r,
                {"ai/routing.yaml": sub("summary: {model: gpt-4o,", "summary: {model: gpt-3.5-turbo,")},
                [model_finding("summary", "gpt-4o", "gpt-3.5-turbo")],
                "cheaper-model",
            ),
            context(r),
        ),
        "model-allow-list",
    ),
    "pricier model": (
        lambda r: (
            make_change(
                r,
                {"ai/routing.yaml": sub("tagging: {model: gpt-4o-mini,", "tagging: {model: gpt-4o,")},
                [model_finding("tagging", "gpt-4o-mini", "gpt-4o")],
                "cheaper-model",
            ),
            context(r),
        ),
        "model-cheaper",
    ),
    "context window too small": (
        lambda r: (
            make_change(
                r,
                {"ai/routing.yaml": sub("long-docs: {model: gpt-4.1,", "long-docs: {model: gpt-4o-mini,")},
                [model_finding("long-docs", "gpt-4.1", "gpt-4o-mini")],
                "cheaper-model",
            ),
            context(r),
        ),
        "model-context-window",
    ),
    "quality tier too low": (
        lambda r: (
            make_change(
                r,
                {"ai/routing.yaml": sub("fraud: {model: gpt-4o,", "fraud: {model: gpt-4o-mini,")},
                [model_finding("fraud", "gpt-4o", "gpt-4o-mini")],
                "cheaper-model",
            ),
            context(r),
        ),
        "model-quality-tier",
    ),
    "too few days of history": (
        lambda r: (
            make_change(r, {PATCH: sub('cpu: "2"', "cpu: 1900m")}, [prod_api({**PEAKY, "days": 3})]),
            context(r),
        ),
        "enough-evidence",
    ),
    "too few samples": (
        lambda r: (
            make_change(r, {PATCH: sub('cpu: "2"', "cpu: 1900m")}, [prod_api({**PEAKY, "samples": 20})]),
            context(r),
        ),
        "enough-evidence",
    ),
    "poor sample coverage": (
        lambda r: (
            make_change(r, {PATCH: sub('cpu: "2"', "cpu: 1900m")}, [prod_api({**PEAKY, "coverage": 0.4})]),
            context(r),
        ),
        "enough-evidence",
    ),
    "cost increase without a reason": (
        lambda r: (
            make_change(
                r,
                {PATCH: sub("memory: 4Gi", "memory: 5Gi", "memory: 4Gi", "memory: 5Gi")},
                [prod_api(now="100", after="120")],
            ),
            context(r),
        ),
        "lowers-cost",
    ),
    "too many workloads in one PR": (
        lambda r: (
            make_change(
                r,
                {PATCH: sub('cpu: "2"', "cpu: 1900m")},
                [prod_api()] + [rightsize("shop-prod", f"svc{i}", {"cpu_request": "0.1"}) for i in range(5)],
            ),
            context(r),
        ),
        "blast-radius",
    ),
    "too many files in one PR": (
        lambda r: (
            make_change(
                r,
                {f"base/{n}.yaml": annotate("team", "shop") for n in ("api", "web", "batch")},
                [prod_api()],
                "rightsize-requests",
            ),
            with_policy(r, blast_radius={"max_files_per_pr": 2}),
        ),
        "blast-radius",
    ),
    "dev evidence changing a base production renders": (
        lambda r: (
            make_change(
                r,
                {"base/batch.yaml": sub("cpu: 250m", "cpu: 200m")},
                [rightsize("shop-dev", "batch", {"cpu_request": "0.2"})],
            ),
            context(r),
        ),
        "blast-radius",
    ),
    "inside the cooldown": (
        lambda r: (
            make_change(r, {PATCH: sub('cpu: "2"', "cpu: 1900m")}, [prod_api()]),
            context(r, last_change={"shop-prod/Deployment/api": NOW - timedelta(hours=5)}),
        ),
        "cooldown",
    ),
    "request above limit": (
        lambda r: (
            make_change(
                r,
                {"base/api.yaml": sub("cpu: 500m", "cpu: 1500m")},
                [rightsize("shop-prod", "api", {"cpu_request": "1.5"})],
                reason="throttling",
                now=Decimal(100),
                after=Decimal(130),
            ),
            context(r),
        ),
        "requests-within-limits",
    ),
    "limit/request ratio too wide": (
        lambda r: (
            make_change(
                r,
                {"base/api.yaml": sub("memory: 1Gi", "memory: 200Mi")},
                [
                    rightsize(
                        "shop-prod", "api", {"memory_request": 200 * MI}, {**PEAKY, "memory_peak": 150 * MI}
                    )
                ],
            ),
            context(r),
        ),
        "limit-request-ratio",
    ),
    "schema-invalid replicas": (
        lambda r: (
            make_change(
                r,
                {"overlays/prod/patches/batch.yaml": sub("replicas: 3", "replicas: three")},
                [idle("shop-prod", "batch", {"replicas": 3})],
                "scale-idle-nonprod",
            ),
            context(r),
        ),
        "k8s-schema",
    ),
    "not a quantity": (
        lambda r: (make_change(r, {PATCH: sub('cpu: "2"', "cpu: lots")}, [prod_api()]), context(r)),
        "k8s-schema",
    ),
    "patch does not parse": (
        lambda r: (make_change(r, {PATCH: lambda t: t + "  broken: [unclosed\n"}, [prod_api()]), context(r)),
        "patch-parses",
    ),
    "document removed": (
        lambda r: (make_change(r, {"base/api.yaml": lambda t: t.split("---")[0]}, [prod_api()]), context(r)),
        "patch-parses",
    ),
    "undeclared routing field": (
        lambda r: (
            make_change(
                r,
                {
                    "ai/routing.yaml": sub(
                        "summary: {model: gpt-4o, min_tier: 2", "summary: {model: gpt-4o-mini, min_tier: 1"
                    )
                },
                [model_finding("summary", "gpt-4o", "gpt-4o-mini")],
                "cheaper-model",
            ),
            context(r),
        ),
        "declared-fields-only",
    ),
    "kustomization edit drops an existing patch": (
        lambda r: (
            make_change(
                r,
                {"overlays/prod/kustomization.yaml": sub("  - path: patches/batch.yaml\n", "")},
                [prod_api()],
            ),
            context(r),
        ),
        "declared-fields-only",
    ),
    "new overlay patch smuggles an image": (
        lambda r: (
            make_change(
                r,
                {
                    "overlays/dev/patches/costpilot-deployment-api.yaml": _NEW_PATCH
                    + "          image: evil/miner:1\n",
                    "overlays/dev/kustomization.yaml": lambda t: (
                        t + "  - path: patches/costpilot-deployment-api.yaml\n"
                    ),
                },
                [rightsize("shop-dev", "api", {"cpu_request": "0.4"}, {**PEAKY, "cpu_p95": "0.3"})],
            ),
            context(r),
        ),
        "declared-fields-only",
    ),
    "sibling workload in a production-rendered file scaled to zero": (
        lambda r: (
            make_change(
                r,
                {"base/batch.yaml": sub("replicas: 1", "replicas: 0")},
                [idle("shop-prod", "api", {"replicas": 2})],
                "scale-idle-nonprod",
            ),
            context(r),
        ),
        "no-scale-to-zero-protected",
    ),
    "replicaCount on an autoscaled chart": (
        lambda r: (
            make_change(
                r,
                {"charts/gateway/values.yaml": sub("replicaCount: 2", "replicaCount: 3")},
                [idle("shop-prod", "gateway", {"replicas": 3})],
                "scale-idle-nonprod",
                now=Decimal(50),
                after=Decimal(40),
            ),
            context(r),
        ),
        "hpa-min-replicas-only",
    ),
}

_NEW_PATCH = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
spec:
  template:
    spec:
      containers:
        - name: api
          resources:
            requests:
              cpu: 400m
"""
_BOMB = "lol: &a [x, x, x, x, x, x, x, x, x]\nlol2: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nlol3: [*b, *b, *b, *b, *b, *b, *b, *b]\n"


def _symlink(repo: Path) -> None:
    outside = repo.parent / "outside.yaml"
    outside.write_text("a: 0\n")
    os.symlink(outside, repo / "link.yaml")


def test_red_team_has_at_least_30_unsafe_cases() -> None:
    assert len(UNSAFE) >= 30
    assert len(set(rule for _, rule in UNSAFE.values())) >= 20


@pytest.mark.parametrize("name", sorted(UNSAFE))
def test_unsafe_proposal_is_blocked_by_the_right_rule(repo: Path, name: str) -> None:
    build, rule = UNSAFE[name]
    change, ctx = build(repo)
    report = validate(change, ctx)
    assert not report.passed
    assert rule in failed_rules(report), f"{name}: failed {sorted(failed_rules(report))}, wanted {rule}"
    assert all(r.message for r in report.failures)


# --- safe proposals, planned by the real engine where possible ------------------------------


def _planned(repo: Path, findings: list[Finding], **policy: Any) -> tuple[PlannedChange, ValidationContext]:
    pol = policy_from_dict(policy) if policy else load_policy(repo)
    result = plan(findings, repo, load_playbooks(), pol)
    assert not result.skipped, result.skipped
    assert len(result.changes) == 1
    return result.changes[0], context(repo, policy=pol)


SAFE: dict[str, Case] = {
    "prod right-size in the overlay patch": lambda r: _planned(
        r, [rightsize("shop-prod", "api", {"cpu_request": "1.9", "memory_request": int(3.9 * GI)}, CALM)]
    ),
    "prod right-size in the base production renders": lambda r: _planned(
        r,
        [
            rightsize(
                "shop-prod",
                "web",
                {"cpu_request": "0.8", "memory_request": 1792 * MI, "memory_limit": 1792 * MI},
                {**PEAKY, "cpu_p95": "0.7", "memory_peak": 1500 * MI},
            )
        ],
    ),
    "cheaper allow-listed model": lambda r: _planned(r, [model_finding("summary", "gpt-4o", "gpt-4o-mini")]),
    "idle dev workload scaled in its overlay patch": lambda r: _planned(r, [idle("shop-dev", "batch")]),
    "idle HPA workload gets a lower minReplicas": lambda r: _planned(r, [idle("shop-dev", "web")]),
    "missing cost label added": lambda r: _planned(
        r,
        [
            Finding(
                kind=FindingKind.untagged,
                target={"namespace": "shop-dev", "kind": "Deployment", "workload": "api"},
                title="untagged api",
                proposed={"labels": {"team": "shop"}},
            )
        ],
    ),
    "labelled cost increase after OOM kills": lambda r: (
        make_change(
            r,
            {PATCH: sub("memory: 4Gi", "memory: 5Gi", "memory: 4Gi", "memory: 5Gi")},
            [prod_api(now="100", after="120")],
            reason="OOM kills at 4Gi",
        ),
        context(r),
    ),
    "helm values right-size in production": lambda r: _planned(
        r,
        [
            rightsize(
                "shop-prod",
                "gateway",
                {"cpu_request": "0.8"},
                {**PEAKY, "cpu_p95": "0.6", "memory_peak": 700 * MI},
            )
        ],
    ),
    "relaxed policy allows a deep cut": lambda r: _planned(
        r,
        [rightsize("shop-prod", "api", {"cpu_request": "0.4"}, {**PEAKY, "cpu_p95": "0.3"})],
        resources={"max_decrease_pct": 90, "max_limit_request_ratio": 8},
    ),
    "dev right-size in a new overlay patch": lambda r: _planned(
        r,
        [
            rightsize(
                "shop-dev",
                "batch",
                {"cpu_request": "0.3"},
                {**PEAKY, "cpu_p95": "0.2", "memory_peak": 300 * MI},
            )
        ],
    ),
    "hand-written new overlay patch listed in its kustomization": lambda r: (
        make_change(
            r,
            {
                "overlays/dev/patches/costpilot-deployment-api.yaml": _NEW_PATCH,
                "overlays/dev/kustomization.yaml": lambda t: (
                    t + "  - path: patches/costpilot-deployment-api.yaml\n"
                ),
            },
            [rightsize("shop-dev", "api", {"cpu_request": "0.4"}, {**PEAKY, "cpu_p95": "0.3"})],
        ),
        context(r),
    ),
    "cooldown elapsed": lambda r: (
        make_change(r, {PATCH: sub('cpu: "2"', "cpu: 1900m")}, [prod_api()]),
        context(r, last_change=lambda key: NOW - timedelta(days=5)),
    ),
    "freeze window in the future": lambda r: (
        make_change(r, {PATCH: sub('cpu: "2"', "cpu: 1900m")}, [prod_api()]),
        with_policy(
            r, freeze={"windows": [{"start": "2026-12-21T00:00:00Z", "end": "2027-01-04T00:00:00Z"}]}
        ),
    ),
    "request and limit set together": lambda r: _planned(
        r,
        [
            rightsize(
                "shop-prod",
                "api",
                {"cpu_request": "1.9", "memory_request": int(3.5 * GI), "memory_limit": int(3.5 * GI)},
                CALM,
            )
        ],
    ),
}


def test_red_team_has_at_least_10_safe_cases() -> None:
    assert len(SAFE) >= 10


@pytest.mark.parametrize("name", sorted(SAFE))
def test_safe_proposal_passes(repo: Path, name: str) -> None:
    change, ctx = SAFE[name](repo)
    report = validate(change, ctx)
    assert report.passed, [f"{r.rule_id}: {r.message}" for r in report.failures]
    books = load_playbooks()
    assert validate_change(change, ctx, books).passed
