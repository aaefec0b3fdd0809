"""The local forge: one commit on a deterministic branch, the checkout itself untouched."""

from __future__ import annotations

from pathlib import Path

import pytest
from forge_samples import DEPLOYMENT, PATCHED, git_out
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import ConfigError, ExternalError, InputError
from gitops.forges import FileContent, ForgeConfig, PublishRequest, get_forge, safe_repo_path

BRANCH = "costpilot/rightsize-requests/shop-api"


def request(content: str = PATCHED, path: str = "apps/api/deployment.yaml", **kw: object) -> PublishRequest:
    return PublishRequest(
        branch=kw.pop("branch", BRANCH),  # type: ignore[arg-type]
        title="Right-size shop/api",
        body=kw.pop("body", "body"),  # type: ignore[arg-type]
        commit_message=kw.pop("commit_message", "Right-size shop/api\n\ncostpilot proposal p1\n"),  # type: ignore[arg-type]
        files=kw.pop("files", [FileContent(path=path, content=content)]),  # type: ignore[arg-type]
        **kw,  # type: ignore[arg-type]
    )


def test_branch_gets_one_commit_and_the_checkout_is_untouched(work_repo: Path) -> None:
    base = git_out(work_repo, "rev-parse", "HEAD").strip()
    result = get_forge("local", ForgeConfig(repo=str(work_repo))).publish(request())
    assert (result.forge, result.branch, result.created, result.branch_updated) == (
        "local",
        BRANCH,
        True,
        True,
    )
    assert result.url == f"file://{work_repo.resolve()}#refs/heads/{BRANCH}"
    assert git_out(work_repo, "show", f"{BRANCH}:apps/api/deployment.yaml") == PATCHED
    assert git_out(work_repo, "show", f"{BRANCH}:README.md") == "# gitops\n"
    assert git_out(work_repo, "rev-list", "--parents", "-n", "1", BRANCH).split() == [result.commit_sha, base]
    assert (
        git_out(work_repo, "log", "-1", "--format=%an <%ae>%n%s", BRANCH)
        == "costpilot <costpilot@localhost>\nRight-size shop/api\n"
    )
    # Working tree, index and current branch as they were.
    assert git_out(work_repo, "status", "--porcelain") == ""
    assert git_out(work_repo, "symbolic-ref", "HEAD").strip() == "refs/heads/main"
    assert git_out(work_repo, "rev-parse", "HEAD").strip() == base
    assert (work_repo / "apps/api/deployment.yaml").read_text() == DEPLOYMENT


def test_rerun_keeps_or_moves_the_same_branch(work_repo: Path) -> None:
    forge = get_forge("local", ForgeConfig(repo=str(work_repo)))
    base = git_out(work_repo, "rev-parse", "HEAD").strip()
    first = forge.publish(request())
    again = forge.publish(request())
    assert (again.commit_sha, again.created, again.branch_updated) == (first.commit_sha, False, False)
    newer = forge.publish(request(PATCHED.replace("500m", "400m")))
    assert newer.branch_updated and not newer.created and newer.commit_sha != first.commit_sha
    # Still exactly one commit on top of the base: replaced, not stacked.
    assert git_out(work_repo, "rev-list", "--count", f"{base}..{BRANCH}").strip() == "1"
    assert "400m" in git_out(work_repo, "show", f"{BRANCH}:apps/api/deployment.yaml")
    assert git_out(work_repo, "branch", "--list", "costpilot/*").split() == [BRANCH]


def test_explicit_base_sha_is_used_even_when_main_moved(work_repo: Path) -> None:
    base = git_out(work_repo, "rev-parse", "HEAD").strip()
    (work_repo / "NEW.md").write_text("later\n")
    git_out(work_repo, "add", "NEW.md")
    git_out(work_repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "later")
    result = get_forge("local", ForgeConfig(repo=str(work_repo))).publish(request(base_sha=base))
    assert git_out(work_repo, "rev-parse", f"{result.commit_sha}^").strip() == base


def test_new_file_in_a_new_folder(work_repo: Path) -> None:
    result = get_forge("local", ForgeConfig(repo=str(work_repo))).publish(
        request("a: 1\n", path="apps/new/x.yaml")
    )
    assert git_out(work_repo, "show", f"{result.commit_sha}:apps/new/x.yaml") == "a: 1\n"


def test_refuses_to_move_the_checked_out_branch(work_repo: Path) -> None:
    git_out(work_repo, "checkout", "-q", "-b", BRANCH)
    with pytest.raises(ExternalError, match="is checked out in"):
        get_forge("local", ForgeConfig(repo=str(work_repo))).publish(request())


