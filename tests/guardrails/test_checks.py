"""The building blocks: secret scanning, offline Kubernetes schemas, model prices."""

from __future__ import annotations

from decimal import Decimal

import pytest

from guardrails.k8s_schema import has_schema, validate_object, warm_up
from guardrails.policy import SecretsPolicy
from guardrails.prices import price_of
from guardrails.secrets import entropy, scan_diff

POLICY = SecretsPolicy()


def diff_adding(*lines: str) -> str:
    body = "".join(f"+{line}\n" for line in lines)
    return f"--- a/x.yaml\n+++ b/x.yaml\n@@ -1,1 +1,{len(lines) + 1} @@\n kind: Deployment\n{body}"


@pytest.mark.parametrize(
    "line",
    [
        "              cpu: 250m",
        "              memory: 1536Mi",
        '          image: "registry.example/api@sha256:' + "ab12" * 16 + '"',
        "    app.kubernetes.io/part-of: checkout-platform-services",
        '    downscaler/uptime: "Mon-Fri 08:00-19:00 UTC"',
        "  search-summary: {model: gpt-4o-mini, min_tier: 2, min_context: 16000, team: search}",
        "    password: ${DB_PASSWORD}",
    ],
)
def test_ordinary_manifest_lines_are_not_secrets(line: str) -> None:
    assert scan_diff(diff_adding(line), POLICY) == []


@pytest.mark.parametrize(
    ("line", "kind"),
    [
        ("    aws: AKIAIOSFODNN7EXAMPLE", "aws-access-key-id"),
        ("    token: xoxb-123456789012-abcdefghijkl", "slack-token"),
        ("    key: sk-proj-abcdefghijklmnopqrstuvwx", "openai-key"),
        ("    password: hunter2hunter2", "password-assignment"),
        ("    blob: q8Zx3LmP0vT7rW2nKs9YbHf4Jd6Gc1Ea", "high-entropy-string"),
    ],
)
def test_secret_shapes_are_found_and_redacted(line: str, kind: str) -> None:
    [hit] = scan_diff(diff_adding(line), POLICY)
    assert (hit.file, hit.line, hit.kind) == ("x.yaml", 2, kind)
    secret = line.split(": ", 1)[1]
    assert secret not in hit.preview
    assert "…(" in hit.preview and hit.preview.endswith(" chars)")


def test_removed_lines_and_allow_patterns_are_not_flagged() -> None:
    removed = (
        "--- a/x.yaml\n+++ b/x.yaml\n@@ -1,2 +1,1 @@\n-    aws: AKIAIOSFODNN7EXAMPLE\n kind: Deployment\n"
    )
    assert scan_diff(removed, POLICY) == []
    allow = SecretsPolicy(allow_patterns=["EXAMPLE"])
    assert scan_diff(diff_adding("    aws: AKIAIOSFODNN7EXAMPLE"), allow) == []
    assert entropy("aaaa") == 0.0 and entropy("abcd") == 2.0


DEPLOYMENT = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "api"},
    "spec": {
        "selector": {"matchLabels": {"app": "api"}},
        "template": {
            "metadata": {"labels": {"app": "api"}},
            "spec": {
                "containers": [{"name": "api", "image": "x", "resources": {"requests": {"cpu": "250m"}}}]
            },
        },
    },
}


def test_kubernetes_schema_offline() -> None:
    assert warm_up("1.31") == 12
    assert validate_object(DEPLOYMENT, "1.31") == []
    typo = {**DEPLOYMENT, "spec": {**DEPLOYMENT["spec"], "replica": 3}}
    assert validate_object(typo, "1.31") == [
        "spec: Additional properties are not allowed ('replica' was unexpected)"
    ]
    wrong = {**DEPLOYMENT, "spec": {**DEPLOYMENT["spec"], "replicas": "three"}}
    assert validate_object(wrong, "1.31")[0].startswith("spec.replicas: 'three' is not of type")
    patch = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "api"},
        "spec": {"replicas": 2},
    }
    assert validate_object(patch, "1.31", partial=True) == []
    assert validate_object(patch, "1.31") == [
        "spec: 'selector' is a required property",
        "spec: 'template' is a required property",
    ]
    bad_qty = {
        **patch,
        "spec": {
            "template": {"spec": {"containers": [{"name": "a", "resources": {"limits": {"memory": "lots"}}}]}}
        },
    }
    assert validate_object(bad_qty, "1.31", partial=True) == [
        "spec.template.spec.containers[0].resources.limits.memory: 'lots' is not a Kubernetes quantity"
    ]
    crd = {"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject", "metadata": {"name": "x"}}
    assert not has_schema(crd, "1.31") and validate_object(crd, "1.31") == []


def test_model_prices_come_from_the_table() -> None:
    mini, big = price_of("gpt-4o-mini"), price_of("gpt-4o")
    assert mini is not None and big is not None
    assert mini.input == Decimal("0.00000015") and big.output == Decimal("0.00001")
    assert price_of("openai/gpt-4o-mini") == mini
    assert price_of("no-such-model") is None
