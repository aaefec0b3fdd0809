"""Policy faults and checks that cannot run fail closed (issue 14 item 9): no schema is never
"0 documents valid", an unserved built-in API version is an error, a CRD is reported unchecked."""

from __future__ import annotations

from pathlib import Path

import pytest

from domain.errors import InputError
from guardrails import validate
from guardrails.k8s_schema import validate_object
from tests.guardrails.helpers import context, make_change, rightsize

PROD_PATCH = "overlays/prod/patches/api.yaml"


def _sub(old: str, new: str):  # type: ignore[no-untyped-def]
    return lambda text: text.replace(old, new, 1)


def test_no_schema_for_the_version_fails_closed(repo: Path) -> None:
    ctx = context(repo)
    # A policy object built without validation (as a stale in-memory policy could be).
    stale = ctx.policy.model_copy(update={"kubernetes_version": "1.24"})
    change = make_change(
        repo, {PROD_PATCH: _sub('cpu: "2"', "cpu: 1900m")}, [rightsize("shop-prod", "api", {})]
    )
    report = validate(change, context(repo, policy=stale))
    [result] = [r for r in report.results if r.rule_id == "k8s-schema"]
    assert result.verdict.value == "fail"
    assert result.message.startswith(
        "could not evaluate: no bundled Kubernetes schema for version 1.24 (available: 1.25–"
    )
    assert not report.passed
    with pytest.raises(InputError, match="no bundled Kubernetes schema for version 1.2"):
        validate_object({"apiVersion": "v1", "kind": "Service"}, "1.2")


def test_a_built_in_api_version_kubernetes_no_longer_serves_is_an_error() -> None:
    old = {"apiVersion": "apps/v1beta1", "kind": "Deployment", "metadata": {"name": "a"}}
    assert validate_object(old, "1.37") == [
        "<root>: apps/v1beta1 Deployment is not served by Kubernetes 1.37"
    ]
    typo = {"apiVersion": "apps/v1", "kind": "Deploymnet", "metadata": {"name": "a"}}
    assert validate_object(typo, "1.37") == ["<root>: apps/v1 Deploymnet is not served by Kubernetes 1.37"]
    crd = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "metadata": {"name": "a"}}
    assert validate_object(crd, "1.37") == []  # a CRD has no bundled schema: reported unchecked
    kustomization = {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization"}
    assert validate_object(kustomization, "1.37") == []


def test_a_change_to_an_unserved_api_version_is_blocked(repo: Path) -> None:
    change = make_change(
        repo,
        {PROD_PATCH: lambda t: t.replace("apps/v1", "apps/v1beta2", 1).replace('cpu: "2"', "cpu: 1900m", 1)},
        [rightsize("shop-prod", "api", {})],
    )
    report = validate(change, context(repo))
    messages = [r.message for r in report.failures if r.rule_id == "k8s-schema"]
    assert messages == [
        f"{PROD_PATCH} document #0: <root>: apps/v1beta2 Deployment is not served by Kubernetes 1.37"
    ]
