"""Issue #14 item 3: secrets are never echoed.

One canary value is set as every secret costpilot knows (GitHub token, Slack bot token, signing
secret and app token, LLM API keys, the audit key, a database password inside a URL). It must
appear nowhere — stdout, stderr, the workspace log, the state DB, audit rows, rejected-row files,
the GitOps repository's commits — across the whole demo and the failure paths: a GitHub that
echoes the request's Authorization header in its error, bad input, an unreachable database.
A forge or Slack base URL over plain http is refused unless it is on loopback.
"""

from __future__ import annotations

import contextlib
import io
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from domain.redaction import clear_secrets, redact, register_secrets, secrets_from_environment

# Not token-shaped on purpose: only the registry of configured secrets can hide it.
CANARY = "cnry0c4f9e2b7a16d58e3f0a9b2c7d41e6"
SECRET_ENV = (
    "GITHUB_TOKEN",
    "SLACK_BOT_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SLACK_APP_TOKEN",
    "OPENAI_API_KEY",
    "ANTHROPIC_API_KEY",
    "COSTPILOT_LLM_API_KEY",
    "COSTPILOT_AUDIT_KEY",
)
CANARY_BYTES = CANARY.encode()


@dataclass
class Run:
    code: int
    out: str
    err: str

    @property
    def text(self) -> str:
        return self.out + self.err


def _cli(*args: str) -> Run:
    from app.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return Run(code, out.getvalue(), err.getvalue())


def _leaks_in_files(root: Path) -> list[str]:
    """Every file under ``root`` whose bytes show the canary (the SQLite DB and its WAL, logs,
    rejected-row files, the digest …), and git history (objects are compressed) as text."""
    found = [str(p) for p in root.rglob("*") if p.is_file() and CANARY_BYTES in p.read_bytes()]
    for git_dir in [p.parent for p in root.rglob("HEAD") if p.parent.name.endswith((".git", "git"))]:
        log = subprocess.run(
            ["git", "--git-dir", str(git_dir), "log", "--all", "-p", "--format=%H%n%B"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout
        if CANARY in log:
            found.append(f"git history of {git_dir}")
    return found


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Run]]:
    """The whole demo, once, with the canary as every secret."""
    home = tmp_path_factory.mktemp("canary") / "ws"
    with pytest.MonkeyPatch.context() as mp:
        for name in SECRET_ENV:
            mp.setenv(name, CANARY)
        for name in ("COSTPILOT_HOME", "COSTPILOT_AS_OF", "COSTPILOT_DATABASE_URL", "COSTPILOT_FORGE",
                     "COSTPILOT_GITOPS_REPO", "COSTPILOT_GITHUB_BASE_URL", "COSTPILOT_LLM"):  # fmt: skip
            mp.delenv(name, raising=False)
        mp.setenv("COSTPILOT_HOME", str(home))
        run = _cli("--workspace", str(home), "demo")
        yield home, run
    clear_secrets()


@pytest.fixture
def canary_env(monkeypatch: pytest.MonkeyPatch, demo: tuple[Path, Run]) -> Path:
    home = demo[0]
    for name in SECRET_ENV:
        monkeypatch.setenv(name, CANARY)
    monkeypatch.setenv("COSTPILOT_HOME", str(home))
    return home


@pytest.mark.slow
def test_canary_never_appears_across_the_demo(demo: tuple[Path, Run]) -> None:
    home, run = demo
    assert run.code == 0, run.err[-2000:]
    assert "audit log intact" in run.out and "approved by U_DEMO_LEAD" in run.out  # the whole loop ran
    assert CANARY not in run.text
    assert (home / "logs" / "costpilot.log").is_file() and (home / "state.sqlite").is_file()
    assert _leaks_in_files(home) == []


