"""The GitHub stand-in with the issue-comment shape GitHub really returns (``html_url``,
``issue_url``, timestamps) and ``GET /issues/comments/{id}``: PyGithub reads a missing attribute
of a listed comment by fetching the comment itself, so a stand-in without them would answer
404 where GitHub answers 200."""

from __future__ import annotations

from typing import Any

from tests.gitops.github_standin import GitHubStandin, now_iso


class GitHubCommentsStandin(GitHubStandin):
    def _routes(self) -> list[tuple[str, str, Any]]:
        return [*super()._routes(), ("GET", r"/issues/comments/(\d+)", self._get_comment)]

    def _comment_json(self, cid: int) -> dict[str, Any]:
        c = self.comments[cid]
        return {
            **super()._comment_json(cid),
            "html_url": f"https://github.test/{self.owner}/{self.name}/pull/{c['issue']}#issuecomment-{cid}",
            "issue_url": f"{self.api}/issues/{c['issue']}",
            "created_at": c.setdefault("created_at", now_iso()),
            "updated_at": now_iso(),
        }

    def _get_comment(self, cid: str, **_: Any) -> tuple[int, Any]:
        if int(cid) not in self.comments:
            return 404, {"message": "Not Found"}
        return 200, self._comment_json(int(cid))
