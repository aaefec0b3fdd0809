"""Issue #14 item 7: local PR branches start from the base branch tip — configured, else the
repository's default branch (origin/HEAD, init.defaultBranch, main) — never from the checkout's
HEAD on a work-in-progress branch; the commits costpilot published carry the audit head."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from forge_samples import DEPLOYMENT, PATCHED, git_out

from domain.errors import ExternalError
from gitops.forges import FileContent, ForgeConfig, PublishRequest, PullRequestStatus, get_forge
from gitops.forges.base import parse_audit_head

BRANCH = "costpilot/rightsize-requests/shop-api"
HEAD = "7:" + "ab" * 32


def request(base_sha: str | None = None) -> PublishRequest:
    return PublishRequest(
        branch=BRANCH,
        base_sha=base_sha,
        title="Right-size shop/api",
        body="body",
        commit_message=f"Right-size shop/api\n\ncostpilot proposal p1\nAudit-Head: {HEAD}\n",
        files=[FileContent(path="apps/api/deployment.yaml", content=PATCHED, before=DEPLOYMENT)],
    )


def commit_all(repo: Path, message: str) -> str:
    git_out(repo, "add", "-A")
    git_out(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", message)
    return git_out(repo, "rev-parse", "HEAD").strip()


def on_wip_branch(repo: Path) -> str:
    """Check out a work-in-progress branch with one commit (it deletes the README); its sha."""
    git_out(repo, "checkout", "-q", "-b", "wip")
    (repo / "README.md").unlink()
    return commit_all(repo, "wip: not reviewed")


def parents(repo: Path, rev: str) -> list[str]:
    return git_out(repo, "rev-list", "--parents", "-n", "1", rev).split()[1:]


def test_a_patch_planned_on_a_wip_checkout_starts_from_the_main_tip(work_repo: Path) -> None:
    main_tip = git_out(work_repo, "rev-parse", "main").strip()
    wip = on_wip_branch(work_repo)
    forge = get_forge("local", ForgeConfig(repo=str(work_repo)))
    result = forge.publish(request(base_sha=wip))
    assert parents(work_repo, result.commit_sha) == [main_tip]
    assert git_out(work_repo, "show", f"{BRANCH}:README.md") == "# gitops\n"  # the WIP deletion is not in it
    assert forge.publish(request()).branch_updated is False  # no base given: the same tip


def test_the_default_branch_is_the_one_origin_head_names(tmp_path: Path, work_repo: Path) -> None:
    git_out(work_repo, "branch", "-m", "main", "trunk")
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(work_repo), str(clone)], check=True)
    trunk_tip = git_out(clone, "rev-parse", "trunk").strip()
    on_wip_branch(clone)
    forge = get_forge("local", ForgeConfig(repo=str(clone)))
    assert forge.default_base() == "refs/heads/trunk"  # type: ignore[attr-defined]
    assert parents(clone, forge.publish(request()).commit_sha) == [trunk_tip]


def test_a_configured_base_branch_wins_and_a_missing_one_is_one_line(work_repo: Path) -> None:
    git_out(work_repo, "branch", "release")
    release_tip = git_out(work_repo, "rev-parse", "release").strip()
    git_out(work_repo, "checkout", "-q", "main")
    (work_repo / "NOTES.md").write_text("later\n")
    commit_all(work_repo, "main moves on")
    forge = get_forge("local", ForgeConfig(repo=str(work_repo), base_branch="release"))
    assert parents(work_repo, forge.publish(request()).commit_sha) == [release_tip]
    missing = get_forge("local", ForgeConfig(repo=str(work_repo), base_branch="nope"))
    with pytest.raises(ExternalError, match=r"^base branch 'nope' not found in "):
        missing.publish(request())


def test_status_reads_the_base_branch_not_the_checkout(work_repo: Path) -> None:
    forge = get_forge("local", ForgeConfig(repo=str(work_repo)))
    forge.publish(request())
    git_out(work_repo, "merge", "-q", "--ff-only", BRANCH)
    on_wip_branch(work_repo)
    git_out(work_repo, "reset", "-q", "--hard", "HEAD~2")  # the WIP branch lacks the merge
    assert forge.status(BRANCH) is PullRequestStatus.merged


def test_published_commits_are_audit_anchors(work_repo: Path) -> None:
    forge = get_forge("local", ForgeConfig(repo=str(work_repo)))
    forge.publish(request())
    (anchor,) = forge.audit_anchors()  # type: ignore[attr-defined]
    assert (anchor.seq, anchor.hash) == (7, "ab" * 32)
    assert anchor.where == f"commit refs/heads/{BRANCH} in {work_repo.resolve()}"
    git_out(work_repo, "branch", "-D", BRANCH)  # deleted unmerged: still an anchor
    assert [a.seq for a in forge.audit_anchors()] == [7]  # type: ignore[attr-defined]
    assert parse_audit_head("x\n\nAudit-Head: 3:" + "0" * 64 + "\n") == (3, "0" * 64)
    assert parse_audit_head("Audit-Head: 3:short") is None
