"""What every forge does: put one commit on a deterministic branch and open or update its PR,
and later tell whether that PR is still open, merged or closed unmerged.

A forge is idempotent by construction: the branch name is fixed per target, an existing branch
is moved (not duplicated), an existing open PR for the branch is edited (not opened again) and
the bot comment is found by its hidden marker. Running ``publish`` twice gives one PR.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from enum import StrEnum
from pathlib import Path
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from domain.errors import ExternalError, InputError
from domain.redaction import redact as redact_configured


class ForgeConfig(BaseModel):
    """Settings a forge needs; built by ``app`` from ``Settings`` (no global config here)."""

    model_config = ConfigDict(frozen=True)

    repo: str = Field(description="local: path of the GitOps checkout; github: OWNER/NAME")
    base_branch: str | None = Field(
        None,
        description="branch PRs start from; default: the repository's default branch (local: the "
        "branch origin/HEAD names, else init.defaultBranch, else main), never the checkout's HEAD",
    )
    github_base_url: str = "https://api.github.com"
    token: SecretStr | None = None
    app_id: str | None = None
    app_key_file: Path | None = None
    installation_id: str | None = None
    timeout_seconds: float = Field(15.0, gt=0, le=300)
    retries: int = Field(2, ge=0, le=10, description="retries of idempotent requests on 5xx")
    # 1 keeps a forge built by hand to one try; the product's settings ask for 4
    # (``COSTPILOT_GITHUB_ATTEMPTS``).
    publish_attempts: int = Field(
        1, ge=1, le=10, description="tries of a whole publish on 5xx or a rate limit (it is idempotent)"
    )
    backoff_seconds: float = Field(1.0, ge=0, le=60, description="first wait between tries; doubles")
    max_wait_seconds: float = Field(
        60.0, ge=0, le=3600, description="longest wait a Retry-After may ask for; longer gives up"
    )
    # GitHub asks integrators to pace requests (and writes especially) to avoid secondary rate limits.
    seconds_between_requests: float = Field(0.25, ge=0, le=10)
    seconds_between_writes: float = Field(1.0, ge=0, le=60)


class FileContent(BaseModel):
    """A file as it should be on the branch (path relative to the repository root)."""

    model_config = ConfigDict(frozen=True)

    path: str
    content: str
    before: str | None = Field(
        None,
        description="the file as the patch saw it ('' = did not exist); when set, a forge refuses "
        "a base that holds anything else, so a commit never reverts changes made after planning",
    )


class PublishRequest(BaseModel):
    model_config = ConfigDict(frozen=True)

    branch: str
    base_sha: str | None = Field(
        None, description="commit the patch was made on; default: the base branch tip"
    )
    title: str
    body: str
    commit_message: str
    files: list[FileContent]
    labels: list[str] = Field(default_factory=list)
    comment: str | None = Field(None, description="bot comment; must start with the marker")
    comment_marker: str = "<!-- costpilot:proposal="


class PublishResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    forge: str
    branch: str
    commit_sha: str
    url: str
    number: int | None = None
    created: bool = Field(description="True when this call opened the PR (or created the branch)")
    branch_updated: bool = Field(description="False when the branch already held exactly this change")


class PullRequestStatus(StrEnum):
    """Where a published branch's pull request stands on the forge."""

    open = "open"
    merged = "merged"
    closed = "closed"  # closed unmerged (or, on the local forge, the branch deleted unmerged)


class UnknownPullRequest(ExternalError):
    """The forge has no pull request for the branch (it was never published there)."""


class AuditHeadAnchor(BaseModel):
    """The audit chain's head as a published commit records it (``Audit-Head: SEQ:HASH``)."""

    model_config = ConfigDict(frozen=True)

    seq: int
    hash: str
    where: str


_AUDIT_HEAD = re.compile(r"^Audit-Head: (\d+):([0-9a-f]{64})\s*$", re.MULTILINE)


def parse_audit_head(message: str) -> tuple[int, str] | None:
    """The ``Audit-Head`` trailer of a commit message (the last one), or None."""
    found = _AUDIT_HEAD.findall(message)
    return (int(found[-1][0]), found[-1][1]) if found else None


# The PR body's hidden copy of the commit's ``Audit-Head`` trailer.
BODY_ANCHOR_MARKER = "<!-- costpilot:audit-head="
_BODY_AUDIT_HEAD = re.compile(re.escape(BODY_ANCHOR_MARKER) + r"(\d+):([0-9a-f]{64}) -->")


def parse_body_audit_head(body: str) -> tuple[int, str] | None:
    """The audit head hidden in a PR body (the last one), or None."""
    found = _BODY_AUDIT_HEAD.findall(body)
    return (int(found[-1][0]), found[-1][1]) if found else None


class Forge(Protocol):
    name: str

    def publish(self, request: PublishRequest) -> PublishResult:
        """Create or update the branch and its PR; safe to repeat."""
        ...

    def status(self, branch: str) -> PullRequestStatus:
        """open | merged | closed for the PR of ``branch``; ``UnknownPullRequest`` when the
        forge never had one. Reads only."""
        ...


REDACTED = "***"


def redact(message: str, secrets: Iterable[str | None] = ()) -> str:
    """``message`` with every given secret, every configured one and anything token-shaped as
    ``***``: a forge or proxy may echo the request (and its Authorization header) in an error."""
    for secret in sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True):
        message = message.replace(secret, REDACTED)
    return redact_configured(message)


def safe_repo_path(path: str) -> str:
    """A repository-relative path, refusing absolute paths and ``..`` (the patch must stay inside)."""
    parts = path.replace("\\", "/").split("/")
    if not path or path.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise InputError(f"file path {path!r} is not a plain path inside the repository")
    return "/".join(parts)