@pytest.mark.slow
def test_canary_never_appears_when_github_echoes_the_token(
    canary_env: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from tests.gitops.github_standin import GitHubStandin

    home = canary_env
    listed = _cli("proposals", "list", "--state", "awaiting_approval", "--json")
    assert listed.code == 0, listed.err
    pid = listed.out.split('"id": "')[1].split('"')[0]
    checkout = home / "sample" / "gitops-repo"
    bare = tmp_path / "remote.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(checkout), str(bare)], check=True)
    server = GitHubStandin(repo_path=bare, tokens={CANARY}).start()
    # A misbehaving proxy in front of GitHub: its error repeats the Authorization header.
    server.fail("POST", r"/git/refs$", 422, times=5, message="Reference update failed for {authorization}")
    server.fail("POST", r"/pulls$", 422, times=5, message="Validation failed: {authorization}")
    remediation = home / "remediation.toml"
    original = remediation.read_text()
    try:
        remediation.write_text(f'gitops_checkout = "{checkout}"\n' + original)
        monkeypatch.setenv("COSTPILOT_FORGE", "github")
        monkeypatch.setenv("COSTPILOT_GITOPS_REPO", "acme/gitops")
        monkeypatch.setenv("COSTPILOT_GITHUB_BASE_URL", server.base_url)  # http, but loopback
        first = _cli("approve", pid, "--as", "U_DEMO_LEAD")
        again = _cli("approve", pid, "--as", "U_DEMO_LEAD")
        shown = _cli("proposals", "show", pid)
        shown_json = _cli("proposals", "show", pid, "--json")
    finally:
        remediation.write_text(original)
        server.stop()
    echoed = [c for c in server.calls if c[1].endswith(("/git/refs", "/pulls"))]
    assert echoed, "the stand-in never saw the failing call: the failure path did not run"
    assert first.code == 2 and "422" in first.err and "***" in first.err
    for run in (first, again, shown, shown_json):
        assert CANARY not in run.text
    assert _leaks_in_files(home) == [] and _leaks_in_files(bare) == []


@pytest.mark.slow
@pytest.mark.parametrize(
    ("env", "args"),
    [
        ({}, ("spend", "--period", "not-a-period")),
        ({}, ("--as-of", "yesterday-ish", "spend")),
        ({}, ("ingest", "focus", "/nonexistent/bill.csv")),
        (
            {"COSTPILOT_DATABASE_URL": f"postgresql://postgres:{CANARY}@127.0.0.1:1/nodb"},
            ("proposals", "list"),
        ),
        ({"COSTPILOT_WAREHOUSE_URL": f"postgresql://postgres:{CANARY}@127.0.0.1:1/nodb"}, ("spend",)),
        ({"COSTPILOT_GITHUB_BASE_URL": f"http://x:{CANARY}@ghe.example/api/v3"}, ("proposals", "list")),
        ({"COSTPILOT_FORGE": "github", "COSTPILOT_GITHUB_BASE_URL": "http://127.0.0.1:1"}, ("scan",)),
    ],
)
def test_canary_never_appears_on_failure_paths(
    canary_env: Path, monkeypatch: pytest.MonkeyPatch, env: dict[str, str], args: tuple[str, ...]
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    run = _cli(*args)
    assert run.code == 2, run.text  # refused in one line ...
    assert run.err.startswith("costpilot: error: ") and run.err.count("\n") == 1
    assert CANARY not in run.text  # ... that never shows the secret
    assert _leaks_in_files(canary_env / "logs") == []


@pytest.mark.parametrize(
    ("variable", "url"),
    [
        ("COSTPILOT_GITHUB_BASE_URL", "http://ghe.example/api/v3"),
        ("COSTPILOT_SLACK_API_BASE_URL", "http://slack.example/api/"),
    ],
)
def test_plain_http_base_urls_are_refused_off_loopback(
    run_cli: Any, workspace: Path, monkeypatch: pytest.MonkeyPatch, variable: str, url: str
) -> None:
    monkeypatch.setenv(variable, url)
    result = run_cli("proposals", "list")
    assert result.code == 2 and result.out == ""
    assert result.err.startswith("costpilot: error: setting '")
    assert f"{url}: plain http would send the token unencrypted; use https://" in result.err
    assert result.err.count("\n") == 1


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:8080/api", "http://localhost:9/", "http://[::1]:7/", "https://ghe.example/api/v3"],
)
def test_loopback_http_and_https_base_urls_are_accepted(
    run_cli: Any, workspace: Path, monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    monkeypatch.setenv("COSTPILOT_GITHUB_BASE_URL", url)
    monkeypatch.setenv("COSTPILOT_SLACK_API_BASE_URL", url)
    result = run_cli("proposals", "list")
    assert result.code == 0, result.err
    assert result.out == "no proposals (run `costpilot scan`)\n"


def test_redact_hides_registered_values_url_passwords_and_token_shapes() -> None:
    try:
        register_secrets([CANARY, "short"])  # too short to be a credential: ignored
        text = (
            f"auth {CANARY} at postgresql://app:pa%40ss@db:5432/x, ghp_{'a' * 36}, xoxb-123-456-abcdefgh, "
            f"sk-proj-{'b' * 24}, short"
        )
        assert redact(text) == "auth *** at postgresql://app:***@db:5432/x, ***, ***, ***, short"
    finally:
        clear_secrets()


def test_secrets_are_read_from_the_names_that_hold_them() -> None:
    environ = {
        "GITHUB_TOKEN": "gh-token-value",
        "SLACK_SIGNING_SECRET": "signing-secret-value",
        "AZURE_OPENAI_API_KEY": "azure-key-value",
        "COSTPILOT_AUDIT_KEY": "audit-key-value",
        "COSTPILOT_DATABASE_URL": "postgresql://app:pa%40ssword1@db/state",
        # Not credentials costpilot uses: hiding "postgres" or "false" would garble output.
        "POSTGRES_PASSWORD": "postgres",
        "TOKENIZERS_PARALLELISM": "false",
        "COSTPILOT_GITHUB_APP_KEY_FILE": "/etc/costpilot/app.pem",
    }
    assert sorted(secrets_from_environment(environ)) == [
        "audit-key-value",
        "azure-key-value",
        "gh-token-value",
        "pa%40ssword1",
        "pa@ssword1",
        "signing-secret-value",
    ]
