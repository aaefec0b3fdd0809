# ruff: noqa: F811  (fixtures imported by name)
"""Two ``costpilot serve`` processes on one PostgreSQL state DB (a fresh database per test) behind
one Slack stand-in, as two Kubernetes replicas run: the same click delivered to both opens one PR;
a scan started on both at once records one set of proposals, each posted for approval once; both
schedulers running post one digest for the week."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import psycopg
import pytest

from tests.app.serve_process import FreshDatabase, ServeProcess, write_findings
from tests.app.slack.conftest import APPROVALS, DIGEST, SECRET, TOKEN, SlackApp, digest_warehouse, standin  # noqa: F401 - fixtures used by name
from tests.app.slack.slack_standin import SlackStandin
from tests.app.test_cli_remediation import REMEDIATION_TOML, finding, git, gitops  # noqa: F401

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
AS_OF = "2026-04-14"  # a Tuesday: the digest of 2026-W15 is due, whatever the hour


@pytest.fixture
def state_db(pg_url: str) -> Iterator[FreshDatabase]:
    db = FreshDatabase(pg_url, prefix="cp_replicas")
    yield db
    db.drop()


@pytest.fixture
def start_replicas(
    workspace: Path, gitops: Path, standin: SlackStandin, digest_warehouse: Path, state_db: FreshDatabase,
    tmp_path: Path,
) -> Iterator[Callable[..., list[ServeProcess]]]:  # fmt: skip
    """``start_replicas(findings, *serve_args, **env)``: two serve processes sharing the workspace
    (DuckDB warehouse read-only, GitOps repo, approvers) and the PostgreSQL state DB."""
    import shutil

    workspace.mkdir(parents=True)
    shutil.copy(digest_warehouse, workspace / "warehouse.duckdb")
    (workspace / "remediation.toml").write_text(REMEDIATION_TOML)
    started: list[ServeProcess] = []

    def start(findings: list[Any], *args: str, **extra: str) -> list[ServeProcess]:
        env = {
            "COSTPILOT_HOME": str(workspace), "COSTPILOT_DATABASE_URL": state_db.url, "COSTPILOT_AS_OF": AS_OF,
            "SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": SECRET,
            "COSTPILOT_SLACK_API_BASE_URL": standin.base_url, "COSTPILOT_SLACK_APPROVALS_CHANNEL": APPROVALS,
            "COSTPILOT_FORGE": "local", "COSTPILOT_GITOPS_REPO": str(gitops),
            "COSTPILOT_TEST_FINDINGS": str(write_findings(tmp_path / "findings.json", findings)), **extra,
        }  # fmt: skip
        # The first migrates the fresh database; the second then finds it at the head.
        for _ in range(2):
            started.append(ServeProcess(env, *args).wait_listening())
        return started

    yield start
    for serve in started:
        serve.stop()


def rows(url: str, sql: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(sql).fetchall()


def at_once(targets: list[ServeProcess], send: Callable[[SlackApp], httpx.Response]) -> list[int]:
    """``send`` to every replica at the same moment; their HTTP statuses."""
    barrier = threading.Barrier(len(targets))
    statuses: list[int] = []

    def run(serve: ServeProcess) -> None:
        with httpx.Client(timeout=30) as http:
            app = SlackApp(serve.events_url, SimpleNamespace(config=SimpleNamespace(api_base_url="x/")), http)
            barrier.wait()
            statuses.append(send(app).status_code)

    threads = [threading.Thread(target=run, args=(s,)) for s in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return statuses


def approval_posts(standin: SlackStandin) -> list[Any]:
    return [c for c in standin.of("chat.postMessage") if c.args["channel"] == APPROVALS]


def test_the_same_click_at_both_replicas_opens_one_pr(
    start_replicas: Callable[..., list[ServeProcess]], standin: SlackStandin, gitops: Path,
    state_db: FreshDatabase,
) -> None:  # fmt: skip
    replicas = start_replicas([finding("api")])
    with httpx.Client(timeout=30) as http:
        SlackApp(
            replicas[0].events_url, SimpleNamespace(config=SimpleNamespace(api_base_url="x/")), http
        ).command("scan")
    standin.wait_for(lambda calls: any(c.args.get("channel") == APPROVALS for c in calls), timeout=60)
    [post] = approval_posts(standin)
    [actions] = [b for b in post.args["blocks"] if b["type"] == "actions"]
    token = actions["elements"][0]["value"]
    message = {"ts": "1700000000.000001", "blocks": post.args["blocks"]}

    statuses = at_once(
        replicas, lambda app: app.click("costpilot_approve", token, user="U_ALICE", message=message)
    )
    assert statuses == [200, 200]
    standin.wait_for(
        lambda calls: (
            any(c.method == "chat.update" for c in calls)
            and any(str(c.args.get("text", "")).startswith("Already decided") for c in calls)
        ),
        timeout=60,
    )
    [update] = standin.of("chat.update")
    assert update.args["blocks"][-1]["text"]["text"].startswith("✅ Approved by <@U_ALICE> at ")
    told = [c for c in standin.of("chat.postEphemeral") if str(c.args["text"]).startswith("Already decided")]
    assert len(told) == 1 and told[0].args["text"].startswith("Already decided by <@U_ALICE> (approved at ")
    branches = [
        b for b in git(gitops, "branch", "--list", "costpilot/*").split() if b.startswith("costpilot/")
    ]
    assert len(branches) == 1
    assert rows(state_db.url, "SELECT state, count(*) FROM proposals GROUP BY state") == [("pr_opened", 1)]
    assert rows(
        state_db.url, "SELECT count(*), sum(CASE WHEN created THEN 1 ELSE 0 END) FROM pull_requests"
    ) == [(1, 1)]


def test_a_scan_started_on_both_replicas_at_once_gives_one_set_of_proposals(
    start_replicas: Callable[..., list[ServeProcess]],
    standin: SlackStandin,
    state_db: FreshDatabase,
    workspace: Path,
) -> None:
    replicas = start_replicas([finding("api"), finding("pay")])
    assert at_once(replicas, lambda app: app.command("scan")) == [200, 200]
    try:
        replies = standin.wait_for(
            lambda calls: sum(str(c.args.get("text", "")).startswith("scan:") for c in calls) >= 2, timeout=90
        )
    except AssertionError as exc:  # the replicas' logs (stderr, the workspace's log files) say why
        logs = [r.log_text()[-2000:] for r in replicas]
        logs += [f.read_text()[-6000:] for f in sorted((workspace / "logs").glob("*"))]
        raise AssertionError(f"{exc}\n" + "\n".join(logs)) from None
    assert [
        c.args["text"].split(",")[0] for c in replies if str(c.args.get("text", "")).startswith("scan:")
    ] == ["scan: 2 findings"] * 2
    proposals = rows(state_db.url, "SELECT id, branch, state FROM proposals ORDER BY branch")
    branches = [branch for _, branch, _ in proposals]
    assert len(proposals) == 2 and len(set(branches)) == 2, proposals
    assert {state for _, _, state in proposals} == {"awaiting_approval"}
    posted = [json.dumps(c.args["blocks"]) for c in approval_posts(standin)]
    assert len(posted) == 2  # each proposal asked for approval once, by one of the two replicas
    for pid, _, _ in proposals:
        assert sum(pid in text for text in posted) == 1, pid


def test_both_schedulers_running_post_one_digest_for_the_week(
    start_replicas: Callable[..., list[ServeProcess]], standin: SlackStandin, state_db: FreshDatabase
) -> None:
    replicas = start_replicas(
        [finding("api")], "--schedule", "--schedule-every", "0.3", "--log-format", "json",
        COSTPILOT_SLACK_DIGEST_CHANNEL=DIGEST,
    )  # fmt: skip

    def digest_lines(serve: ServeProcess, count: int) -> list[str]:
        found: list[str] = []

        def wanted(line: str) -> bool:
            if line.startswith("{") and "scheduler: digest" in line:
                found.append(json.loads(line)["message"])
            return len(found) >= count

        serve.wait_line(wanted, timeout=90)
        return found

    # Several ticks each, running side by side: each replica tries the week's digest every tick.
    said = [line for serve in replicas for line in digest_lines(serve, 3)]
    assert sum(line == "scheduler: digest 2026-W15 posted to CDIGEST" for line in said) == 1, said
    assert all(
        line in ("scheduler: digest 2026-W15 posted to CDIGEST",
                 "scheduler: digest 2026-W15 was already posted to CDIGEST; not posted again")
        for line in said
    ), said  # fmt: skip
    digests = [c for c in standin.of("chat.postMessage") if c.args["channel"] == DIGEST]
    assert len(digests) == 1
    assert rows(state_db.url, "SELECT week, state, channel FROM slack_digest_runs") == [
        ("2026-W15", "posted", DIGEST)
    ]
    # Their first ticks also scanned at the same moment: one proposal, asked for approval once.
    assert len(rows(state_db.url, "SELECT id FROM proposals")) == 1
    assert len(approval_posts(standin)) == 1
