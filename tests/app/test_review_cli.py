"""``costpilot review``: exit codes, Markdown and JSON of the same data, and the one PR comment
on the GitHub stand-in (created, edited in place, never duplicated)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from services.review_render import MARKER
from tests.app.github_workspace import github_forge_for
from tests.gitops.github_standin_comments import GitHubCommentsStandin as GitHubStandin
from tests.services.review_helpers import EMBEDDING_PATCH, GPU, INFERENCE, ROOT, branch, git, sample_checkout


@pytest.fixture
def checkout(tmp_path: Path, workspace: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    repo = sample_checkout(tmp_path / "gitops")
    workspace.mkdir(parents=True, exist_ok=True)
    monkeypatch.setenv("COSTPILOT_FORGE", "local")
    monkeypatch.setenv("COSTPILOT_GITOPS_REPO", str(repo))
    return repo


def replicas(n: int):  # type: ignore[no-untyped-def]
    return {EMBEDDING_PATCH: lambda t: t.replace("replicas: 2", f"replicas: {n}")}


def test_exit_0_with_markdown_and_the_same_numbers_in_json(checkout: Path, run_cli) -> None:  # type: ignore[no-untyped-def]
    head = branch(checkout, "scale", replicas(4))
    text = run_cli("review", "--base", "main", "--head", head)
    assert text.code == 0, text.err
    lines = text.out.splitlines()
    assert lines[0] == MARKER
    assert lines[1] == "### costpilot review: monthly cost +$81.60 (+100.0%) · ✅ passed"
    assert (
        "| ml\\-platform\\-prod/Deployment/embedding\\-worker | modified: replicas 2 → replicas 4 | $81.60 → $163.20 | +$81.60 |"
        in lines
    )
    data = run_cli("review", "--base", "main", "--head", head, "--json").json()
    assert (data["monthly_before"], data["monthly_after"], data["monthly_delta"], data["verdict"]) == (
        "81.6",
        "163.2",
        "81.6",
        "pass",
    )
    assert [w["workload"] for w in data["workloads"]] == ["ml-platform-prod/Deployment/embedding-worker"]


def test_exit_1_when_a_policy_blocks_and_its_messages_are_escaped(checkout: Path, run_cli) -> None:  # type: ignore[no-untyped-def]
    (checkout / ".costpilot" / "policies" / "odd.rego").write_text(
        'package odd\ndeny[msg] { input.request.kind.kind == "Deployment"; msg := "<b>big</b> | *GPU*" }\n'
    )
    git(checkout, "add", "-A")
    git(checkout, "commit", "-q", "-m", "odd policy")
    head = branch(checkout, "llm", {"base/ml-platform/llm-serving.yaml": INFERENCE})
    result = run_cli("review", "--base", "main", "--head", head)
    assert result.code == 1, result.err
    assert (
        "| \\.costpilot/policies/odd\\.rego | ❌ fail | \\<b\\>big\\</b\\> \\| \\*GPU\\* (ml\\-platform\\-prod/Deployment/llm\\-serving) |"
        in result.out
    )
    assert "Container model requests 8 GPUs; the maximum is 4 per container" in result.out
    assert "<b>" not in result.out
    data = run_cli("review", "--base", "main", "--head", head, "--json")
    assert data.code == 1 and data.json()["verdict"] == "block"


def test_exit_2_for_a_policy_that_does_not_compile_on_the_base(checkout: Path, run_cli) -> None:  # type: ignore[no-untyped-def]
    (checkout / GPU).write_text(
        (ROOT / "tests" / "fixtures" / "rego" / "gpu-limits-as-printed.rego").read_text()
    )
    git(checkout, "commit", "-q", "-am", "policy as printed")
    head = branch(checkout, "scale", replicas(3))
    result = run_cli("review", "--base", "main", "--head", head, "--json")
    assert (result.code, result.out) == (2, "")
    assert result.err == (
        "costpilot: error: .costpilot/policies/gpu-limits.rego:12: calls re_match() and to_int(), which are "
        "neither a built-in of this Rego engine nor defined by the policies\n"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--head", "nope"], "--head 'nope': not a commit of the GitOps checkout"),
        (["--head", "-x"], "review: head '-x': String should match pattern"),
        (["--head", "main", "--gpu-price", "cheap"], "--gpu-price 'cheap': not a number"),
        (
            ["--head", "main", "--post"],
            "--post needs the GitHub forge (COSTPILOT_FORGE=github; it is 'local')",
        ),
    ],
)
def test_bad_input_is_one_line_and_exit_2(checkout: Path, run_cli, args: list[str], message: str) -> None:  # type: ignore[no-untyped-def]
    result = run_cli("review", "--base", "main", *args)
    assert result.code == 2 and result.out == ""
    assert result.err.startswith(f"costpilot: error: {message}") and result.err.count("\n") == 1


# ----- --post on the GitHub stand-in --------------------------------------------------------


@pytest.fixture
def github(
    checkout: Path, workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[GitHubStandin]:
    (workspace / "remediation.toml").write_text(f'gitops_checkout = "{checkout}"\n')
    with github_forge_for(checkout, monkeypatch, tmp_path, GitHubStandin) as server:
        yield server  # type: ignore[misc]


def open_pr(server: GitHubStandin, number: int, head: str) -> None:
    """A pull request a person opened (the stand-in's state, as GitHub would hold it)."""
    server.pulls[number] = {
        "title": f"change {head}", "body": "", "head": head, "base": "main", "state": "open",
        "labels": [], "merged_at": None, "closed_at": None,
    }  # fmt: skip


def bot_comments(server: GitHubStandin, issue: int) -> list[str]:
    return [
        c["body"] for c in server.comments.values() if c["issue"] == issue and c["body"].startswith(MARKER)
    ]


def test_post_writes_one_comment_then_edits_it_in_place(
    checkout: Path, github: GitHubStandin, run_cli
) -> None:  # type: ignore[no-untyped-def]
    first = branch(checkout, "scale", replicas(4))
    open_pr(github, 1, first)
    github.comments[900] = {"issue": 1, "body": "a person's review comment"}

    made = run_cli("review", "--base", "main", "--head", first, "--post")
    assert made.code == 0, made.err
    assert made.err == "costpilot: PR #1 comment created\n"
    assert bot_comments(github, 1) == [made.out]

    second = branch(checkout, "scale-more", replicas(6))
    edited = run_cli("review", "--base", "main", "--head", second, "--post", "--pr", "1", "--json")
    assert edited.code == 0, edited.err
    assert edited.json()["comment"]["action"] == "updated"
    (body,) = bot_comments(github, 1)
    assert "replicas 2 → replicas 6" in body and "+$163.20" in body
    assert len(github.calls_to("PATCH", "/issues/comments/")) == 1
    assert github.comments[900]["body"] == "a person's review comment"

    again = run_cli("review", "--base", "main", "--head", second, "--post", "--pr", "1")
    assert again.err == "costpilot: PR #1 comment unchanged\n"
    assert len(github.calls_to("PATCH", "/issues/comments/")) == 1
    assert len(github.calls_to("POST", "/issues/1/comments")) == 1
    assert len(bot_comments(github, 1)) == 1


def test_only_if_cost_increases_creates_no_comment_for_a_saving(
    checkout: Path, github: GitHubStandin, run_cli
) -> None:  # type: ignore[no-untyped-def]
    cheaper = branch(checkout, "fewer", replicas(1))
    open_pr(github, 2, cheaper)
    result = run_cli(
        "review", "--base", "main", "--head", cheaper, "--post", "--only-if-cost-increases", "--json"
    )
    assert result.code == 0, result.err
    assert result.json()["comment"] == {
        "action": "skipped",
        "pull_request": 2,
        "comment_id": None,
        "url": None,
    }
    assert result.json()["monthly_delta"] == "-40.8"
    assert github.calls_to("POST", "/issues/2/comments") == [] and bot_comments(github, 2) == []


def test_the_pre_push_hook_reviews_head_against_the_base_from_the_checkout(  # type: ignore[no-untyped-def]
    checkout: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from app.review_hook import main

    head = branch(checkout, "scale", replicas(4))
    git(checkout, "checkout", "-q", head)
    for name in ("COSTPILOT_HOME", "COSTPILOT_FORGE", "COSTPILOT_GITOPS_REPO"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.chdir(checkout)
    assert main(["--base", "main"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[1] == "### costpilot review: monthly cost +$81.60 (+100.0%) · ✅ passed"
    assert (tmp_path / "cache" / "costpilot-hook").is_dir()
    assert not (checkout / ".costpilot" / "costpilot.toml").exists()
    assert git(checkout, "status", "--porcelain") == ""  # nothing written into the repository
