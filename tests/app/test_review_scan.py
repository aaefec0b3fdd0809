"""The repository's Rego policies in ``costpilot scan``: their verdicts sit in each proposal's
guardrail report (and so in ``proposals show`` and the PR body) like the built-in rules."""

from __future__ import annotations

import subprocess
from decimal import Decimal
from pathlib import Path

import pytest

from domain.findings import Finding, FindingKind
from services import remediation
from tests.app.test_cli_remediation import MANIFEST  # the same Deployment the remediation tests use

GIB = 1024**3
# Blocks a CPU request under 1.5 cores in namespace shop; warns on every Deployment update.
FLOOR = """package acme.floor
import rego.v1
deny contains msg if {
  input.request.kind.kind == "Deployment"
  c := input.request.object.spec.template.spec.containers[_]
  units.parse(c.resources.requests.cpu) < 1.5
  msg := sprintf("%s: CPU request below 1.5 cores in %s", [c.name, input.request.namespace])
}
"""
NOTICE = """package acme.notice
warn[msg] {
  input.request.operation == "UPDATE"
  msg := sprintf("%v is changing", [input.request.object.metadata.name])
}
"""


def git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t", *args],
        check=True,
        capture_output=True,
    )


def rightsize(workload: str, cpu: str) -> Finding:
    return Finding(
        kind=FindingKind.rightsize,
        target={
            "cluster": "c1",
            "namespace": "shop",
            "kind": "Deployment",
            "workload": workload,
            "container": workload,
        },
        title=f"Right-size {workload}",
        current={"cpu_request": "2", "memory_request": 4 * GIB, "memory_limit": 4 * GIB},
        proposed={"cpu_request": cpu, "memory_request": 3 * GIB, "memory_limit": 3 * GIB},
        evidence={"cpu_p95": "0.4", "memory_peak": 2 * GIB, "days": 14, "samples": 4032},
        monthly_cost_now=Decimal("120"),
        monthly_cost_after=Decimal("90"),
    )


@pytest.fixture
def env(workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    repo = tmp_path / "gitops"
    for name in ("api", "web"):
        (repo / "apps" / name).mkdir(parents=True)
        (repo / "apps" / name / "deployment.yaml").write_text(MANIFEST.format(name=name, namespace="shop"))
    policies = repo / ".costpilot" / "policies"
    policies.mkdir(parents=True)
    (policies / "floor.rego").write_text(FLOOR)
    (policies / "notice.rego").write_text(NOTICE)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "initial")
    workspace.mkdir(parents=True, exist_ok=True)
    (workspace / "remediation.toml").write_text('[approvers.groups]\nplatform = ["U_ALICE"]\n')
    monkeypatch.setenv("COSTPILOT_FORGE", "local")
    monkeypatch.setenv("COSTPILOT_GITOPS_REPO", str(repo))
    found = [rightsize("api", "1.5"), rightsize("web", "1.2")]
    monkeypatch.setattr(remediation, "DETECTORS", {"fake": lambda deps: list(found)})
    return repo


def test_rego_verdicts_are_in_the_proposals_guardrail_reports(env: Path, run_cli) -> None:  # type: ignore[no-untyped-def]
    result = run_cli("scan", "--json")
    assert result.code == 0, result.err
    by_state = {p["state"]: p for p in result.json()["proposals"]}
    assert sorted(by_state) == ["awaiting_approval", "blocked"]
    assert by_state["blocked"]["blocked_rules"] == [".costpilot/policies/floor.rego"]

    shown = run_cli("proposals", "show", by_state["blocked"]["id"], "--json").json()
    rego = {
        (r["rule_id"], r["verdict"], r["message"])
        for r in shown["guardrails"]
        if r["rule_id"].endswith(".rego")
    }
    assert rego == {
        (".costpilot/policies/floor.rego", "fail", "web: CPU request below 1.5 cores in shop"),
        (".costpilot/policies/notice.rego", "warn", "web is changing"),
    }
    text = run_cli("proposals", "show", by_state["awaiting_approval"]["id"]).out
    assert "  warn  .costpilot/policies/notice.rego: api is changing" in text
    assert "  pass  .costpilot/policies/floor.rego: no deny, violation or warn on 1 document" in text


def test_a_policy_that_does_not_compile_stops_the_scan_in_one_line(env: Path, run_cli) -> None:  # type: ignore[no-untyped-def]
    (env / ".costpilot" / "policies" / "floor.rego").write_text(
        'package acme.floor\ndeny[msg] { re_match("a", "b"); msg := "x" }\n'
    )
    result = run_cli("scan", "--json")
    assert result.code == 2 and result.out == ""
    assert result.err == (
        "costpilot: error: .costpilot/policies/floor.rego:2: calls re_match(), which is neither a built-in "
        "of this Rego engine nor defined by the policies\n"
    )
    assert run_cli("proposals", "list").out == "no proposals (run `costpilot scan`)\n"
