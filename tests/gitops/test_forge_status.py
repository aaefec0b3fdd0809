"""Forge.status(branch) → open | merged | closed, on the local forge (git) and on GitHub (the
stand-in, merged and closed the way people do it on GitHub)."""

from __future__ import annotations

from pathlib import Path

import pytest
from forge_samples import PATCHED, git_out
from github_standin import GitHubStandin
from pydantic import SecretStr
from test_forge_github import BRANCH, forge_for
from test_forge_github import request as gh_request
from test_forge_local import request as local_request

from domain.errors import ConfigError, ExternalError
from gitops.forges import ForgeConfig, PullRequestStatus, UnknownPullRequest, get_forge, redact

OPEN, MERGED, CLOSED = PullRequestStatus.open, PullRequestStatus.merged, PullRequestStatus.closed
AS_T = ["-c", "user.name=t", "-c", "user.email=t@t"]


def local(repo: Path):  # type: ignore[no-untyped-def]
    return get_forge("local", ForgeConfig(repo=str(repo)))


# ----- local forge -----
def test_local_published_branch_is_open_until_merged_into_main(work_repo: Path) -> None:
    forge = local(work_repo)
    forge.publish(local_request())
    assert forge.status(BRANCH) is OPEN
    git_out(work_repo, *AS_T, "merge", "-q", "--no-ff", "-m", "merge", BRANCH)
    assert forge.status(BRANCH) is MERGED
    # Deleting a merged branch (GitHub's "delete branch" habit) keeps it merged.
    git_out(work_repo, "branch", "-q", "-D", BRANCH)
    assert forge.status(BRANCH) is MERGED


def test_local_squash_merge_counts_as_merged(work_repo: Path) -> None:
    forge = local(work_repo)
    forge.publish(local_request())
    git_out(work_repo, "merge", "-q", "--squash", BRANCH)
    git_out(work_repo, *AS_T, "commit", "-q", "-m", "squashed")
    assert forge.status(BRANCH) is MERGED


def test_local_branch_deleted_unmerged_is_closed_and_never_published_is_unknown(work_repo: Path) -> None:
    forge = local(work_repo)
    forge.publish(local_request())
    git_out(work_repo, "branch", "-q", "-D", BRANCH)
    assert forge.status(BRANCH) is CLOSED
    # The record lives outside refs/heads: `git branch` does not show it.
    assert git_out(work_repo, "branch", "--list", "costpilot/*") == ""
    with pytest.raises(
        UnknownPullRequest,
        match=r"^no pull request for costpilot/x/never in .*: costpilot never published it$",
    ):
        forge.status("costpilot/x/never")
    # Published again after the close: a new "PR", open.
    assert forge.publish(local_request(PATCHED.replace("500m", "400m"))).created
    assert forge.status(BRANCH) is OPEN


def test_local_status_follows_the_configured_base_branch(work_repo: Path) -> None:
    git_out(work_repo, "branch", "release")
    forge = get_forge("local", ForgeConfig(repo=str(work_repo), base_branch="release"))
    forge.publish(local_request())
    git_out(work_repo, *AS_T, "merge", "-q", "--no-ff", "-m", "merge", BRANCH)  # into main only
    assert forge.status(BRANCH) is OPEN
    assert local(work_repo).status(BRANCH) is MERGED


# ----- GitHub -----
@pytest.mark.parametrize("method", ["merge", "squash"])
def test_github_pr_open_then_merged_even_after_its_branch_is_deleted(
    standin: GitHubStandin, method: str
) -> None:
    forge = forge_for(standin)
    forge.publish(gh_request())
    assert forge.status(BRANCH) is OPEN
    standin.merge(1, method)
    assert forge.status(BRANCH) is MERGED
    standin.delete_branch(BRANCH)
    assert forge.status(BRANCH) is MERGED
    assert standin.calls_to("GET", "/pulls")[-1][1] == "/repos/acme/gitops/pulls"


def test_github_closed_pr_then_a_new_one_for_the_same_branch(standin: GitHubStandin) -> None:
    forge = forge_for(standin)
    forge.publish(gh_request())
    standin.close(1)
    assert forge.status(BRANCH) is CLOSED
    again = forge.publish(gh_request(body="new evidence"))
    assert (again.number, again.created) == (2, True)
    assert forge.status(BRANCH) is OPEN
    standin.close(2)
    assert forge.status(BRANCH) is CLOSED


def test_github_branch_without_a_pr_is_unknown(standin: GitHubStandin) -> None:
    with pytest.raises(
        UnknownPullRequest, match=r"^GitHub has no pull request for costpilot/x/never in acme/gitops$"
    ):
        forge_for(standin).status("costpilot/x/never")


def test_github_status_failure_is_one_line(standin: GitHubStandin) -> None:
    standin.fail("GET", r"/pulls$", 403)
    with pytest.raises(ExternalError) as info:
        forge_for(standin).status(BRANCH)
    assert str(info.value) == (
        f"GitHub 403 while looking up the pull request of {BRANCH} in acme/gitops: stand-in fault 403"
    )


@pytest.mark.parametrize(
    "url",
    [
        "api.github.com",
        "http://",
        "https://host:port/api/v3",
        "https//github.example",
        "ftp://github.example",
        "https://exa mple.com",
        ":::",
        "https://github.example/api/v3?x=1",
    ],
)
def test_malformed_base_url_is_one_line_naming_the_setting(url: str) -> None:
    with pytest.raises(ConfigError) as info:
        get_forge("github", ForgeConfig(repo="acme/gitops", github_base_url=url, token=SecretStr("ghp-x")))
    message = str(info.value)
    assert message == (
        f"COSTPILOT_GITHUB_BASE_URL: {url!r} is not an http(s) API URL "
        "(e.g. https://api.github.com or https://HOST/api/v3)"
    )


def test_base_url_with_credentials_is_not_echoed() -> None:
    with pytest.raises(ConfigError) as info:
        get_forge(
            "github",
            ForgeConfig(repo="a/b", github_base_url="https://bob:hunter2@:99999", token=SecretStr("ghp-x")),
        )
    assert "hunter2" not in str(info.value) and "//***@" in str(info.value)


def test_an_error_that_echoes_the_token_is_redacted(standin: GitHubStandin) -> None:
    standin.fail("POST", r"/pulls$", 502, message="proxy rejected request with header {authorization}")
    with pytest.raises(ExternalError) as info:
        forge_for(standin).publish(gh_request())
    assert str(info.value) == (
        "GitHub 502 while opening the pull request in acme/gitops: proxy rejected request with header token ***"
    )
    assert "ghp-good" not in str(info.value)


def test_redact_hides_given_secrets_and_github_token_shapes() -> None:
    classic = "ghp_" + "A1b2" * 9
    installation = "ghs_" + "Z9y8" * 9
    fine = "github_pat_" + "11AB" * 10
    text = f"a {classic} b {installation} c {fine} d s3cr3t-value e"
    assert redact(text, ["s3cr3t-value", None, ""]) == "a *** b *** c *** d *** e"
    assert redact("nothing secret here", ["ghp-good"]) == "nothing secret here"
