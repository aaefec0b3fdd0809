"""Fixtures for the forges: a GitOps repository (bare, for the GitHub stand-in; with a working
tree, for the local forge) and a running GitHub REST stand-in on a free loopback port."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from forge_samples import FILES, git_out
from github_standin import GitHubStandin, init_bare_repo


@pytest.fixture
def bare_repo(tmp_path: Path) -> tuple[Path, str]:
    """(path of a bare repository, sha of its one commit on main)."""
    path = tmp_path / "gitops.git"
    return path, init_bare_repo(path, FILES)


@pytest.fixture
def standin(bare_repo: tuple[Path, str]) -> Iterator[GitHubStandin]:
    server = GitHubStandin(repo_path=bare_repo[0]).start()
    yield server
    server.stop()


@pytest.fixture
def work_repo(tmp_path: Path) -> Path:
    """A normal checkout (working tree on main, one commit) for the local forge."""
    repo = tmp_path / "checkout"
    repo.mkdir()
    git_out(repo, "init", "-q", "--initial-branch", "main")
    for rel, content in FILES.items():
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        (repo / rel).write_text(content)
    git_out(repo, "add", "-A")
    git_out(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "initial")
    return repo
