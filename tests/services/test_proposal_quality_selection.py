"""The selection between planning and recording: floor, limits, closed-unmerged, cooldown,
isolation of failing workloads; and the digest's savings pipeline built from it."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from domain.changes import GuardrailReport, GuardrailResult, PlannedChange, Verdict
from domain.findings import Finding, FindingKind
from services.remediation.config import ProposalLimits, RemediationConfig
from services.remediation.selection import (
    Selection,
    Selector,
    apply_floor,
    below_floor_summary,
    floor_of,
    isolate_failures,
    read_waiting,
    refused_unchanged,
    waiting_item,
    write_waiting,
)
from store.proposals import Proposal, ProposalState

NOW = datetime(2026, 11, 23, tzinfo=UTC)


def f(workload: str, saving: str, namespace: str = "shop") -> Finding:
    return Finding(
        kind=FindingKind.rightsize,
        target={"namespace": namespace, "kind": "Deployment", "workload": workload, "container": workload},
        title=workload,
        monthly_cost_now=Decimal(100),
        monthly_cost_after=Decimal(100) - Decimal(saving),
    )


def change(
    slug: str, *findings: Finding, playbook: str = "rightsize-requests", reason: str | None = None
) -> PlannedChange:
    return PlannedChange(
        playbook=playbook,
        target_slug=slug,
        title=f"change {slug}",
        findings=list(findings),
        files=[],
        diff=f"diff {slug} {[x.id for x in findings]}",
        monthly_cost_now=sum((x.monthly_cost_now for x in findings), Decimal(0)),
        monthly_cost_after=sum((x.monthly_cost_after for x in findings), Decimal(0)),
        cost_increase_reason=reason,
    )


def report(c: PlannedChange, *failing: str) -> GuardrailReport:
    results = [GuardrailResult(rule_id=r, verdict=Verdict.fail, message=f"{r} failed") for r in failing]
    return GuardrailReport(patch_sha256=c.patch_sha256, results=results or [
        GuardrailResult(rule_id="lowers-cost", verdict=Verdict.passed, message="ok")
    ])  # fmt: skip


def stored(c: PlannedChange, state: ProposalState, at: datetime = NOW) -> Proposal:
    return Proposal(
        id=f"p-{c.target_slug}-{state.value}",
        playbook=c.playbook,
        target_slug=c.target_slug,
        branch=c.branch,
        environment="nonprod",
        state=state,
        patch_sha256=c.patch_sha256,
        change=c,
        report=report(c),
        blocked_rules=[],
        requested_by="costpilot",
        created_at=at,
        updated_at=at,
        expires_at=None,
        approved_by=None,
        approved_at=None,
        decided_by=None,
        reason=None,
        superseded_by=None,
        pr_url=None,
        pr_number=None,
    )


def test_floor_per_playbook_exempts_tags_and_reliability_and_counts_the_rest() -> None:
    limits = ProposalLimits(min_saving_by_playbook={"cheaper-model": Decimal(50)})
    own = {"rightsize-requests": None, "enforce-cost-tags": Decimal(0), "cheaper-model": Decimal(20)}
    floors = {name: floor_of(name, limits, own) for name in own}
    assert floors == {
        "rightsize-requests": Decimal(20),
        "enforce-cost-tags": Decimal(0),
        "cheaper-model": Decimal(50),
    }
    big, small = change("a", f("a", "25")), change("b", f("b", "5"), f("c", "4"))
    tags = change("t", f("t", "0"), playbook="enforce-cost-tags")
    oom = change("r", f("r", "-3"), reason="reliability: r/r: OOM-killed 2 time(s)")
    model = change("m", f("m", "40"), playbook="cheaper-model")
    kept, below = apply_floor([big, small, tags, oom, model], floors)
    assert kept == [big, tags, oom] and below == [small, model]
    summary = below_floor_summary(below, floors)
    assert (summary.changes, summary.findings, summary.monthly_saving) == (2, 3, Decimal(49))
    # the workspace's remediation.toml carries the limits
    cfg = RemediationConfig.model_validate({"proposals": {"max_open_prs": 3, "min_monthly_saving": 0}})
    assert cfg.proposals.max_open_prs == 3 and cfg.proposals.max_new_per_scan == 5


def test_limits_keep_the_highest_savings_and_updates_and_blocked_ones_and_the_rest_waits() -> None:
    open_one = change("open", f("o", "30"))
    changes = [change(f"n{i}", f(f"w{i}", str(20 + i))) for i in range(6)]
    blocked = change("bad", f("x", "90"))
    oom = change("rel", f("r", "-2"), reason="reliability: OOM")
    validated = [(c, report(c)) for c in [*changes, open_one, oom]] + [(blocked, report(blocked, "opt-out"))]
    sel = Selector(
        ProposalLimits(max_open_prs=4, max_new_per_scan=5), [stored(open_one, ProposalState.pr_opened)]
    )
    chosen = [c.target_slug for c, _ in sel.select(validated)]
    # 4 open at most, 1 already open: the 3 highest new savings, plus the update, the blocked and the fix.
    assert sorted(chosen) == sorted(["n5", "n4", "n3", "open", "bad", "rel"])
    assert [w.branch.rsplit("/", 1)[1] for w in sel.waiting] == ["n2", "n1", "n0"]
    assert {w.reason for w in sel.waiting} == {"limit: 4 open proposals (1 open before this scan)"}
    assert sel.waiting[0].workloads == ["shop/Deployment/w2"] and sel.waiting[0].namespace == "shop"


def test_closed_unmerged_is_not_proposed_again_until_the_evidence_moves_materially() -> None:
    closed = change("shop", f("api", "100"))
    history = [stored(closed, ProposalState.closed)]
    same_again = change("shop", f("api", "110"))  # +10 %: not material at 25 %
    assert refused_unchanged(same_again, history, Decimal(25)) is not None
    assert refused_unchanged(change("shop", f("api", "140")), history, Decimal(25)) is None  # +40 %
    assert refused_unchanged(change("shop", f("api", "100"), f("web", "5")), history, Decimal(25)) is None
    sel = Selector(ProposalLimits(), history)
    assert sel.select([(same_again, report(same_again))]) == []
    [item] = sel.not_reproposed
    assert item.reason.startswith("closed unmerged as p-shop-closed on 2026-11-23")
    # a later merge on the branch lifts it (the closed one is not the latest)
    later = stored(change("shop", f("api", "50")), ProposalState.merged, NOW.replace(day=24))
    assert refused_unchanged(same_again, [*history, later], Decimal(25)) is None


def test_a_change_failing_only_the_cooldown_waits_for_it() -> None:
    c = change("shop", f("api", "80"))
    sel = Selector(ProposalLimits(), [])
    assert sel.select([(c, report(c, "cooldown"))]) == []
    assert sel.waiting[0].reason == "cooldown: cooldown failed"
    assert Selector(ProposalLimits(), []).select([(c, report(c, "cooldown", "opt-out"))]) != []  # blocked


def test_a_group_failing_for_one_workload_is_split_and_the_rest_keeps_the_branch() -> None:
    api, web, opt = f("api", "30"), f("web", "30"), f("opted", "30")
    group = change("shop", api, web, opt)

    def plan(findings: Any) -> list[PlannedChange]:
        return [change("shop", *findings)]

    def validate(c: PlannedChange) -> GuardrailReport:
        return report(c, "opt-out") if any(x.target["workload"] == "opted" for x in c.findings) else report(c)

    out = isolate_failures(group, validate(group), plan, validate)
    assert [(c.branch, r.passed) for c, r in out] == [
        ("costpilot/rightsize-requests/shop", True),
        ("costpilot/rightsize-requests/shop-opted", False),
    ]
    assert [x.target["workload"] for x in out[0][0].findings] == ["api", "web"]
    passing = change("ok", api)
    assert isolate_failures(passing, report(passing), plan, validate) == [(passing, report(passing))]


def test_the_waiting_list_round_trips_for_the_digest(tmp_path: Any) -> None:
    c = change("shop", f("api", "80"))
    write_waiting(tmp_path, Selection(waiting=[waiting_item(c, "limit: 5 new proposals per scan")]))
    back = read_waiting(tmp_path)
    assert back is not None and back.waiting[0].monthly_saving == Decimal(80)
    (tmp_path / "proposals-waiting.json").write_text("{not json")
    assert read_waiting(tmp_path) is None  # a broken file is no pipeline, not a crash


def test_digest_savings_pipeline_shows_waiting_and_estimate_vs_realised() -> None:
    from services.digest import _savings
    from services.remediation.workflow import ProposalList
    from services.savings import RealisedLine, SavingsResult

    line = RealisedLine(
        proposal_id="p1", playbook="rightsize-requests", title="t", branch="b", merged_at=NOW,
        estimated_monthly_saving=Decimal(30), realised_monthly_saving=Decimal("18.25"), status="measured",
        days_after=Decimal(2), method="m",
    )  # fmt: skip
    waiting = [waiting_item(change("shop", f("api", "80")), "limit: 5 new proposals per scan")]
    answers = {
        "proposals_list": ProposalList(proposals=[]),
        "savings": SavingsResult(
            merged=1, measured=1, estimated_monthly_saving=Decimal(30), realised_monthly_saving=Decimal("18.25"),
            estimated_of_measured=Decimal(30), lines=[line], waiting=waiting, waiting_monthly_saving=Decimal(80),
        ),
    }  # fmt: skip
    pipeline = _savings(lambda tool, args: answers[tool])  # type: ignore[arg-type]
    assert pipeline.realised == Decimal("18.25") and pipeline.estimated_of_measured == Decimal(30)
    assert (
        pipeline.realised_note
        == "1 of 1 merged change(s) measured: realised 18.25/month vs estimated 30/month"
    )
    assert (pipeline.waiting.count, pipeline.waiting.monthly_savings) == (1, Decimal(80))
    assert pipeline.waiting.proposals == ["costpilot/rightsize-requests/shop"]
