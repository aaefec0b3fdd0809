# ruff: noqa: F811  (fixtures imported by name from the CLI remediation tests)
"""``costpilot serve``: its configuration errors, its import cost, and two real ``serve`` processes
receiving the same click (one PR, one message update, the other clicker told who decided)."""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.app.slack.conftest import APPROVALS, SECRET, TOKEN, SlackApp, make_runtime
from tests.app.slack.slack_standin import SlackStandin
from tests.app.test_cli_remediation import env, found, git, gitops  # noqa: F401 - fixtures used by name

ROOT = Path(__file__).resolve().parents[3]


def test_serve_without_tokens_is_one_line(run_cli, workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    for var in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    result = run_cli("serve")
    assert (result.code, result.err) == (
        2,
        "costpilot: error: SLACK_BOT_TOKEN is not set (the bot token, xoxb-…)\n",
    )
    monkeypatch.setenv("SLACK_BOT_TOKEN", TOKEN)
    result = run_cli("serve")
    assert (
        result.err
        == "costpilot: error: SLACK_SIGNING_SECRET is not set: every request's signature is verified\n"
    )
    result = run_cli("serve", "--socket-mode")
    assert (
        result.err
        == "costpilot: error: SLACK_APP_TOKEN is not set (an app-level token, xapp-…, for Socket Mode)\n"
    )


def test_help_stays_light() -> None:
    """``costpilot --help`` imports neither Bolt nor matplotlib (the commands import them when run)."""
    code = "import sys, app.cli; app.cli.build_app(); print(sorted(m for m in sys.modules if m.split('.')[0] in ('slack_bolt', 'slack_sdk', 'matplotlib', 'uvicorn')))"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


def _serve(home: Path, standin: SlackStandin, gitops_repo: Path) -> tuple[subprocess.Popen[str], str]:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    environ = {
        **os.environ, "COSTPILOT_HOME": str(home), "SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": SECRET,
        "COSTPILOT_SLACK_API_BASE_URL": standin.base_url, "COSTPILOT_FORGE": "local",
        "COSTPILOT_GITOPS_REPO": str(gitops_repo), "PYTHONPATH": str(ROOT),
    }  # fmt: skip
    proc = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT, env=environ, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    return proc, f"http://127.0.0.1:{port}/slack/events"


def _wait_listening(proc: subprocess.Popen[str], timeout: float = 60) -> None:
    """Block on the process's own "listening" line (no polling)."""
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stderr], daemon=True).start()  # type: ignore[union-attr]
    deadline = time.monotonic() + timeout
    seen = []
    while True:
        line = lines.get(timeout=max(deadline - time.monotonic(), 0.1))
        seen.append(line)
        if line.startswith("costpilot serve: listening on"):
            return
        if proc.poll() is not None:
            raise AssertionError("serve exited: " + "".join(seen))


@pytest.fixture
def two_servers(env: Path, slack_env: Path, standin: SlackStandin, gitops: Path) -> Iterator[list[str]]:
    procs = [_serve(slack_env, standin, gitops) for _ in range(2)]
    try:
        for proc, _ in procs:
            _wait_listening(proc)
        yield [url for _, url in procs]
    finally:
        for proc, _ in procs:
            proc.terminate()
            proc.wait(timeout=10)


@pytest.mark.slow
def test_two_serve_processes_receiving_the_same_click_open_one_pr(
    two_servers: list[str], slack_env: Path, standin: SlackStandin, gitops: Path
) -> None:
    from app.slack.post import post_new_proposals
    from services.registry import call_tool

    runtime = make_runtime(slack_env)
    deps = runtime.deps()
    summary: Any = call_tool("scan", {}, deps)
    post_new_proposals(deps, summary, client=runtime.client, config=runtime.config, now=runtime.now())
    [post] = [c for c in standin.of("chat.postMessage") if c.args["channel"] == APPROVALS]
    [actions] = [b for b in post.args["blocks"] if b["type"] == "actions"]
    token = actions["elements"][0]["value"]
    message = {"ts": "1700000000.000001", "blocks": post.args["blocks"]}
    barrier = threading.Barrier(2)
    statuses: list[int] = []

    def click(url: str) -> None:
        with httpx.Client(timeout=20) as http:
            app = SlackApp(url, runtime, http)
            barrier.wait()
            statuses.append(
                app.click("costpilot_approve", token, user="U_ALICE", message=message).status_code
            )

    threads = [threading.Thread(target=click, args=(url,)) for url in two_servers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses == [200, 200]
    standin.wait_for(
        lambda calls: {"chat.update", "chat.postEphemeral"} <= {c.method for c in calls}, timeout=60
    )
    [update] = standin.of("chat.update")
    assert update.args["blocks"][-1]["text"]["text"].startswith("✅ Approved by <@U_ALICE> at ")
    [told] = standin.of("chat.postEphemeral")
    assert told.args["text"].startswith("Already decided by <@U_ALICE> (approved at ")
    assert git(gitops, "branch", "--list", "costpilot/*").strip() == "costpilot/rightsize-requests/shop"
    runtime.close()


def test_the_scheduler_posts_digest_alerts_and_new_proposals_once(
    env: Path, with_warehouse: Path, standin: SlackStandin
) -> None:
    from datetime import UTC, datetime

    from app.slack.server import Scheduler, digest_due
    from tests.app.slack.conftest import ALERTS, DIGEST, as_of_clock

    assert not digest_due(datetime(2026, 4, 13, 8, 59, tzinfo=UTC))  # Monday before 09:00: the bill may lag
    assert digest_due(datetime(2026, 4, 13, 9, 0, tzinfo=UTC)) and digest_due(
        datetime(2026, 4, 15, 3, tzinfo=UTC)
    )
    runtime = make_runtime(with_warehouse, clock=as_of_clock())  # Monday 2026-04-13 10:00 UTC
    try:
        scheduler = Scheduler(runtime)
        lines = scheduler.run_once()
        assert "digest 2026-W15 posted to CDIGEST" in lines
        posts = standin.of("chat.postMessage")
        by_channel = {c: sum(p.args["channel"] == c for p in posts) for c in (DIGEST, ALERTS, APPROVALS)}
        assert by_channel[DIGEST] == 1 and by_channel[ALERTS] >= 1 and by_channel[APPROVALS] == 1
        again = scheduler.run_once()  # same day: no scan again; digest and alerts already out
        assert "digest 2026-W15 was already posted to CDIGEST; not posted again" in again
        assert "alerts: 0 posted" in again and not any(line.startswith("scan:") for line in again)
        assert len(standin.of("chat.postMessage")) == len(posts)
    finally:
        runtime.close()
