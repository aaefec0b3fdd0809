"""[Proposal quality] on the demo's sample data: floor, grouping, steps, reliability increases,
limits, and the PR lifecycle (merged / closed) read from the local GitOps repository."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from app.cli import main

END = date(2026, 11, 22)
AS_OF = "2026-11-23"
APPROVER = "U_LEAD"
FLOOR = Decimal(20)
pytestmark = pytest.mark.slow  # one sample generation, ingest and scan for the module (~12 s)


@dataclass
class Sample:
    home: Path
    repo: Path

    def cli(self, capsys: pytest.CaptureFixture[str], *args: str) -> Any:
        capsys.readouterr()
        code = main(["--workspace", str(self.home), "--as-of", AS_OF, *args])
        out, err = capsys.readouterr()
        assert code == 0, err
        return json.loads(out) if "--json" in args else out

    def git(self, *args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(self.repo), "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
            capture_output=True,
            text=True,
            check=True,
        ).stdout


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sample]:
    from evals.sampledata.generate import generate_sample

    home = tmp_path_factory.mktemp("ws")
    manifest = generate_sample(home / "sample", END, 7)
    (home / "costpilot.toml").write_text(f'forge = "local"\ngitops_repo = "{manifest.gitops_repo}"\n')
    groups = "\n".join(
        f'{g} = ["{APPROVER}"]' for g in ("platform", "platform-leads", "finops", "ml-platform")
    )
    (home / "remediation.toml").write_text(f"[approvers.groups]\n{groups}\n")
    for args in (
        ("ingest", "focus", str(manifest.out_dir / "focus")),
        ("ingest", "llm-usage", str(manifest.out_dir / "llm")),
        ("ingest", "utilization", str(manifest.utilization_file)),
    ):
        assert main(["--workspace", str(home), "--as-of", AS_OF, *args]) == 0
    yield Sample(home=home, repo=manifest.gitops_repo)


@pytest.fixture(scope="module")
def first_scan(sample: Sample) -> dict[str, Any]:
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["--workspace", str(sample.home), "--as-of", AS_OF, "scan", "--json"]) == 0
    return json.loads(out.getvalue())


def _stored(sample: Sample) -> list[Any]:
    from services.deps import build_deps
    from services.settings import load_settings
    from store import proposals as store

    deps = build_deps(load_settings(home=sample.home))
    try:
        return store.list_proposals(deps.engine)
    finally:
        deps.close()


def test_every_approvable_proposal_saves_at_least_the_floor_or_is_a_labelled_reliability_fix(
    sample: Sample, first_scan: dict[str, Any]
) -> None:
    stored = {p.id: p for p in _stored(sample)}
    awaiting = [stored[i] for i in first_scan["awaiting_approval"]]
    assert awaiting
    for p in awaiting:
        if p.playbook == "enforce-cost-tags":
            continue
        saving = p.change.monthly_cost_now - p.change.monthly_cost_after
        assert saving >= FLOOR or (p.change.cost_increase_reason or "").startswith("reliability: "), (
            p.branch,
            saving,
        )
    below = first_scan["selection"]["below_floor"]
    assert below["findings"] > 0 and Decimal(below["monthly_saving"]) > 0
    assert below["floors"]["rightsize-requests"] == "20"
    note = next(n for n in first_scan["notes"] if n.startswith("below the floor: "))
    assert f"{below['findings']} finding(s)" in note


def test_right_sizing_is_one_proposal_per_namespace_split_only_by_blast_radius(
    sample: Sample, first_scan: dict[str, Any]
) -> None:
    rightsize = [p for p in _stored(sample) if p.playbook == "rightsize-requests"]
    waiting = [w for w in first_scan["selection"]["waiting"] if w["playbook"] == "rightsize-requests"]
    branches = [p.branch for p in rightsize] + [w["branch"] for w in waiting]
    assert len(branches) == len(set(branches))
    # payments-prod: one savings PR named after its namespace, several workloads, one row each
    main_branch = "costpilot/rightsize-requests/payments-prod"
    item = next(w for w in waiting if w["branch"] == main_branch)
    assert item["namespace"] == "payments-prod" and len(item["workloads"]) >= 2
    assert item["title"] == f"costpilot: right-size {len(item['workloads'])} workloads in payments-prod"
    for p in rightsize:
        workloads = {f.target["workload"] for f in p.change.findings}
        namespaces = {f.target["namespace"] for f in p.change.findings}
        assert len(namespaces) == 1 and len(workloads) <= 5  # the sample policy's blast radius
        assert p.branch.startswith(f"costpilot/rightsize-requests/{namespaces.pop()}")


def test_no_proposal_is_blocked_by_the_step_limit_and_a_big_cut_is_step_one(
    sample: Sample, first_scan: dict[str, Any]
) -> None:
    stored = _stored(sample)
    assert all("max-change-per-step" not in p.blocked_rules for p in stored)
    stepped = [f for p in stored for f in p.change.findings if f.evidence.get("step") == 1]
    assert stepped, "the sample has cuts beyond the 60 % step limit"
    for f in stepped:
        assert f.evidence["steps"] >= 2 and "after the cooldown" in f.evidence["step_note"]
        for key, final in f.evidence["final"].items():
            now, cur = Decimal(str(f.proposed[key])), Decimal(str(f.current[key]))
            assert Decimal(str(final)) < now <= cur  # a partial step toward the recommendation
            assert (cur - now) / cur <= Decimal("0.6")  # within the sample policy's max decrease


def test_an_oom_killed_workload_gets_a_labelled_increase_that_can_be_approved(
    sample: Sample, first_scan: dict[str, Any]
) -> None:
    stored = {p.branch: p for p in _stored(sample)}
    p = stored["costpilot/rightsize-requests/payments-prod-reliability"]
    assert p.state.value == "awaiting_approval"
    assert p.change.title == "costpilot: raise requests of fraud-scorer in payments-prod (reliability)"
    assert "fraud-scorer/fraud-scorer: OOM-killed 19 time(s)" in (p.change.cost_increase_reason or "")
    finding = p.change.findings[0]
    assert finding.proposed["memory_request"] > finding.current["memory_request"]
    # A net cost increase with a reliability reason passes lowers-cost as a labelled warning.
    up = stored["costpilot/rightsize-requests/checkout-prod-reliability"]
    assert up.change.monthly_cost_after > up.change.monthly_cost_now and up.state.value == "awaiting_approval"
    verdict = next(r for r in up.report.results if r.rule_id == "lowers-cost")
    assert verdict.verdict.value == "warn" and "labelled: reliability: cart-service" in verdict.message
    assert "cart-service" in next(iter(verdict.evidence["reliability_evidence"]))


def test_limits_hold_back_the_rest_highest_saving_first(sample: Sample, first_scan: dict[str, Any]) -> None:
    sel = first_scan["selection"]
    assert sel["max_new_per_scan"] == 5 and sel["max_open_prs"] == 10
    new_savings = [
        i
        for i in first_scan["proposals"]
        if i["state"] == "awaiting_approval" and "reliability" not in i["branch"]
    ]
    assert len(new_savings) == 5
    lowest_proposed = min(
        Decimal(i["monthly_cost_now"]) - Decimal(i["monthly_cost_after"]) for i in new_savings
    )
    assert all(Decimal(w["monthly_saving"]) <= lowest_proposed for w in sel["waiting"])
    assert {w["reason"] for w in sel["waiting"]} == {"limit: 5 new proposals per scan"}
    waiting_file = json.loads((sample.home / "proposals-waiting.json").read_text())
    assert len(waiting_file["waiting"]) == len(sel["waiting"])


def test_merged_and_closed_branches_move_the_proposals_and_closed_is_not_proposed_again(
    sample: Sample, first_scan: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    stored = {p.branch: p for p in _stored(sample)}
    merge = stored["costpilot/cheaper-model/feature-search-summary"]
    close = stored["costpilot/cheaper-model/feature-support-chat"]
    for p in (merge, close):
        sample.cli(capsys, "approve", p.id, "--as", APPROVER)
    sample.git("merge", "--no-ff", "-q", "-m", "merge", merge.branch)
    sample.git("branch", "-D", close.branch)

    synced = sample.cli(capsys, "proposals", "sync", "--json")
    assert synced["merged"] == [merge.id] and synced["closed"] == [close.id]
    assert sample.cli(capsys, "proposals", "sync", "--json")["checked"] == 0  # nothing left open

    rescan = sample.cli(capsys, "scan", "--json")
    after = {p.id: p for p in _stored(sample)}
    assert after[merge.id].state.value == "merged" and after[merge.id].merged_at is not None
    assert after[close.id].state.value == "closed"
    live = [p for p in after.values() if p.branch == close.branch and p.id != close.id]
    assert live == [], "a PR closed unmerged is not proposed again"
    assert close.branch in {w["branch"] for w in rescan["selection"]["not_reproposed"]}
    # The merged routing change is in the checkout: nothing is left to propose for that feature.
    assert merge.branch not in {i["branch"] for i in rescan["proposals"]}

    savings = sample.cli(capsys, "savings", "--json")
    line = next(x for x in savings["lines"] if x["proposal_id"] == merge.id)
    assert (
        Decimal(line["estimated_monthly_saving"])
        == merge.change.monthly_cost_now - merge.change.monthly_cost_after
    )
    # The sample's data ends before today's merge: nothing measured yet, and it says so.
    assert line["status"] == "insufficient_data" and line["realised_monthly_saving"] is None
    assert "after the merge" in line["note"]
