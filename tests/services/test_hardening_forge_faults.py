# ruff: noqa: F811  (fixtures imported by name from the CLI tests)
"""Issue #15 item 4 through the service and the GitHub REST stand-in: 5xx and 403 rate limits
with Retry-After are retried; after the retries the proposal is ``pr_failed`` with the redacted
reason, and a later retry (the next scan) opens exactly one PR."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import SecretStr

from domain.errors import ExternalError
from gitops.forges import ForgeConfig, get_forge
from services.remediation.workflow import proposal_item
from store import audit
from store.proposals import ProposalState
from tests.app.test_cli_remediation import env, finding, found, gitops  # noqa: F401 - fixtures
from tests.services.test_hardening_approval import fresh, scan

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "gitops"))
from github_faults import FaultyStandin  # noqa: E402

TOKEN = "ghp_" + "Q7" * 18


def test_forge_faults_give_pr_failed_with_the_reason_and_a_later_retry_opens_one_pr(
    env: Path, gitops: Path, tmp_path: Path
) -> None:
    bare = tmp_path / "remote.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(gitops), str(bare)], check=True)
    server = FaultyStandin(repo_path=bare, tokens={TOKEN}).start()
    try:
        config = ForgeConfig(
            repo="acme/gitops",
            github_base_url=server.base_url,
            token=SecretStr(TOKEN),
            publish_attempts=2,
            backoff_seconds=0.05,
            seconds_between_requests=0,
            seconds_between_writes=0,
        )
        (pid,) = scan(env, [finding("api")])
        service, pipeline = fresh(env)
        service.forge = lambda: get_forge("github", config)  # type: ignore[assignment]
        server.fail_with("POST", r"/pulls$", 502, times=10, message="bad gateway for {authorization}")
        with pytest.raises(ExternalError, match=r"\(gave up after 2 tries\)$"):
            service.approve(pid, "U_ALICE", plan=pipeline.plan, validate=pipeline.validate)
        failed = service.show(pid)
        assert failed.state is ProposalState.pr_failed and proposal_item(failed).state == "pr_failed"
        assert failed.reason == (
            "GitHub 502 while opening the pull request in acme/gitops: bad gateway for token *** "
            "(gave up after 2 tries)"
        )
        assert TOKEN not in "".join(e.data for e in audit.events_for(service.engine, pid))
        assert server.pulls == {}

        server.faults.clear()
        server.rate_limit("POST", r"/pulls$", retry_after=1)
        resumed, failures = service.resume_pending(pipeline.plan, pipeline.validate)  # the next scan
        assert failures == [] and [(o.state, o.pr_number) for o in resumed] == [(ProposalState.pr_opened, 1)]
        assert len(server.pulls) == 1 and service.show(pid).reason is None
        assert audit.verify(service.engine).ok
    finally:
        server.stop()
