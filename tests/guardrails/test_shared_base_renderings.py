"""Issue #14 item 4: a change to a kustomize base that another environment also renders is checked
against that environment's own evidence (above-observed-peak per rendering)."""

from __future__ import annotations

from pathlib import Path

from domain.changes import GuardrailReport, GuardrailResult, PlannedChange, Verdict
from guardrails import validate
from guardrails.context import container_key
from tests.guardrails.helpers import MI, _deployment, context, make_change, rightsize, write_repo

BASE = "base/api.yaml"
KUSTOMIZE = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
FILES = {
    "base/kustomization.yaml": KUSTOMIZE + "resources:\n  - api.yaml\n",
    BASE: _deployment("api", "600m", "1400Mi"),
    "overlays/dev/kustomization.yaml": KUSTOMIZE + "namespace: shop-dev\nresources:\n  - ../../base\n",
    "overlays/staging/kustomization.yaml": KUSTOMIZE
    + "namespace: shop-staging\nresources:\n  - ../../base\n",
}
# Dev barely uses the workload; staging runs load tests on it.
DEV_EVIDENCE = {"cpu_p95": "0.005", "memory_peak": 300 * MI, "days": 14, "samples": 4032, "coverage": 0.98}
STAGING_USAGE = {"cpu_p95": "0.542", "memory_peak": 1272 * MI, "days": 14, "samples": 4032}


def _lower_base(text: str) -> str:
    """Dev's right-sizing as written into the shared base: 10m CPU, 441Mi memory."""
    return text.replace("cpu: 600m", "cpu: 10m", 1).replace("memory: 1400Mi", "memory: 441Mi")


def _dev_change(repo: Path) -> PlannedChange:
    finding = rightsize("shop-dev", "api", {"cpu_request": "0.01", "memory_request": 441 * MI}, DEV_EVIDENCE)
    return make_change(repo, {BASE: _lower_base}, [finding])


def _peak(report: GuardrailReport) -> list[GuardrailResult]:
    return [r for r in report.results if r.rule_id == "above-observed-peak"]


def test_shared_base_lowering_staging_below_its_peak_is_blocked_naming_staging(tmp_path: Path) -> None:
    repo = write_repo(tmp_path / "gitops", FILES)
    usage = {container_key("shop-staging", "Deployment", "api", "api"): STAGING_USAGE}
    report = validate(_dev_change(repo), context(repo, usage=usage, rules=["above-observed-peak"]))
    assert not report.passed
    failures = [r.message for r in report.failures if r.rule_id == "above-observed-peak"]
    # Dev's own evidence allows the change; staging's does not, for CPU and memory alike.
    assert failures == [
        "overlays/staging (shop-staging): Deployment/api container api cpu request 10m is below "
        "observed p95 usage 542m × 1.0 in shop-staging",
        "overlays/staging (shop-staging): Deployment/api container api memory request 441.0Mi is "
        "below observed peak working set 1272.0Mi × 1.0 in shop-staging",
        "overlays/staging (shop-staging): Deployment/api container api memory limit 441.0Mi is "
        "below observed peak working set 1272.0Mi × 1.0 in shop-staging",
    ]
    dev = [r for r in _peak(report) if "shop-staging" not in r.message]
    assert dev and all(r.verdict is Verdict.passed for r in dev)
    assert report.failures[0].evidence["namespace"] == "shop-staging"


def test_staging_with_enough_headroom_passes(tmp_path: Path) -> None:
    repo = write_repo(tmp_path / "gitops", FILES)
    quiet = {"cpu_p95": "0.004", "memory_peak": 200 * MI}
    usage = {container_key("shop-staging", "Deployment", "api", "api"): quiet}
    report = validate(_dev_change(repo), context(repo, usage=usage, rules=["above-observed-peak"]))
    staging = [r for r in _peak(report) if "shop-staging" in r.message]
    assert len(staging) == 3 and all(r.verdict is Verdict.passed for r in staging)
    assert "cpu request 10m ≥ p95 usage 4m × 1.0 in shop-staging" in staging[0].message


def test_staging_without_usage_data_fails_closed(tmp_path: Path) -> None:
    repo = write_repo(tmp_path / "gitops", FILES)
    report = validate(_dev_change(repo), context(repo, usage={}, rules=["above-observed-peak"]))
    messages = [r.message for r in report.failures]
    assert (
        "overlays/staging (shop-staging): Deployment/api container api cpu request: lowered to 10m with no observed p95 usage for shop-staging"
        in messages
    )


def test_no_usage_source_is_a_warning_not_silence(tmp_path: Path) -> None:
    repo = write_repo(tmp_path / "gitops", FILES)
    report = validate(_dev_change(repo), context(repo, rules=["above-observed-peak"]))
    warned = [r for r in _peak(report) if r.verdict is Verdict.warn]
    assert len(warned) == 3 and all("not checked: no usage data given" in r.message for r in warned)


def test_an_overlay_that_overrides_the_field_is_not_affected(tmp_path: Path) -> None:
    patch = (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api\nspec:\n  template:\n    spec:\n"
        "      containers:\n        - name: api\n          resources:\n            requests:\n"
        "              cpu: 900m\n              memory: 1500Mi\n            limits:\n              memory: 1500Mi\n"
    )
    files = {
        **FILES,
        "overlays/staging/kustomization.yaml": KUSTOMIZE
        + "namespace: shop-staging\nresources:\n  - ../../base\npatches:\n  - path: api.yaml\n",
        "overlays/staging/api.yaml": patch,
    }
    repo = write_repo(tmp_path / "gitops", files)
    usage = {container_key("shop-staging", "Deployment", "api", "api"): STAGING_USAGE}
    report = validate(_dev_change(repo), context(repo, usage=usage, rules=["above-observed-peak"]))
    assert report.passed
    assert not [r for r in _peak(report) if "shop-staging" in r.message]
