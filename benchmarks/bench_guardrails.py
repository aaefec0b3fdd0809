"""Benchmark: plan and validate 1,000 proposals (patch parses, Kubernetes schema, every rule).

A synthetic GitOps repo of 190 services (kustomize base; dev, staging and prod overlays with
patches; PDBs; an AI routing config with 50 features) and 1,000 findings: prod right-sizing,
dev idle, staging and dev right-sizing (shared base: blocked), prod idle (blocked) and model
changes. Prints the figures; ``--json`` for machine-readable output.

    python benchmarks/bench_guardrails.py [--services 190] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from domain.findings import Finding, FindingKind  # noqa: E402
from gitops.targets import index_repo  # noqa: E402
from guardrails import ValidationContext, load_policy, validate  # noqa: E402
from guardrails.k8s_schema import warm_up  # noqa: E402
from playbooks import load_playbooks, plan  # noqa: E402

GI, MI = 2**30, 2**20
MODELS = ["gpt-4o", "gpt-4o-mini", "gpt-4.1", "gpt-4.1-mini", "gpt-4.1-nano"]


def service(name: str) -> str:
    return f"""# {name}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
  labels:
    app: {name}
spec:
  replicas: 1
  selector:
    matchLabels:
      app: {name}
  template:
    metadata:
      labels:
        app: {name}
    spec:
      containers:
        - name: {name}
          image: "registry.example/{name}:1.0.0"
          resources:
            requests:
              cpu: 500m
              memory: 1Gi
            limits:
              cpu: "1"
              memory: 1Gi
---
apiVersion: v1
kind: Service
metadata:
  name: {name}
spec:
  selector:
    app: {name}
  ports:
    - port: 8080
"""


def prod_patch(name: str) -> str:
    return f"""apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
spec:
  replicas: 4
  template:
    spec:
      containers:
        - name: {name}
          resources:  # production sizing
            requests:
              cpu: "2"
              memory: 4Gi
            limits:
              cpu: "4"
              memory: 4Gi
"""


def build_repo(root: Path, n: int) -> list[str]:
    names = [f"svc{i:03d}" for i in range(n)]
    files: dict[str, str] = {
        "base/kustomization.yaml": "resources:\n" + "".join(f"  - {s}.yaml\n" for s in names)
    }
    for s in names:
        files[f"base/{s}.yaml"] = service(s)
        files[f"overlays/prod/patches/{s}.yaml"] = prod_patch(s)
        files[f"overlays/dev/patches/{s}.yaml"] = (
            f"apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {s}\nspec:\n  replicas: 2\n"
        )
    for env in ("dev", "prod"):
        files[f"overlays/{env}/kustomization.yaml"] = (
            f"namespace: shop-{env}\nresources:\n  - ../../base\n"
            + ("  - pdb.yaml\n" if env == "prod" else "")
            + "patches:\n"
            + "".join(f"  - path: patches/{s}.yaml\n" for s in names)
        )
    files["overlays/staging/kustomization.yaml"] = "namespace: shop-staging\nresources:\n  - ../../base\n"
    files["overlays/prod/pdb.yaml"] = "---\n".join(
        f"apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata:\n  name: {s}\nspec:\n  minAvailable: 2\n"
        f"  selector:\n    matchLabels:\n      app: {s}\n"
        for s in names[:50]
    )
    models = "".join(
        f"  {m}: {{tier: {3 if m in ('gpt-4o', 'gpt-4.1') else 2}, context_window: 128000}}\n" for m in MODELS
    )
    features = "".join(
        f"  feature{i:02d}: {{model: gpt-4o, min_tier: 2, min_context: 8000}}\n" for i in range(50)
    )
    files["ai/routing.yaml"] = f"models:\n{models}features:\n{features}"
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return names


def findings(names: list[str]) -> list[Finding]:
    ev = {"cpu_p95": "0.9", "memory_peak": 2 * GI, "days": 14, "samples": 4032, "coverage": 0.97}
    out = []
    for i, s in enumerate(names):
        rs = {
            "cpu_request": f"1.{i % 9 + 1}",
            "memory_request": (2560 + i) * MI,
            "memory_limit": (2560 + i) * MI,
        }
        out.append(_rs("shop-prod", s, rs, ev))
        out.append(_rs("shop-staging", s, {"cpu_request": "0.4"}, {**ev, "cpu_p95": "0.3"}))
        out.append(_rs("shop-dev", s, {"cpu_request": "0.3"}, {**ev, "cpu_p95": "0.2", "days": 3 + i % 10}))
        for ns in ("shop-dev", "shop-prod"):
            out.append(
                Finding(
                    kind=FindingKind.idle,
                    target={"cluster": "c", "namespace": ns, "kind": "Deployment", "workload": s},
                    title=f"idle {s}",
                    proposed={"replicas": 0},
                    evidence={"days": 14, "samples": 4032},
                    monthly_cost_now=Decimal(40),
                    monthly_cost_after=Decimal(0),
                )
            )
    for i in range(50):
        out.append(
            Finding(
                kind=FindingKind.cheaper_model,
                target={"feature": f"feature{i:02d}", "model": "gpt-4o"},
                title=f"feature{i:02d}",
                proposed={"model": MODELS[1 + i % 4]},
                evidence={"days": 30, "prompt_tokens": 10**6, "completion_tokens": 10**5},
                monthly_cost_now=Decimal(300),
                monthly_cost_after=Decimal(50),
            )
        )
    return out


def _rs(ns: str, s: str, proposed: dict, ev: dict) -> Finding:  # type: ignore[type-arg]
    return Finding(
        kind=FindingKind.rightsize,
        target={"cluster": "c", "namespace": ns, "kind": "Deployment", "workload": s, "container": s},
        title=f"right-size {s} in {ns}",
        proposed=proposed,
        evidence=ev,
        monthly_cost_now=Decimal(100),
        monthly_cost_after=Decimal(70),
    )


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--services", type=int, default=190)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp)
        names = build_repo(repo, args.services)
        books, policy = load_playbooks(), load_policy(repo)
        items = findings(names)
        t0 = time.perf_counter()
        index = index_repo(repo)
        t1 = time.perf_counter()
        result = plan(items, repo, books, policy, index=index)
        t2 = time.perf_counter()
        ctx = ValidationContext(
            policy=policy, now=datetime(2026, 11, 23, 12, tzinfo=UTC), repo=repo, index=index
        )
        t_warm = time.perf_counter()
        warm_up(policy.kubernetes_version)  # one-off per process: schema definitions (~1.4 MB JSON)
        t3 = time.perf_counter()
        reports = [validate(c, ctx) for c in result.changes]
        t4 = time.perf_counter()
    blocked = Counter(
        sorted({r.rule_id for r in rep.failures})[0] if rep.failures else "passed" for rep in reports
    )
    figures = {
        "findings": len(items),
        "proposals": len(result.changes),
        "skipped": len(result.skipped),
        "index_s": round(t1 - t0, 3),
        "plan_s": round(t2 - t1, 3),
        "schema_warm_up_s": round(t3 - t_warm, 3),
        "validate_s": round(t4 - t3, 3),
        "validate_ms_per_proposal": round((t4 - t3) / max(len(reports), 1) * 1000, 2),
        "results": sum(len(r.results) for r in reports),
        "outcome_by_first_failed_rule": dict(blocked),
    }
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        for key, value in figures.items():
            print(f"{key:32} {value}")
    return 0 if figures["validate_s"] <= 5 else 1  # the target: 1,000 proposals in ≤ 5 s


if __name__ == "__main__":
    raise SystemExit(main())
