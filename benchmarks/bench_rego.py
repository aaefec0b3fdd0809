"""Benchmark: the cost of the company's Rego policies on top of today's validation.

The synthetic repository and the 1,000 findings of ``bench_guardrails.py``, plus ten policies
in ``.costpilot/policies`` (the sample repo's two, eight more of the usual Gatekeeper/conftest
kinds). The same proposals are validated twice in one run: without Rego (the baseline) and
with it; the figure is the difference. Target: ≤ 5 s for 1,000 proposals × 10 policies.

    python benchmarks/bench_rego.py [--services 360] [--proposals 1000] [--json]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_guardrails import build_repo, findings  # noqa: E402

from gitops.targets import index_repo  # noqa: E402
from guardrails import ValidationContext, load_policy, validate  # noqa: E402
from guardrails.k8s_schema import warm_up  # noqa: E402
from guardrails.rego import EMPTY, load_policies  # noqa: E402
from playbooks import load_playbooks, plan  # noqa: E402

EXTRA_POLICIES = {
    "required-labels.rego": """package acme.labels
import rego.v1
deny contains msg if {
  input.request.kind.kind == "Deployment"
  some key in ["app"]
  not input.request.object.metadata.labels[key]
  msg := sprintf("%s has no %s label", [input.request.object.metadata.name, key])
}
""",
    "registry.rego": """package acme.images
deny[msg] {
  c := input.request.object.spec.template.spec.containers[_]
  not startswith(c.image, "registry.example/")
  msg := sprintf("%v: image from an unapproved registry", [c.name])
}
""",
    "limits.rego": """package acme.limits
violation[{"msg": msg}] {
  input.request.kind.kind == "Deployment"
  c := input.request.object.spec.template.spec.containers[_]
  not c.resources.limits.memory
  msg := sprintf("%v has no memory limit", [c.name])
}
""",
    "replicas.rego": """package acme.replicas
import rego.v1
warn contains msg if {
  input.request.kind.kind == "Deployment"
  input.request.object.spec.replicas > 20
  msg := "more than 20 replicas"
}
""",
    "cpu.rego": """package acme.cpu
deny[msg] {
  c := input.request.object.spec.template.spec.containers[_]
  units.parse(c.resources.requests.cpu) > 16
  msg := sprintf("%v asks for more than 16 cores", [c.name])
}
""",
    "latest.rego": """package acme.tags
deny[msg] {
  c := input.request.object.spec.template.spec.containers[_]
  endswith(c.image, ":latest")
  msg := sprintf("%v uses :latest", [c.name])
}
""",
    "namespace.rego": """package acme.namespaces
import rego.v1
deny contains msg if {
  input.request.namespace == "default"
  msg := "nothing is deployed to default"
}
""",
    "privileged.rego": """package acme.security
deny[msg] {
  c := input.request.object.spec.template.spec.containers[_]
  c.securityContext.privileged == true
  msg := sprintf("%v is privileged", [c.name])
}
""",
}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--services", type=int, default=360)
    parser.add_argument("--proposals", type=int, default=1000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp)
        names = build_repo(repo, args.services)
        folder = repo / ".costpilot" / "policies"
        folder.mkdir(parents=True)
        for f in sorted((ROOT / "examples" / "gitops-repo" / ".costpilot" / "policies").glob("*.rego")):
            shutil.copyfile(f, folder / f.name)
        for name, text in EXTRA_POLICIES.items():
            (folder / name).write_text(text)
        books, policy = load_playbooks(), load_policy(repo)
        index = index_repo(repo)
        changes = plan(findings(names), repo, books, policy, index=index).changes[: args.proposals]
        ctx = ValidationContext(
            policy=policy, now=datetime(2026, 11, 23, 12, tzinfo=UTC), repo=repo, index=index
        )
        warm_up(policy.kubernetes_version)
        t0 = time.perf_counter()
        compiled = load_policies(repo)
        t1, c1 = time.perf_counter(), time.process_time()
        baseline = [validate(c, ctx, policies=EMPTY) for c in changes]
        t2, c2 = time.perf_counter(), time.process_time()
        with_rego = [validate(c, ctx, policies=compiled) for c in changes]
        t3, c3 = time.perf_counter(), time.process_time()
    rego_results = [r for rep in with_rego for r in rep.results if r.rule_id.startswith(".costpilot/")]
    documents = sum(
        len(r.evidence.get("documents", [])) for r in rego_results if r.verdict.value == "pass"
    ) // max(len(compiled.policies), 1)
    figures = {
        "proposals": len(changes),
        "policies": len(compiled.policies),
        "compile_s": round(t1 - t0, 3),
        "baseline_validate_s": round(t2 - t1, 3),
        "with_rego_validate_s": round(t3 - t2, 3),
        "rego_overhead_s": round((t3 - t2) - (t2 - t1), 3),
        # CPU seconds of this process: what the machine's other load does not inflate
        "baseline_cpu_s": round(c2 - c1, 3),
        "with_rego_cpu_s": round(c3 - c2, 3),
        "rego_overhead_cpu_s": round((c3 - c2) - (c2 - c1), 3),
        "rego_results": len(rego_results),
        "rego_failures": sum(r.verdict.value == "fail" for r in rego_results),
        "documents_judged_about": documents,
        "baseline_blocked": sum(not r.passed for r in baseline),
        "with_rego_blocked": sum(not r.passed for r in with_rego),
    }
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        for key, value in figures.items():
            print(f"{key:28} {value}")
    # the target: ≤ 5 s on top of today's validation for 1,000 proposals × 10 policies
    return 0 if figures["rego_overhead_s"] <= 5 else 1


if __name__ == "__main__":
    raise SystemExit(main())
