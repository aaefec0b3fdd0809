"""The GitHub forge as real PyGithub against the REST stand-in backed by a bare git repository."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from forge_samples import PATCHED
from github_standin import GitHubStandin
from pydantic import SecretStr

from domain.errors import ConfigError, ExternalError
from gitops.forges import FileContent, ForgeConfig, PublishRequest, get_forge

BRANCH = "costpilot/rightsize-requests/shop-api"
MARKER = "<!-- costpilot:proposal="
# No pacing against the stand-in (production keeps PyGithub's 0.25 s / 1 s between requests / writes).
FAST = {"seconds_between_requests": 0.0, "seconds_between_writes": 0.0}


def request(
    content: str = PATCHED, body: str = "first body", comment: str = "first comment", **kw: object
) -> PublishRequest:
    return PublishRequest(
        branch=BRANCH,
        title="Right-size shop/api",
        body=body,
        commit_message="Right-size shop/api\n\ncostpilot proposal p1",
        files=[FileContent(path="apps/api/deployment.yaml", content=content)],
        labels=["costpilot", "rightsize-requests"],
        comment=f"{MARKER}p1 -->\n{comment}",
        **kw,  # type: ignore[arg-type]
    )


def forge_for(standin: GitHubStandin, token: str = "ghp-good", **kw: object):  # type: ignore[no-untyped-def]
    return get_forge(
        "github",
        ForgeConfig(
            repo="acme/gitops", github_base_url=standin.base_url, token=SecretStr(token), **{**FAST, **kw}
        ),  # type: ignore[arg-type]
    )


def bare_git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "--git-dir", str(repo), *args], capture_output=True, text=True, check=True
    ).stdout


def test_first_publish_opens_a_pr_with_branch_labels_and_comment(
    standin: GitHubStandin, bare_repo: tuple[Path, str]
) -> None:
    repo, base = bare_repo
    result = forge_for(standin).publish(request())
    assert (result.forge, result.number, result.created, result.branch_updated) == ("github", 1, True, True)
    assert result.url == "https://github.test/acme/gitops/pull/1"
    # Branch contents, straight from the bare repository.
    assert bare_git(repo, "show", f"{BRANCH}:apps/api/deployment.yaml") == PATCHED
    assert bare_git(repo, "show", f"{BRANCH}:README.md") == "# gitops\n"
    assert bare_git(repo, "rev-list", "--parents", "-n", "1", BRANCH).split() == [result.commit_sha, base]
    assert bare_git(repo, "log", "-1", "--format=%B", BRANCH).startswith(
        "Right-size shop/api\n\ncostpilot proposal p1"
    )
    assert bare_git(repo, "rev-parse", "main").strip() == base
    pr = standin.pulls[1]
    assert (pr["title"], pr["body"], pr["head"], pr["base"], pr["labels"]) == (
        "Right-size shop/api",
        "first body",
        BRANCH,
        "main",
        ["costpilot", "rightsize-requests"],
    )
    assert [c["body"] for c in standin.comments.values()] == [f"{MARKER}p1 -->\nfirst comment"]


def test_second_run_updates_the_same_pr_and_comment(
    standin: GitHubStandin, bare_repo: tuple[Path, str]
) -> None:
    forge = forge_for(standin)
    first = forge.publish(request())
    second = forge.publish(request(body="second body", comment="second comment"))
    assert (second.number, second.created, second.branch_updated) == (1, False, False)
    assert second.commit_sha == first.commit_sha
    assert len(standin.pulls) == 1 and standin.pulls[1]["body"] == "second body"
    assert [c["body"] for c in standin.comments.values()] == [f"{MARKER}p1 -->\nsecond comment"]
    assert len(standin.calls_to("POST", "/pulls")) == 1
    assert len(standin.calls_to("POST", "/git/commits")) == 1  # identical branch: no new commit
    assert len(standin.calls_to("PATCH", "/issues/comments/")) == 1
    # Labels already there are not posted again.
    assert len(standin.calls_to("POST", "/labels")) == 1


def test_changed_patch_force_moves_the_branch_to_one_commit_on_base(
    standin: GitHubStandin, bare_repo: tuple[Path, str]
) -> None:
    repo, base = bare_repo
    forge = forge_for(standin)
    first = forge.publish(request())
    moved = forge.publish(request(PATCHED.replace("500m", "400m")))
    assert moved.branch_updated and moved.number == 1 and moved.commit_sha != first.commit_sha
    assert bare_git(repo, "rev-list", "--count", f"{base}..{BRANCH}").strip() == "1"
    assert 'cpu: "400m"' in bare_git(repo, "show", f"{BRANCH}:apps/api/deployment.yaml")
    assert standin.calls_to("PATCH", f"/git/refs/heads/{BRANCH}")[0][2] == {
        "sha": moved.commit_sha,
        "force": True,
    }


def test_pr_opened_elsewhere_for_the_branch_is_reused(standin: GitHubStandin) -> None:
    forge = forge_for(standin)
    forge.publish(request())
    standin.comments.clear()
    standin.comments[900] = {"issue": 1, "body": "a human review comment"}
    again = forge.publish(request(comment="bot again"))
    assert again.number == 1 and len(standin.pulls) == 1
    assert sorted(c["body"] for c in standin.comments.values()) == [
        f"{MARKER}p1 -->\nbot again",
        "a human review comment",
    ]


def test_bad_token_is_one_line_external_error(standin: GitHubStandin) -> None:
    with pytest.raises(ExternalError) as info:
        forge_for(standin, token="ghp-wrong").publish(request())
    message = str(info.value)
    assert message == (
        f"GitHub refused the credentials (401 Bad credentials) at {standin.base_url} while reading acme/gitops"
    )
    assert "\n" not in message


def test_server_error_on_opening_is_reported_and_a_retry_gives_one_pr(standin: GitHubStandin) -> None:
    standin.fail("POST", r"/pulls$", 502)
    forge = forge_for(standin)
    with pytest.raises(
        ExternalError, match=r"^GitHub 502 while opening the pull request in acme/gitops: stand-in fault 502$"
    ):
        forge.publish(request())
    result = forge.publish(request())
    assert (result.number, result.created) == (1, True)
    assert len(standin.pulls) == 1


def test_transient_5xx_on_a_read_is_retried(standin: GitHubStandin) -> None:
    standin.fail("GET", r"/pulls$", 503, times=1)
    assert forge_for(standin).publish(request()).number == 1
    assert len(standin.calls_to("GET", "/pulls")) == 2


def test_persistent_5xx_gives_up_with_one_line(standin: GitHubStandin) -> None:
    standin.fail("GET", r"^/repos/acme/gitops$", 500, times=10)
    with pytest.raises(
        ExternalError,
        match=r"^GitHub kept answering 5xx at http://127.0.0.1:\d+ while reading acme/gitops \(gave up after 1 retries\)$",
    ):
        forge_for(standin, retries=1).publish(request())


def test_enterprise_base_url(bare_repo: tuple[Path, str]) -> None:
    server = GitHubStandin(repo_path=bare_repo[0], prefix="/api/v3").start()
    try:
        assert server.base_url.endswith("/api/v3")
        result = forge_for(server).publish(request())
        assert result.number == 1
        assert all(path.startswith("/repos/acme/gitops") for _, path, _ in server.calls)
    finally:
        server.stop()


def test_github_app_installation_auth(standin: GitHubStandin, tmp_path: Path) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key_file = tmp_path / "app.pem"
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    standin.app_id = 4242
    standin.app_public_key = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    config = ForgeConfig(
        repo="acme/gitops",
        github_base_url=standin.base_url,
        app_id="4242",
        app_key_file=key_file,
        installation_id="77",
        **FAST,
    )
    result = get_forge("github", config).publish(request())
    assert result.number == 1
    assert standin.calls_to("POST", "/app/installations/77/access_tokens")
    assert "ghs-installation-77" in standin.tokens


def test_missing_credentials_and_bad_repo_name_are_config_errors(
    standin: GitHubStandin, tmp_path: Path
) -> None:
    with pytest.raises(ConfigError, match="github forge needs GITHUB_TOKEN"):
        get_forge("github", ForgeConfig(repo="acme/gitops", github_base_url=standin.base_url))
    with pytest.raises(ConfigError, match=r"'acme' is not OWNER/NAME"):
        forge_for(standin).__class__(ForgeConfig(repo="acme", token=SecretStr("x")))
    with pytest.raises(ConfigError, match="cannot read"):
        get_forge(
            "github",
            ForgeConfig(repo="a/b", app_id="1", app_key_file=tmp_path / "none.pem", installation_id="2"),
        )
