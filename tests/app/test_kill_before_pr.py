# ruff: noqa: F811  (fixtures imported by name from the CLI tests)
"""A real process killed (SIGKILL) between the approval and the PR: on restart exactly one PR.

``costpilot approve`` runs as its own process against real PyGithub and the GitHub stand-in; the
stand-in holds the first blob upload (the PR is being written), the test kills the process there.
The approval is recorded, the PR lease is held by the dead process: a second approve inside the
lease says another process is opening it (no second PR), and once the lease is over it opens the
one PR.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.app.github_workspace import github_forge_for
from tests.app.test_cli_remediation_approval import (  # noqa: F401 - fixtures used by name
    REMEDIATION_TOML,
    env,
    git,
    gitops,
    scan_for_api,
)
from tests.gitops.github_standin import GitHubStandin

ROOT = Path(__file__).resolve().parents[2]
LEASE_SECONDS = 5  # the shortest lease remediation.toml allows


@dataclass
class HoldingStandin(GitHubStandin):
    """Holds every blob upload until released; ``reached`` is set when the first one arrives."""

    reached: threading.Event = field(default_factory=threading.Event)
    released: threading.Event = field(default_factory=threading.Event)

    def handle(self, req: BaseHTTPRequestHandler) -> None:
        if req.command == "POST" and urlsplit(req.path).path.endswith("/git/blobs"):
            self.reached.set()
            self.released.wait(timeout=60)
        super().handle(req)


@pytest.fixture
def github(
    env: Path, gitops: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[HoldingStandin]:
    (env / "remediation.toml").write_text(
        f'gitops_checkout = "{gitops}"\nclaim_lease_seconds = {LEASE_SECONDS}\n' + REMEDIATION_TOML
    )
    with github_forge_for(gitops, monkeypatch, tmp_path, HoldingStandin) as server:
        try:
            yield server  # type: ignore[misc]
        finally:
            server.released.set()  # type: ignore[attr-defined]


def test_a_process_killed_between_the_approval_and_the_pr_resumes_to_exactly_one_pr(  # type: ignore[no-untyped-def]
    env: Path, github: HoldingStandin, run_cli, tmp_path: Path
) -> None:
    pid = scan_for_api(run_cli)
    approving = subprocess.Popen(
        [sys.executable, "-c", "import sys; from app.cli import main; raise SystemExit(main(sys.argv[1:]))",
         "approve", pid, "--as", "U_ALICE"],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert github.reached.wait(timeout=60), "the approving process never started writing the PR"
    finally:
        approving.send_signal(signal.SIGKILL)
        approving.wait(timeout=10)
    assert approving.returncode == -signal.SIGKILL
    killed_at = time.monotonic()
    shown = run_cli("proposals", "show", pid, "--json").json()
    assert shown["state"] == "approved" and shown["approved_by"] == "U_ALICE"
    assert github.pulls == {}

    # Restarted inside the dead process's lease: told so, nothing published twice.
    github.released.set()
    waiting = run_cli("approve", pid, "--as", "U_ALICE")
    assert waiting.code == 0, waiting.err
    assert "another process is opening the PR" in waiting.out
    assert github.pulls == {}

    time.sleep(max(0.0, LEASE_SECONDS + 0.5 - (time.monotonic() - killed_at)))
    resumed = run_cli("approve", pid, "--as", "U_ALICE")
    assert resumed.code == 0, resumed.err
    assert "opened https://github.test/acme/gitops/pull/1" in resumed.out
    again = run_cli("approve", pid, "--as", "U_ALICE")  # and a later click changes nothing
    assert (
        again.code == 0
        and "already approved by U_ALICE; PR https://github.test/acme/gitops/pull/1" in again.out
    )
    assert list(github.pulls) == [1]
    branches = subprocess.run(
        ["git", "--git-dir", str(tmp_path / "remote.git"), "branch", "--list", "costpilot/*"],
        capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    assert branches == ["costpilot/rightsize-requests/shop"]
    actions = [e["action"] for e in run_cli("proposals", "show", pid, "--json").json()["audit"]]
    assert actions.count("approved") == 1 and actions.count("pr_opened") == 1
