"""CLI: ingest utilization → rightsize / idle / models, through the real entry point."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from utilization_factory import GI, MI, frame, series, to_table

HPA = """\
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: api, namespace: shop}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: api}
  minReplicas: 2
  maxReplicas: 6
  metrics:
    - type: Resource
      resource: {name: cpu, target: {type: Utilization, averageUtilization: 70}}
"""
DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: worker}
spec:
  template:
    spec:
      containers:
        - name: app
          resources:
            requests: {cpu: 500m, memory: 1Gi}
            limits: {memory: 2Gi}
"""
ROUTING = """\
models:
  gpt-4o: {tier: 3, context_window: 128000}
  gpt-4o-mini: {tier: 2, context_window: 128000}
features:
  search-summary: {model: gpt-4o, min_tier: 2, min_context: 16000, team: search}
"""


@pytest.fixture
def gitops(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "gitops"
    (root / "apps" / "shop").mkdir(parents=True)
    (root / "apps" / "shop" / "hpa.yaml").write_text(HPA)
    (root / "apps" / "shop" / "worker.yaml").write_text(DEPLOYMENT)
    (root / "apps" / "shop" / "kustomization.yaml").write_text(
        "namespace: shop\nresources: [hpa.yaml, worker.yaml]\n"
    )
    (root / "ai").mkdir()
    (root / "ai" / "routing.yaml").write_text(ROUTING)
    monkeypatch.setenv("COSTPILOT_GITOPS_REPO", str(root))
    return root


@pytest.fixture
def samples(tmp_path: Path) -> Path:
    n = 2 * 288
    df = frame(
        series("api-a", np.full(n, 0.2), 200 * MI, cpu_request=1.0, memory_request=float(GI)),
        series("api-b", np.full(n, 0.3), 250 * MI, cpu_request=1.0, memory_request=float(GI)),
        series("worker-a", np.full(n, 0.1), 300 * MI, workload="worker"),  # requests only in the manifest
        series(
            "tools-a",
            np.full(n, 0.001),
            100 * MI,
            namespace="tools-dev",
            workload="tools",
            cpu_request=0.5,
            memory_request=float(GI),
        ),
    )
    path = tmp_path / "util.parquet"
    pq.write_table(to_table(df), path)
    return path


def test_ingest_then_rightsize_json(run_cli, workspace: Path, gitops: Path, samples: Path) -> None:  # type: ignore[no-untyped-def]
    res = run_cli("ingest", "utilization", str(samples), "--json")
    assert res.code == 0, res.err
    assert res.json()["rows_loaded"] == 4 * 576
    res = run_cli("rightsize", "--json")
    assert res.code == 0, res.err
    doc = res.json()
    assert doc["preset"] == "krr-simple"
    assert doc["prices"]["source"] == "config"
    recs = {(r["namespace"], r["workload"]): r for r in doc["recommendations"]}
    api = recs[("shop", "api")]
    assert api["skip_reason"] == "cpu: HPA scales on cpu (allow_hpa is off)"
    assert api["recommended"] == {
        "cpu_request": None,
        "cpu_limit": None,
        "memory_request": 288 * MI,
        "memory_limit": 288 * MI,
    }  # 250Mi × 1.15
    worker = recs[("shop", "worker")]
    assert worker["current"] == {
        "cpu_request": "0.5",
        "cpu_limit": None,
        "memory_request": GI,
        "memory_limit": 2 * GI,
    }
    assert worker["recommended"]["cpu_request"] == "0.1"
    assert Decimal_str(worker["monthly_savings"]) > 0
    assert worker["severity"] == "high"
    only_ns = run_cli("rightsize", "--namespace", "tools-dev", "--preset", "vpa-like", "--json").json()
    assert [r["workload"] for r in only_ns["recommendations"]] == ["tools"]
    assert only_ns["preset"] == "vpa-like"


def Decimal_str(text: str):  # type: ignore[no-untyped-def]
    from decimal import Decimal

    return Decimal(text)


def test_rightsize_human_output_and_errors(run_cli, workspace: Path, samples: Path) -> None:  # type: ignore[no-untyped-def]
    res = run_cli("rightsize")
    assert res.code == 2 and "no warehouse yet" in res.err
    run_cli("ingest", "utilization", str(samples))
    res = run_cli("rightsize", "--preset", "nope")
    assert res.code == 2
    assert res.err.strip() == (
        "costpilot: error: rightsize: preset 'nope': Input should be 'krr-simple' or 'vpa-like'"
    )
    res = run_cli("rightsize", "--set", "cpu_percentile=101")
    assert res.code == 2 and "cpu_percentile" in res.err
    doc = run_cli("rightsize", "--set", "points_required=2000", "--json").json()
    api = next(r for r in doc["recommendations"] if r["workload"] == "api")
    assert api["skip_reason"] == (
        "cpu: not enough data (1152 < 2000 samples); memory: not enough data (1152 < 2000 samples)"
    )
    assert doc["settings"]["points_required"] == 2000
    res = run_cli("rightsize")
    assert res.code == 0 and "krr-simple: 3 containers, savings" in res.out and "tools-dev" in res.out


def test_idle_json(run_cli, workspace: Path, samples: Path) -> None:  # type: ignore[no-untyped-def]
    run_cli("ingest", "utilization", str(samples))
    doc = run_cli("idle", "--days", "2", "--json").json()
    assert [w["workload"] for w in doc["workloads"]] == ["tools"]
    assert doc["workloads"][0]["namespace"] == "tools-dev"
    from decimal import Decimal

    from domain.money import decimal_str

    assert doc["off_hours_share"] == decimal_str(Decimal(108) / Decimal(168))
    assert Decimal(doc["total_monthly_savings"]) == Decimal(doc["workloads"][0]["monthly_savings"]) > 0


def test_models_json(run_cli, workspace: Path, gitops: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    log = tmp_path / "llm.jsonl"
    records = [
        {
            "request_id": f"r{i}",
            "startTime": "2026-11-10T10:00:00Z",
            "endTime": "2026-11-10T10:00:02Z",
            "model": "gpt-4o",
            "custom_llm_provider": "openai",
            "prompt_tokens": 100_000,
            "completion_tokens": 10_000,
            "metadata": {"feature": "search-summary", "team": "search"},
        }
        for i in range(3)
    ]
    log.write_text("\n".join(json.dumps(r) for r in records) + "\n")
    assert run_cli("ingest", "llm-usage", str(log)).code == 0
    res = run_cli("models", "--days", "30", "--json")
    assert res.code == 0, res.err
    feature = res.json()["features"][0]
    assert feature["feature"] == "search-summary"
    assert feature["proposed_model"] == "gpt-4o-mini" and feature["status"] == "cheaper"
    assert feature["tokens"] == {
        "prompt": 300_000,
        "completion": 30_000,
        "cache_read": 0,
        "cache_creation": 0,
    }


def test_models_without_gitops_is_a_config_error(run_cli, workspace: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("COSTPILOT_GITOPS_REPO", raising=False)
    res = run_cli("models")
    assert res.code == 2 and "set COSTPILOT_GITOPS_REPO" in res.err


def test_rightsize_unknown_namespace_names_the_known_ones(run_cli, workspace: Path, samples: Path) -> None:  # type: ignore[no-untyped-def]
    run_cli("ingest", "utilization", str(samples))
    res = run_cli("rightsize", "--namespace", "nope")
    assert res.code == 2
    assert res.err.startswith("costpilot: error: no samples for namespace 'nope' in ")
    assert res.err.rstrip().endswith("; namespaces with samples: shop, tools-dev")
    assert "ingest utilization" not in res.err  # the data is there; the namespace is not
    res = run_cli("rightsize", "--preset", "vpa-like", "--namespace", "tools", "--json")
    assert res.code == 2 and "namespaces with samples: tools-dev, shop" in res.err  # closest first


def test_unknown_namespace_message_lists_a_few() -> None:
    from tools.rightsizing.service import unknown_namespace_message

    known = [
        "checkout-dev",
        "checkout-prod",
        "growth-dev",
        "growth-prod",
        "ml-platform-dev",
        "ml-platform-prod",
    ]
    typo = unknown_namespace_message("ml-platfrom-prod", known, "the window")
    assert typo.startswith(
        "no samples for namespace 'ml-platfrom-prod' in the window; "
        "namespaces with samples: ml-platform-prod, ml-platform-dev, "
    )
    assert typo.endswith(", … (6 in all)") and typo.count(", ") == 5  # five names, then the count
    assert unknown_namespace_message("zzz", known[:3]) == (
        "no samples for namespace 'zzz' in the window; namespaces with samples: "
        "checkout-dev, checkout-prod, growth-dev"
    )
