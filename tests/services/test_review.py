"""``services.review``: monthly cost deltas of a change and the verdicts of the base's policies."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from domain.errors import ConfigError, InputError
from domain.money import round_cents
from services.deps import Deps
from services.registry import call_tool
from services.review import review
from services.review_models import ReviewRequest, ReviewResult
from services.settings import load_settings
from tests.services.review_helpers import (
    EMBEDDING_PATCH,
    GPU,
    INFERENCE,
    RAI,
    ROOT,
    branch,
    llm_log,
    sample_checkout,
)
from tools.model_choice import DAYS_PER_MONTH
from warehouse.prices import find_price

# configured node prices (no bill in the workspace): USD per vCPU-hour and per GiB-hour
CPU, GIB = Decimal("0.031611"), Decimal("0.004237")


@pytest.fixture
def checkout(tmp_path: Path, workspace: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    repo = sample_checkout(tmp_path / "gitops")
    workspace.mkdir(parents=True, exist_ok=True)
    monkeypatch.setenv("COSTPILOT_FORGE", "local")
    monkeypatch.setenv("COSTPILOT_GITOPS_REPO", str(repo))
    return repo


@pytest.fixture
def deps(checkout: Path, workspace: Path) -> Iterator[Deps]:
    d = Deps(load_settings(workspace))
    yield d
    d.close()


def run(deps: Deps, head: str, **kw: object) -> ReviewResult:
    return review(ReviewRequest(base="main", head=head, **kw), deps)  # type: ignore[arg-type]


def test_seed_policies_block_an_added_8_gpu_inference_deployment(checkout: Path, deps: Deps) -> None:
    head = branch(checkout, "llm", {"base/ml-platform/llm-serving.yaml": INFERENCE})
    result = run(deps, head)
    assert result.verdict == "block"
    fails = sorted((r.rule_id, r.message) for r in result.report.failures)
    assert fails == [
        (GPU, "Container model requests 8 GPUs; the maximum is 4 per container"),
        (RAI, "AI inference deployments must have ai-alignment-status annotation"),
        (RAI, "AI inference deployments must have responsible-ai-compliance label"),
    ]
    (row,) = result.workloads
    assert (row.workload, row.change, row.gpus_unpriced) == (
        "ml-platform-prod/Deployment/llm-serving",
        "added",
        True,
    )
    # 2 pods × (8 cores × CPU + 64 GiB × GIB) × 730 h; the GPUs have no price yet
    assert row.monthly_after == round_cents(2 * (8 * CPU + 64 * GIB) * 730)
    assert any("GPUs are not priced" in n for n in result.notes)
    priced = run(deps, head, usd_per_gpu_hour=Decimal("2.5"))
    assert priced.workloads[0].monthly_after == round_cents(
        2 * (8 * CPU + 64 * GIB + 8 * Decimal("2.5")) * 730
    )
    assert not priced.workloads[0].gpus_unpriced


def test_a_policy_on_the_base_still_applies_when_the_head_deletes_it(checkout: Path, deps: Deps) -> None:
    head = branch(checkout, "sneaky", {GPU: None, "base/ml-platform/llm-serving.yaml": INFERENCE})
    result = run(deps, head)
    assert GPU in result.changed_files
    assert f"the change edits {GPU}: policies apply once merged; this review used the base's" in result.notes
    assert "Container model requests 8 GPUs; the maximum is 4 per container" in {
        r.message for r in result.report.failures if r.rule_id == GPU
    }
    assert result.blocked


def test_a_comment_only_change_costs_exactly_zero_and_passes(checkout: Path, deps: Deps) -> None:
    head = branch(
        checkout, "comment", {EMBEDDING_PATCH: lambda t: t.replace("# batch size 64", "# batch 64 (ok)")}
    )
    result = run(deps, head)
    assert result.changed_files == [EMBEDDING_PATCH]
    assert result.workloads == [] and result.models == []
    assert result.monthly_delta == Decimal(0) and str(result.monthly_delta) == "0"
    assert result.verdict == "pass" and result.report.passed


def test_raising_replicas_2_to_4_doubles_the_workload_s_monthly_cost(checkout: Path, deps: Deps) -> None:
    head = branch(checkout, "scale", {EMBEDDING_PATCH: lambda t: t.replace("replicas: 2", "replicas: 4")})
    result = run(deps, head)
    (row,) = result.workloads
    assert row.workload == "ml-platform-prod/Deployment/embedding-worker"
    assert row.details == ["replicas 2 → replicas 4"]
    # 1500m CPU and 2Gi per pod (the prod patch), 730 h a month
    assert row.monthly_before == round_cents(2 * (Decimal("1.5") * CPU + 2 * GIB) * 730)
    assert row.monthly_after == 2 * row.monthly_before
    assert result.monthly_delta == row.monthly_before
    assert result.verdict == "pass"


def test_hpa_min_replicas_is_the_pod_count_of_an_autoscaled_workload(checkout: Path, deps: Deps) -> None:
    hpa = "overlays/prod/search/hpa.yaml"
    text = (checkout / hpa).read_text()
    assert text.count("minReplicas: 2") == 2  # search-api, then search-ranker
    head = branch(checkout, "hpa", {hpa: lambda t: t.replace("minReplicas: 2", "minReplicas: 5", 1)})
    (row,) = run(deps, head).workloads
    assert row.workload == "search-prod/Deployment/search-api"
    assert (row.pods_before, row.pods_after) == ("HPA minReplicas 2", "HPA minReplicas 5")
    # the app (500m, 1Gi) and its native sidecar (50m, 96Mi) per pod
    per_pod = (Decimal("0.55") * CPU + (1 + Decimal(96) / 1024) * GIB) * 730
    assert (row.monthly_before, row.monthly_after) == (round_cents(2 * per_pod), round_cents(5 * per_pod))


def test_a_model_routing_change_is_priced_from_the_feature_s_token_volumes(
    checkout: Path, workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COSTPILOT_AS_OF", "2026-11-23")
    deps = Deps(load_settings(workspace))
    log = llm_log(tmp_path / "llm.jsonl", "search-summary", "gpt-4o", "2026-11-20")
    call_tool("ingest_llm_usage", {"paths": [str(log)]}, deps)
    head = branch(
        checkout,
        "route",
        {
            "ai/routing.yaml": lambda t: t.replace(
                "search-summary: {model: gpt-4o,", "search-summary: {model: gpt-4o-mini,"
            )
        },
    )
    result = run(deps, head)
    deps.close()
    assert result.workloads == []
    (row,) = result.models
    assert (row.feature, row.model_before, row.model_after, row.requests) == (
        "search-summary",
        "gpt-4o",
        "gpt-4o-mini",
        3,
    )
    assert row.tokens["prompt"] == 300_000 and row.tokens["completion"] == 30_000

    def monthly(model: str) -> Decimal:
        price = find_price(model)
        assert price is not None
        window = 300_000 * price.input_cost_per_token + 30_000 * price.output_cost_per_token
        return round_cents(window * DAYS_PER_MONTH / 30)

    assert (row.monthly_before, row.monthly_after) == (monthly("gpt-4o"), monthly("gpt-4o-mini"))
    assert row.monthly_delta < 0 and result.monthly_delta == row.monthly_delta
    assert {m.model for m in result.prices.models} == {"gpt-4o", "gpt-4o-mini"}


def test_a_broken_policy_on_the_base_is_a_config_error_naming_it(checkout: Path, deps: Deps) -> None:
    printed = (ROOT / "tests" / "fixtures" / "rego" / "gpu-limits-as-printed.rego").read_text()
    (checkout / GPU).write_text(printed)
    from tests.services.review_helpers import git

    git(checkout, "commit", "-q", "-am", "the GPU policy as printed")
    head = branch(checkout, "any", {EMBEDDING_PATCH: lambda t: t.replace("replicas: 2", "replicas: 3")})
    with pytest.raises(ConfigError, match=r"^\.costpilot/policies/gpu-limits\.rego:12: calls re_match\(\)"):
        run(deps, head)


def test_an_unknown_ref_is_one_input_error(deps: Deps) -> None:
    with pytest.raises(InputError, match=r"^--head 'nope': not a commit of the GitOps checkout"):
        run(deps, "nope")


AGENT = """apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: node-agent
  namespace: monitoring
