"""The GitHub forge (PyGithub): Git Data API commit on a deterministic branch, one PR per branch.

Renovate's habit: the branch is fixed per target, so an existing open PR for it is edited rather
than a second one opened. Infracost's habit: the bot's comment carries a hidden marker and is
edited in place. ``base_url`` points at GitHub Enterprise (``https://HOST/api/v3``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TypeVar
from urllib.parse import urlsplit

import requests
from github import Auth, Github, GithubException, InputGitTreeElement
from github.GitCommit import GitCommit
from github.GithubException import BadCredentialsException, UnknownObjectException
from github.GitTree import GitTree
from github.PullRequest import PullRequest
from github.Repository import Repository
from urllib3.util.retry import Retry

from domain.errors import ConfigError, ExternalError
from gitops.forges.base import (
    AuditHeadAnchor,
    ForgeConfig,
    PublishRequest,
    PublishResult,
    PullRequestStatus,
    UnknownPullRequest,
    parse_body_audit_head,
    redact,
    safe_repo_path,
)
from gitops.forges.retry import is_rate_limited, with_retries

_REPO_NAME = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
T = TypeVar("T")


def api_base_url(url: str) -> str:
    """``COSTPILOT_GITHUB_BASE_URL`` checked: http(s), a host, a numeric port if any, no spaces
    (PyGithub would fail on anything else with an ``AttributeError`` deep inside)."""
    example = "e.g. https://api.github.com or https://HOST/api/v3"
    try:
        parts = urlsplit(url.strip())
        port_ok = parts.port is None or parts.port > 0
    except ValueError:  # a port that is not a number
        parts, port_ok = None, False
    if (
        parts is None
        or not port_ok
        or parts.scheme not in ("http", "https")
        or not parts.hostname
        or any(ch.isspace() for ch in url.strip())
        or parts.query
        or parts.fragment
    ):
        shown = redact(re.sub(r"//[^/@]*@", "//***@", url))  # never echo credentials in a URL
        raise ConfigError(f"COSTPILOT_GITHUB_BASE_URL: {shown!r} is not an http(s) API URL ({example})")
    return url.strip().rstrip("/")


def _auth(config: ForgeConfig) -> Auth.Auth:
    """Token auth, or GitHub App installation auth from app id + private key file + installation id."""
    if config.token is not None:
        return Auth.Token(config.token.get_secret_value())
    if config.app_id and config.app_key_file and config.installation_id:
        try:
            key = config.app_key_file.read_text()
        except OSError as exc:
            raise ConfigError(
                f"COSTPILOT_GITHUB_APP_KEY_FILE: cannot read {config.app_key_file}: {exc.strerror}"
            ) from None
        return Auth.AppAuth(int(config.app_id), key).get_installation_auth(int(config.installation_id))
    raise ConfigError(
        "github forge needs GITHUB_TOKEN, or COSTPILOT_GITHUB_APP_ID, COSTPILOT_GITHUB_APP_KEY_FILE "
        "and COSTPILOT_GITHUB_INSTALLATION_ID"
    )


class GitHubForge:
    name = "github"

    def __init__(self, config: ForgeConfig) -> None:
        if not _REPO_NAME.match(config.repo):
            raise ConfigError(f"COSTPILOT_GITOPS_REPO: {config.repo!r} is not OWNER/NAME")
        self.config = config
        self.base_url = api_base_url(config.github_base_url)
        # Only idempotent requests are retried (urllib3's default method list): a retried POST
        # could open a second PR, and the next run's lookup by branch already covers that case.
        retry = Retry(total=config.retries, backoff_factor=0.1, status_forcelist=(500, 502, 503, 504))
        self.client = Github(
            base_url=self.base_url,
            auth=_auth(config),
            timeout=int(config.timeout_seconds),
            retry=retry,
            seconds_between_requests=config.seconds_between_requests,
            seconds_between_writes=config.seconds_between_writes,
        )
        self._step = "start"

    def publish(self, request: PublishRequest) -> PublishResult:
        """Branch from the base SHA, one commit with the files, open or update the PR, labels, comment."""
        return self._call(self._publish, request)

    def status(self, branch: str) -> PullRequestStatus:
        """The PR whose head is ``branch``: open if one is open, else the newest one merged or
        closed; ``UnknownPullRequest`` when the branch never had a PR."""
        return self._call(self._status, branch)

    def audit_anchors(self) -> list[AuditHeadAnchor]:
        """The audit heads recorded in costpilot's pull requests (open, merged or closed): the
        ``Audit-Head`` line of each PR body, an anchor GitHub keeps outside the state database."""
        return self._call(self._audit_anchors)

    def _audit_anchors(self) -> list[AuditHeadAnchor]:
        self._step = "reading"
        repo = self.client.get_repo(self.config.repo)
        self._step = "listing costpilot's pull requests in"
        anchors: dict[tuple[int, str], AuditHeadAnchor] = {}
        for pr in repo.get_pulls(state="all", sort="created", direction="asc"):
            if not pr.head.ref.startswith("costpilot/"):
                continue
            found = parse_body_audit_head(pr.body or "")
            if found is not None and found not in anchors:
                anchors[found] = AuditHeadAnchor(seq=found[0], hash=found[1], where=f"PR {pr.html_url}")
        return sorted(anchors.values(), key=lambda a: a.seq)

    def _call(self, step: Callable[..., T], *args: object) -> T:
        """Run ``step`` — again from the start on a 5xx or a rate limit, with backoff and
        ``Retry-After`` honoured, a bounded number of times (``gitops.forges.retry``) — and turn
        every GitHub or network failure into one ``ExternalError`` line, with the credentials
        redacted (a server or proxy may echo them)."""
        made = [0]

        def attempt() -> T:
            made[0] += 1
            return step(*args)

        try:
            return with_retries(
                attempt,
                attempts=self.config.publish_attempts,
                backoff_seconds=self.config.backoff_seconds,
                max_wait_seconds=self.config.max_wait_seconds,
            )
        except BadCredentialsException as exc:
            message = (
                f"GitHub refused the credentials ({exc.status} Bad credentials) at {self.base_url} "
                f"while {self._step} {self.config.repo}"
            )
        except UnknownObjectException as exc:
            message = f"GitHub 404 while {self._step} {self.config.repo}: {_message(exc)}"
        except GithubException as exc:
            kind = "rate limit " if is_rate_limited(exc) else ""
            tries = made[0]
            gave_up = ""
            if self.config.publish_attempts > 1 and (exc.status >= 500 or kind):
                gave_up = f" (gave up after {tries} {'try' if tries == 1 else 'tries'}"
                gave_up += (
                    ": the server asked to wait longer)" if tries < self.config.publish_attempts else ")"
                )
            message = (
                f"GitHub {kind}{exc.status} while {self._step} {self.config.repo}: {_message(exc)}{gave_up}"
            )
        except requests.exceptions.RetryError:
            each = (
                f"{made[0]} tries of {self.config.retries} retries each"
                if made[0] > 1
                else f"{self.config.retries} retries"
            )
            message = (
                f"GitHub kept answering 5xx at {self.base_url} while {self._step} {self.config.repo} "
                f"(gave up after {each})"
            )
        except requests.RequestException as exc:
            message = f"GitHub unreachable at {self.base_url} while {self._step}: {type(exc).__name__}"
        raise ExternalError(redact(message, self._secrets())) from None

    def _secrets(self) -> list[str | None]:
        # A GitHub App's installation token (``ghs_…``) is caught by ``redact``'s token shapes.
        return [self.config.token.get_secret_value() if self.config.token else None]

    def _status(self, branch: str) -> PullRequestStatus:
        self._step = "reading"
        repo = self.client.get_repo(self.config.repo)
        self._step = f"looking up the pull request of {branch} in"
        pulls = repo.get_pulls(
            state="all", head=f"{repo.owner.login}:{branch}", sort="created", direction="desc"
        )
        newest = None
        for pr in pulls:
            if pr.state == "open":
                return PullRequestStatus.open
            newest = newest or pr
        if newest is None:
            raise UnknownPullRequest(f"GitHub has no pull request for {branch} in {self.config.repo}")
        return PullRequestStatus.merged if newest.merged_at is not None else PullRequestStatus.closed

    def _publish(self, request: PublishRequest) -> PublishResult:
        self._step = "reading"
        repo = self.client.get_repo(self.config.repo)
        base_branch = self.config.base_branch or repo.default_branch
        self._step = "resolving the base of"
        base_sha = request.base_sha or repo.get_git_ref(f"heads/{base_branch}").object.sha
        base_commit = repo.get_git_commit(base_sha)

        self._step = "writing blobs to"
        elements = [
            InputGitTreeElement(
                safe_repo_path(f.path), "100644", "blob", sha=repo.create_git_blob(f.content, "utf-8").sha
            )
            for f in request.files
        ]
        self._step = "writing the tree to"
        tree = repo.create_git_tree(elements, base_commit.tree)
        commit_sha, branch_updated, created_branch = self._move_branch(repo, request, base_commit, tree)

        self._step = "looking up the pull request in"
        owner = repo.owner.login
        open_prs = repo.get_pulls(state="open", head=f"{owner}:{request.branch}", base=base_branch)
        pr = next(iter(open_prs), None)
        created = pr is None
        if pr is None:
            self._step = "opening the pull request in"
            pr = repo.create_pull(
                base=base_branch, head=request.branch, title=request.title, body=request.body
            )
        elif pr.title != request.title or (pr.body or "") != request.body:
            self._step = "updating the pull request in"
            pr.edit(title=request.title, body=request.body)
        self._labels(pr, request.labels)
        if request.comment:
            self._comment(pr, request)
        return PublishResult(
            forge=self.name,
            branch=request.branch,
            commit_sha=commit_sha,
            url=pr.html_url,
            number=pr.number,
            created=created or created_branch,
            branch_updated=branch_updated,
        )

    def _move_branch(
        self, repo: Repository, request: PublishRequest, base_commit: GitCommit, tree: GitTree
    ) -> tuple[str, bool, bool]:
        """(commit sha, branch moved?, branch created?); an identical branch is left as it is."""
        self._step = "reading the branch in"
        try:
            ref = repo.get_git_ref(f"heads/{request.branch}")
        except UnknownObjectException:
            ref = None
        if ref is not None:
            tip = repo.get_git_commit(ref.object.sha)
            if tip.tree.sha == tree.sha and [p.sha for p in tip.parents] == [base_commit.sha]:
                return tip.sha, False, False
        self._step = "committing to"
        commit = repo.create_git_commit(request.commit_message, tree, [base_commit])
        if ref is None:
            self._step = "creating the branch in"
            repo.create_git_ref(f"refs/heads/{request.branch}", commit.sha)
            return commit.sha, True, True
        self._step = "moving the branch in"
        ref.edit(commit.sha, force=True)
        return commit.sha, True, False

    def _labels(self, pr: PullRequest, labels: list[str]) -> None:
        have = {label.name for label in pr.labels}
        missing = [label for label in labels if label not in have]
        if missing:
            self._step = "labelling the pull request in"
            pr.add_to_labels(*missing)

    def _comment(self, pr: PullRequest, request: PublishRequest) -> None:
        self._step = "reading comments in"
        for comment in pr.get_issue_comments():
            if (comment.body or "").startswith(request.comment_marker):
                if comment.body != request.comment:
                    self._step = "updating the bot comment in"
                    comment.edit(request.comment or "")
                return
        self._step = "commenting in"
        pr.create_issue_comment(request.comment or "")


def _message(exc: GithubException) -> str:
    data = exc.data if isinstance(exc.data, dict) else {}
    text = str(data.get("message") or exc.message or "request failed")
    return text.splitlines()[0] if text else "request failed"
