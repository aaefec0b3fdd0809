# ruff: noqa: F811  (fixtures imported by name from the CLI tests)
"""The remediation workflow as public steps (``decide`` → ``open_pr``) through ``TOOLS``: idempotent
within a process, across threads and across processes, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import uuid
from pathlib import Path
from typing import Any

import pytest

from services import remediation
from services.deps import Deps
from services.registry import call_tool
from services.settings import load_settings
from store import audit
from store.proposals import ProposalState
from tests.app.test_cli_remediation import (  # noqa: F401 - fixtures used by name
    FlakyForge,
    awaiting_id,
    env,
    found,
    git,
    gitops,
    scan_json,
    service_for,
)

ROOT = Path(__file__).resolve().parents[2]


def deps_for(home: Path) -> Deps:
    return Deps(load_settings(home))


def test_decide_records_the_approval_and_open_pr_opens_it(env: Path, gitops: Path, run_cli) -> None:  # type: ignore[no-untyped-def]
    pid = awaiting_id(scan_json(run_cli), "api")
    deps = deps_for(env)
    decided = call_tool("decide", {"proposal_id": pid, "user": "U_ALICE", "decision": "approve"}, deps)
    assert (decided.step, decided.state, decided.approved_by) == (
        "approved",
        ProposalState.approved,
        "U_ALICE",
    )
    assert git(gitops, "branch", "--list", "costpilot/*") == ""  # deciding opens nothing
    opened = call_tool("open_pr", {"proposal_id": pid}, deps)
    assert (opened.step, opened.state, opened.pr_created) == ("opened", ProposalState.pr_opened, True)
    assert "costpilot/rightsize-requests/shop" in git(gitops, "branch", "--list", "costpilot/*")
    again = call_tool("open_pr", {"proposal_id": pid}, deps)
    assert again.step == "updated" and again.pr_url == opened.pr_url
    # A second decision by another approver changes nothing: the first approval stands.
    second = call_tool("decide", {"proposal_id": pid, "user": "U_BOB", "decision": "approve"}, deps)
    assert (second.step, second.approved_by) == ("updated", "U_ALICE")
    actions = [e.action for e in audit.events_for(deps.engine, pid)]
    assert actions.count("approved") == 1 and actions.count("pr_opened") == 1


def test_open_pr_refuses_a_proposal_not_approved(env: Path, run_cli) -> None:  # type: ignore[no-untyped-def]
    from domain.errors import InputError

    pid = awaiting_id(scan_json(run_cli), "api")
    with pytest.raises(InputError, match=f"proposal {pid} is awaiting_approval; only an approved proposal"):
        call_tool("open_pr", {"proposal_id": pid}, deps_for(env))


def test_a_refused_decision_names_the_reason_and_is_audited(env: Path, run_cli) -> None:  # type: ignore[no-untyped-def]
    from services.remediation import ApprovalRefused

    pid = awaiting_id(scan_json(run_cli), "api")
    deps = deps_for(env)
    with pytest.raises(ApprovalRefused, match="U_MALLORY may not approve .*not an approver"):
        call_tool("decide", {"proposal_id": pid, "user": "U_MALLORY", "decision": "approve"}, deps)
    assert "approve_refused" in [e.action for e in audit.events_for(deps.engine, pid)]


def test_a_retry_while_the_pr_is_being_opened_is_not_answered_forever(
    env: Path, gitops: Path, run_cli
) -> None:  # type: ignore[no-untyped-def]
    """The known bug: the retry's non-final answer was stored under the idempotency key and
    returned forever (the store said pr_opened). Now only a final answer is stored."""
    pid = awaiting_id(scan_json(run_cli), "api")
    first, second = service_for(env), service_for(env)
    slow = FlakyForge(first.forge)
    slow.block = True
    first.forge = second.forge = lambda: slow  # type: ignore[assignment,return-value]
    results: list[Any] = []
    worker = threading.Thread(
        target=lambda: results.append(first.approve(pid, "U_ALICE", idempotency_key="ev1"))
    )
    worker.start()
    assert slow.entered.wait(timeout=30)  # the first call holds the PR lease, talking to the forge
    retry = second.approve(pid, "U_ALICE", idempotency_key="ev1")
    assert (retry.step, retry.final) == ("pending", False)
    slow.release.set()
    worker.join(timeout=30)
    assert results[0].step == "opened"
    later = second.approve(pid, "U_ALICE", idempotency_key="ev1")
    assert (later.step, later.state, later.pr_url) == ("opened", ProposalState.pr_opened, results[0].pr_url)
    assert slow.calls == 1


def _approve_in_a_process(home: Path, pid: str, user: str) -> subprocess.Popen[str]:
    env = {**os.environ, "COSTPILOT_HOME": str(home), "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "app.cli", "approve", pid, "--as", user, "--json"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _two_processes_approve(home: Path, gitops: Path, pid: str) -> list[dict[str, Any]]:
    procs = [_approve_in_a_process(home, pid, user) for user in ("U_ALICE", "U_BOB")]
    outs = [p.communicate(timeout=120) for p in procs]
    for p, (_out, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, err
    return [json.loads(out) for out, _ in outs]


@pytest.mark.slow
def test_the_same_approval_from_two_processes_gives_one_pr(env: Path, gitops: Path, run_cli) -> None:  # type: ignore[no-untyped-def]
    pid = awaiting_id(scan_json(run_cli), "api")
    answers = _two_processes_approve(env, gitops, pid)
    assert {a["proposal_id"] for a in answers} == {pid}
    assert len({a["approved_by"] for a in answers}) == 1  # one approval won; the other saw it
    branches = git(gitops, "branch", "--list", "costpilot/*").split()
    assert branches == ["costpilot/rightsize-requests/shop"]
    assert git(gitops, "rev-list", "--count", "main..costpilot/rightsize-requests/shop").strip() == "1"
    service = service_for(env)
    assert service.show(pid).state is ProposalState.pr_opened
    actions = [e.action for e in audit.events_for(service.engine, pid)]
    assert actions.count("approved") == 1 and actions.count("pr_opened") == 1


@pytest.fixture
def pg_database(pg_url: str) -> Any:
    """A fresh PostgreSQL database for one test (state DB of two 'replicas'), dropped afterwards."""
    import sqlalchemy as sa

    name = f"costpilot_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(_driver_url(pg_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as con:
        con.execute(sa.text(f'CREATE DATABASE "{name}"'))
    yield pg_url.rsplit("/", 1)[0] + f"/{name}"
    with admin.connect() as con:
        con.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _driver_url(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


@pytest.mark.postgres
@pytest.mark.slow
def test_two_processes_on_postgresql_give_one_pr(  # type: ignore[no-untyped-def]
    env: Path, gitops: Path, run_cli, pg_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COSTPILOT_DATABASE_URL", pg_database)
    pid = awaiting_id(scan_json(run_cli), "api")
    _two_processes_approve(env, gitops, pid)
    assert git(gitops, "branch", "--list", "costpilot/*").split() == ["costpilot/rightsize-requests/shop"]
    deps = deps_for(env)
    assert remediation.build_service(deps).show(pid).state is ProposalState.pr_opened
    actions = [e.action for e in audit.events_for(deps.engine, pid)]
    assert actions.count("approved") == 1 and actions.count("pr_opened") == 1


@pytest.mark.postgres
def test_two_threads_on_postgresql_give_one_pr(  # type: ignore[no-untyped-def]
    env: Path, gitops: Path, run_cli, pg_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COSTPILOT_DATABASE_URL", pg_database)
    pid = awaiting_id(scan_json(run_cli), "api")
    barrier = threading.Barrier(2)
    answers: list[Any] = []

    def approve(user: str) -> None:
        service = service_for(env)  # one engine each: two replicas
        barrier.wait(timeout=30)
        answers.append(service.approve(pid, user))

    threads = [threading.Thread(target=approve, args=(u,)) for u in ("U_ALICE", "U_BOB")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(answers) == 2 and len({a.approved_by for a in answers}) == 1
    assert git(gitops, "branch", "--list", "costpilot/*").split() == ["costpilot/rightsize-requests/shop"]
    events = audit.events_for(service_for(env).engine, pid)
    assert [e.action for e in events].count("pr_opened") == 1


def test_pr_status_reads_the_forge(env: Path, gitops: Path, run_cli) -> None:  # type: ignore[no-untyped-def]
    pid = awaiting_id(scan_json(run_cli), "api")
    deps = deps_for(env)
    assert call_tool("pr_status", {"proposal_id": pid}, deps).forge_status is None  # no PR yet
    call_tool("decide", {"proposal_id": pid, "user": "U_ALICE", "decision": "approve"}, deps)
    call_tool("open_pr", {"proposal_id": pid}, deps)
    status = call_tool("pr_status", {"proposal_id": pid}, deps)
    assert (status.state, status.forge_status) == ("pr_opened", "open")
    assert status.estimated_monthly_savings == 30
    branch = "costpilot/rightsize-requests/shop"
    git(gitops, "-c", "user.name=t", "-c", "user.email=t@t", "merge", "-q", "--no-ff", "-m", "merge", branch)
    assert call_tool("pr_status", {"proposal_id": pid}, deps).forge_status == "merged"