spec:
  selector:
    matchLabels: {app: node-agent}
  template:
    metadata:
      labels: {app: node-agent}
    spec:
      containers:
        - name: agent
          image: registry.acme.example/node-agent:2.0.0
          resources:
            requests: {cpu: 200m, memory: 256Mi}
---
apiVersion: batch/v1
kind: CronJob
metadata:
  name: nightly-report
  namespace: data-platform-prod
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      activeDeadlineSeconds: 1800
      parallelism: 2
      template:
        spec:
          restartPolicy: Never
          containers:
            - name: report
              image: registry.acme.example/report:1.0.0
              resources:
                requests: {cpu: "2", memory: 4Gi}
"""


def test_daemonsets_cost_per_node_and_cronjobs_by_their_schedule(checkout: Path, deps: Deps) -> None:
    head = branch(checkout, "batch", {"platform/agents.yaml": AGENT})
    rows = {r.workload: r for r in run(deps, head, daemonset_nodes=3).workloads}
    agent, report = rows["monitoring/DaemonSet/node-agent"], rows["data-platform-prod/CronJob/nightly-report"]
    assert agent.pods_after == "DaemonSet × 3 node(s)"
    assert agent.monthly_after == round_cents(3 * (Decimal("0.2") * CPU + Decimal("0.25") * GIB) * 730)
    # 365/12 runs a month × 0.5 h × 2 pods, at 2 cores and 4 GiB a pod
    assert (
        report.pods_after.startswith("30.41666")
        and "0.5 h (activeDeadlineSeconds) × 2 pod(s)" in report.pods_after
    )
    assert report.monthly_after == round_cents(Decimal(365) / 12 * Decimal("0.5") * 2 * (2 * CPU + 4 * GIB))
