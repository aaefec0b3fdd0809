"""One bot comment per pull request, updated in place (Infracost's habit): the comment starts
with a hidden marker; a later run edits that comment instead of adding one, and leaves it alone
when the text is byte-identical. ``create=False`` only updates an existing comment (used for
"comment only when the cost goes up": a comment already there is still kept current)."""

from __future__ import annotations

from typing import Literal

from github.PullRequest import PullRequest
from pydantic import BaseModel, ConfigDict

from domain.errors import ExternalError, InputError
from gitops.forges.github import GitHubForge


class CommentResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    action: Literal["created", "updated", "unchanged", "skipped"]
    pull_request: int
    comment_id: int | None = None
    url: str | None = None


class GitHubComments(GitHubForge):
    """The GitHub forge, plus the review comment of a pull request."""

    def upsert_comment(
        self,
        body: str,
        marker: str,
        *,
        number: int | None = None,
        head: str | None = None,
        create: bool = True,
    ) -> CommentResult:
        """Create, update or keep the marked comment on PR ``number`` (or the open PR whose
        head branch is ``head``). ``body`` must start with ``marker``."""
        if not body.startswith(marker):
            raise InputError("the comment must start with its hidden marker")
        if number is None and not head:
            raise InputError("--post needs the pull request: --pr NUMBER (or a branch name as --head)")
        return self._call(self._upsert, body, marker, number, head, create)

    def _find_pull(self, number: int | None, head: str | None) -> PullRequest:
        self._step = "reading"
        repo = self.client.get_repo(self.config.repo)
        if number is not None:
            self._step = f"reading pull request #{number} of"
            return repo.get_pull(number)
        branch = (head or "").removeprefix("refs/heads/").removeprefix("origin/")
        self._step = f"looking up the open pull request of {branch} in"
        pr = next(iter(repo.get_pulls(state="open", head=f"{repo.owner.login}:{branch}")), None)
        if pr is None:
            raise ExternalError(
                f"GitHub has no open pull request for {branch} in {self.config.repo}; pass --pr"
            )
        return pr

    def _upsert(
        self, body: str, marker: str, number: int | None, head: str | None, create: bool
    ) -> CommentResult:
        pr = self._find_pull(number, head)
        self._step = "reading comments in"
        for comment in pr.get_issue_comments():
            if (comment.body or "").startswith(marker):
                if comment.body == body:
                    return CommentResult(
                        action="unchanged",
                        pull_request=pr.number,
                        comment_id=comment.id,
                        url=comment.html_url,
                    )
                self._step = "updating the review comment in"
                comment.edit(body)
                return CommentResult(
                    action="updated", pull_request=pr.number, comment_id=comment.id, url=comment.html_url
                )
        if not create:
            return CommentResult(action="skipped", pull_request=pr.number)
        self._step = "commenting in"
        made = pr.create_issue_comment(body)
        return CommentResult(action="created", pull_request=pr.number, comment_id=made.id, url=made.html_url)