@pytest.mark.parametrize("path", ["../escape.yaml", "/etc/passwd", "apps/../../x.yaml", "apps//x.yaml", ""])
def test_paths_outside_the_repository_are_refused(work_repo: Path, path: str) -> None:
    with pytest.raises(InputError, match="is not a plain path inside the repository"):
        get_forge("local", ForgeConfig(repo=str(work_repo))).publish(request(path=path))
    assert git_out(work_repo, "branch", "--list", "costpilot/*") == ""


def test_configuration_errors_are_one_line(tmp_path: Path, work_repo: Path) -> None:
    with pytest.raises(ConfigError, match=r"is not a git repository"):
        get_forge("local", ForgeConfig(repo=str(tmp_path)))
    with pytest.raises(ConfigError, match=r"is not a directory"):
        get_forge("local", ForgeConfig(repo=str(tmp_path / "missing")))
    with pytest.raises(ConfigError, match=r"unknown forge 'gitlab' \(valid: github, local\)"):
        get_forge("gitlab", ForgeConfig(repo="x"))
    with pytest.raises(ExternalError, match=r"base '0{40}' not found"):
        get_forge("local", ForgeConfig(repo=str(work_repo))).publish(request(base_sha="0" * 40))


segment = st.text(alphabet="abcXYZ019-_.", min_size=1, max_size=8)


@given(st.lists(segment, min_size=1, max_size=5))
def test_safe_path_accepts_plain_paths_and_rejects_dot_segments(parts: list[str]) -> None:
    path = "/".join(parts)
    if any(p in (".", "..") for p in parts):
        with pytest.raises(InputError):
            safe_repo_path(path)
    else:
        assert safe_repo_path(path) == path


def test_commit_message_is_title_then_pr_body_then_trailers(work_repo: Path) -> None:
    body = "<!-- costpilot:proposal=p1 -->\n## Right-size shop/api\n\n| workload | delta |\n|---|---:|\n"
    message = "Right-size shop/api\n\ncostpilot proposal p1\nApproved-by: U1\n"
    result = get_forge("local", ForgeConfig(repo=str(work_repo))).publish(
        request(body=body, commit_message=message)
    )
    assert git_out(work_repo, "log", "-1", "--format=%B", result.commit_sha) == (
        "Right-size shop/api\n\n"
        "<!-- costpilot:proposal=p1 -->\n## Right-size shop/api\n\n| workload | delta |\n|---|---:|\n\n"
        "costpilot proposal p1\nApproved-by: U1\n\n"
    )
    assert git_out(work_repo, "log", "-1", "--format=%s", result.commit_sha) == "Right-size shop/api\n"


def test_base_must_hold_the_file_the_patch_was_made_on(work_repo: Path) -> None:
    forge = get_forge("local", ForgeConfig(repo=str(work_repo)))
    planned_on = git_out(work_repo, "rev-parse", "HEAD").strip()
    made_on = FileContent(path="apps/api/deployment.yaml", content=PATCHED, before=DEPLOYMENT)
    (work_repo / "apps/api/deployment.yaml").write_text(DEPLOYMENT.replace('cpu: "2"', 'cpu: "3"'))
    git_out(work_repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-am", "later")
    moved = git_out(work_repo, "rev-parse", "HEAD").strip()
    # On the tip the file is no longer what the patch saw: refused, no branch (nothing reverted).
    with pytest.raises(
        ExternalError,
        match=rf"^apps/api/deployment.yaml on base {moved[:12]} in .* is not the file the patch was made "
        r"on; run `costpilot scan` to re-plan$",
    ):
        forge.publish(request(files=[made_on]))
    assert git_out(work_repo, "branch", "--list", "costpilot/*") == ""
    # On the commit it was planned on, it is.
    result = forge.publish(request(files=[made_on], base_sha=planned_on))
    assert git_out(work_repo, "rev-parse", f"{result.commit_sha}^").strip() == planned_on
    # A new file: ``before`` "" means it must not exist on the base yet.
    new = FileContent(path="apps/api/README.md", content="x\n", before="")
    assert forge.publish(request(files=[new], branch="costpilot/x/new")).created
    with pytest.raises(ExternalError, match=r"^README.md on base .* is not the file the patch was made on"):
        forge.publish(request(files=[FileContent(path="README.md", content="y\n", before="")]))


def test_crlf_file_matches_the_before_read_with_universal_newlines(work_repo: Path) -> None:
    (work_repo / "apps/api/deployment.yaml").write_bytes(DEPLOYMENT.replace("\n", "\r\n").encode())
    git_out(work_repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-am", "crlf")
    made_on = FileContent(path="apps/api/deployment.yaml", content=PATCHED, before=DEPLOYMENT)
    result = get_forge("local", ForgeConfig(repo=str(work_repo))).publish(request(files=[made_on]))
    assert git_out(work_repo, "show", f"{result.commit_sha}:apps/api/deployment.yaml") == PATCHED
