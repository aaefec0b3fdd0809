"""The sample change (evals/sampledata/sample_change.py): a real branch, deterministic, the
sample repo's main untouched, and a loud error when the repo no longer matches."""

from __future__ import annotations

import subprocess
from datetime import date
from pathlib import Path

import pytest

from domain.errors import InputError
from evals.sampledata.generate import write_gitops_copy
from evals.sampledata.sample_change import SAMPLE_CHANGE_BRANCH, write_sample_change

WHEN = date(2026, 11, 22)


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=True).stdout


def test_the_change_is_a_branch_of_its_own_and_main_is_untouched(tmp_path: Path) -> None:
    repo = write_gitops_copy(tmp_path / "repo", WHEN)
    main_before = git(repo, "rev-parse", "main")
    assert write_sample_change(repo, WHEN) == SAMPLE_CHANGE_BRANCH
    assert git(repo, "rev-parse", "main") == main_before
    assert git(repo, "rev-parse", "--abbrev-ref", "HEAD").strip() == "main"
    assert git(repo, "status", "--porcelain") == ""
    changed = git(repo, "diff", "--name-only", "main", SAMPLE_CHANGE_BRANCH).split()
    assert changed == ["ai/routing.yaml", "base/checkout/checkout-web.yaml"]
    diff = git(repo, "diff", "main", SAMPLE_CHANGE_BRANCH)
    assert "+  replicas: 4  # holiday sale" in diff and "+  email-personalization: {model: gpt-4o," in diff


def test_same_repo_same_day_same_commit_and_a_rerun_replaces_the_branch(tmp_path: Path) -> None:
    heads = []
    for name in ("a", "b"):
        repo = write_gitops_copy(tmp_path / name, WHEN)
        write_sample_change(repo, WHEN)
        heads.append(git(repo, "rev-parse", SAMPLE_CHANGE_BRANCH))
    assert heads[0] == heads[1]
    write_sample_change(tmp_path / "a", WHEN)  # the demo run again: one commit on main, not two
    assert git(tmp_path / "a", "rev-list", "--count", f"main..{SAMPLE_CHANGE_BRANCH}").strip() == "1"


def test_a_repo_that_no_longer_matches_is_an_error_and_left_on_its_branch(tmp_path: Path) -> None:
    repo = write_gitops_copy(tmp_path / "repo", WHEN)
    web = repo / "base" / "checkout" / "checkout-web.yaml"
    web.write_text(web.read_text().replace("replicas: 1\n", "replicas: 2\n"))
    git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qam", "someone scaled it")
    with pytest.raises(InputError, match="checkout-web.yaml: the sample change expects one"):
        write_sample_change(repo, WHEN)
    assert git(repo, "rev-parse", "--abbrev-ref", "HEAD").strip() == "main"
    assert git(repo, "status", "--porcelain") == ""
