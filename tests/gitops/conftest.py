"""Fixtures for the forges: a GitOps repository (bare, for the GitHub stand-in; with a working
tree, for the local forge) and a running GitHub REST stand-in on a free loopback port."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from github_standin import GitHubStandin, init_bare_repo

DEPLOYMENT = """\
# api deployment — requests tuned by hand in 2025
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
  namespace: shop
spec:
  replicas: 3
  template:
    spec:
      containers:
        - name: api
          image: ghcr.io/acme/api:1.4.2
          resources:
            requests:
              cpu: "2"
              memory: 4Gi
"""
PATCHED = DEPLOYMENT.replace('cpu: "2"', 'cpu: "500m"').replace("memory: 4Gi", "memory: 1Gi")
FILES = {"apps/api/deployment.yaml": DEPLOYMENT, "README.md": "# gitops\n"}


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


def git_out(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(cwd), *args], capture_output=True, text=True, check=True).stdout


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
