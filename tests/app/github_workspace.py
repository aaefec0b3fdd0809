"""The workspace's forge as real PyGithub against the GitHub REST stand-in, over a bare clone of
a GitOps checkout (the tests that open, review or verify GitHub PRs share this set-up)."""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from services import remediation
from tests.gitops.github_standin import GitHubStandin


@contextlib.contextmanager
def github_forge_for(
    checkout: Path,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    standin_type: type[GitHubStandin] = GitHubStandin,
) -> Iterator[GitHubStandin]:
    """``COSTPILOT_FORGE=github`` at a stand-in serving ``tmp_path/remote.git`` (a bare clone of
    ``checkout``), token ``ghp-good``, no request pacing (production keeps PyGithub's)."""
    bare = tmp_path / "remote.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(checkout), str(bare)], check=True)
    server = standin_type(repo_path=bare).start()
    monkeypatch.setenv("COSTPILOT_FORGE", "github")
    monkeypatch.setenv("COSTPILOT_GITOPS_REPO", "acme/gitops")
    monkeypatch.setenv("COSTPILOT_GITHUB_BASE_URL", server.base_url)
    monkeypatch.setenv("GITHUB_TOKEN", "ghp-good")
    real = remediation.forge_config
    monkeypatch.setattr(
        remediation,
        "forge_config",
        lambda s: real(s).model_copy(update={"seconds_between_requests": 0.0, "seconds_between_writes": 0.0}),
    )
    try:
        yield server
    finally:
        server.stop()
