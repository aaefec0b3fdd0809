"""The local forge: a git repository on disk; the "pull request" is a branch with one commit.

Only git plumbing is used (a throw-away index file, ``hash-object``, ``write-tree``,
``commit-tree``, ``update-ref``), so the repository's working tree, its index and its current
branch are never touched, and nothing is pushed.

PR branches start from the base branch's tip — ``base_branch`` when configured, else the
repository's default branch (the one ``origin/HEAD`` names, else ``init.defaultBranch``, else
``main``) — never from whatever the checkout has checked out: a work-in-progress branch's commits
must not ride along unreviewed. A patch planned on a commit that is not on the base branch is
committed on the base tip instead (its files must be there as the patch saw them).

Each published commit is also kept under ``refs/costpilot/published/<branch>`` (outside
``refs/heads``, so ``git branch`` does not list it and ``git branch -D`` leaves it): that is how
``status`` tells a branch deleted unmerged ("closed") from one costpilot never published.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

from domain.errors import ConfigError, ExternalError
from gitops.forges.base import (
    AuditHeadAnchor,
    ForgeConfig,
    PublishRequest,
    PublishResult,
    PullRequestStatus,
    UnknownPullRequest,
    parse_audit_head,
    safe_repo_path,
)

ZERO_OID = "0" * 40
PUBLISHED = "refs/costpilot/published/"
_IDENTITY = {
    "GIT_AUTHOR_NAME": "costpilot",
    "GIT_AUTHOR_EMAIL": "costpilot@localhost",
    "GIT_COMMITTER_NAME": "costpilot",
    "GIT_COMMITTER_EMAIL": "costpilot@localhost",
}


class LocalForge:
    name = "local"

    def __init__(self, config: ForgeConfig) -> None:
        self.path = Path(config.repo).expanduser().resolve()
        self.base_branch = config.base_branch
        if not self.path.is_dir():
            raise ConfigError(f"COSTPILOT_GITOPS_REPO: {self.path} is not a directory")
        probe = subprocess.run(
            ["git", "-C", str(self.path), "rev-parse", "--git-dir"],
            capture_output=True,
            text=True,
            check=False,
        )
        if probe.returncode != 0:
            raise ConfigError(f"COSTPILOT_GITOPS_REPO: {self.path} is not a git repository")

    def _git(self, *args: str, stdin: str | None = None, env: dict[str, str] | None = None) -> str:
        # A clean environment for git: no inherited GIT_DIR/GIT_INDEX_FILE from a calling hook.
        base_env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
        proc = subprocess.run(
            ["git", "-C", str(self.path), *args],
            input=stdin,
            capture_output=True,
            text=True,
            env={**base_env, **_IDENTITY, **(env or {})},
            check=False,
        )
        if proc.returncode != 0:
            detail = (proc.stderr.strip().splitlines() or ["failed"])[-1]
            raise ExternalError(f"git {args[0]} in {self.path}: {detail}")
        return proc.stdout.strip()

    def _resolve(self, rev: str) -> str:
        return self._git("rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}")

    def _branch_tip(self, branch: str) -> str | None:
        return self._ref(f"refs/heads/{branch}")

    def _ref(self, ref: str) -> str | None:
        proc = subprocess.run(
            ["git", "-C", str(self.path), "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"],
            capture_output=True,
            text=True,
            check=False,
        )
        return proc.stdout.strip() if proc.returncode == 0 else None

    def _tree_with(self, base: str, request: PublishRequest) -> str:
        with tempfile.TemporaryDirectory(prefix="costpilot-index-") as tmp:
            env = {"GIT_INDEX_FILE": str(Path(tmp) / "index")}
            self._git("read-tree", base, env=env)
            for file in request.files:
                path = safe_repo_path(file.path)
                blob = self._git("hash-object", "-w", "--stdin", stdin=file.content)
                listed = self._git("ls-tree", base, "--", path)
                mode = listed.split()[0] if listed else "100644"  # keep an executable bit
                self._git("update-index", "--add", "--cacheinfo", f"{mode},{blob},{path}", env=env)
            return self._git("write-tree", env=env)

    def _check_base(self, base: str, request: PublishRequest) -> None:
        """Each file on ``base`` must be what the patch was computed from."""
        for file in request.files:
            if file.before is None:
                continue
            path = safe_repo_path(file.path)
            listed = self._git("ls-tree", base, "--", path)
            current = self._git_raw("cat-file", "blob", listed.split()[2]) if listed else ""
            # The planner reads files with universal newlines: a CRLF file is the same file.
            if current.replace("\r\n", "\n") != file.before.replace("\r\n", "\n"):
                raise ExternalError(
                    f"{path} on base {base[:12]} in {self.path} is not the file the patch was made on; "
                    "run `costpilot scan` to re-plan"
                )

    def _git_raw(self, *args: str) -> str:
        # Blob contents byte for byte (``_git`` strips surrounding whitespace).
        proc = subprocess.run(["git", "-C", str(self.path), *args], capture_output=True, check=False)
        if proc.returncode != 0:
            raise ExternalError(f"git {args[0]} in {self.path}: failed")
        return proc.stdout.decode("utf-8", errors="replace")

    def default_base(self) -> str:
        """The ref PR branches start from (see the module docstring)."""
        if self.base_branch:
            for ref in (f"refs/heads/{self.base_branch}", f"refs/remotes/origin/{self.base_branch}"):
                if self._ref(ref):
                    return ref
            raise ExternalError(f"base branch {self.base_branch!r} not found in {self.path}")
        candidates: list[str] = []
        origin_head = self._quiet("symbolic-ref", "--quiet", "refs/remotes/origin/HEAD")
        if origin_head:
            candidates.append(origin_head.removeprefix("refs/remotes/origin/"))
        configured = self._quiet("config", "--get", "init.defaultBranch")
        candidates.extend([c for c in (configured,) if c] + ["main", "master"])
        for name in dict.fromkeys(candidates):
            for ref in (f"refs/heads/{name}", f"refs/remotes/origin/{name}"):
                if self._ref(ref):
                    return ref
        raise ExternalError(
            f"no default branch found in {self.path} (tried {', '.join(dict.fromkeys(candidates))}); "
            "set COSTPILOT_GITOPS_BASE_BRANCH"
        )

    def _quiet(self, *args: str) -> str:
        proc = subprocess.run(
            ["git", "-C", str(self.path), *args], capture_output=True, text=True, check=False
        )
        return proc.stdout.strip() if proc.returncode == 0 else ""

    def _start_point(self, request: PublishRequest) -> str:
        """The commit the PR branch starts from: the patch's base when it is on the base branch
        (the approved patch was made there), else the base branch's tip."""
        base_ref = self.default_base()
        tip = self._resolve(base_ref)
        if request.base_sha is None:
            return tip
        try:
            planned = self._resolve(request.base_sha)
        except ExternalError:
            raise ExternalError(f"base {request.base_sha!r} not found in {self.path}") from None
        on_base = subprocess.run(
            ["git", "-C", str(self.path), "merge-base", "--is-ancestor", planned, tip],
            capture_output=True,
            check=False,
        )
        return planned if on_base.returncode == 0 else tip

    def audit_anchors(self) -> list[AuditHeadAnchor]:
        """The audit heads recorded in the commits costpilot published (open or deleted branches)."""
        refs = self._quiet("for-each-ref", "--format=%(refname)", "refs/heads/costpilot/", PUBLISHED)
        anchors: dict[tuple[int, str], AuditHeadAnchor] = {}
        # Branches first: an anchor is named by the branch a reviewer sees, when it still exists.
        for ref in sorted(refs.splitlines(), key=lambda r: not r.startswith("refs/heads/")):
            found = parse_audit_head(self._quiet("log", "-1", "--format=%B", ref))
            if found is not None and found not in anchors:
                anchors[found] = AuditHeadAnchor(
                    seq=found[0], hash=found[1], where=f"commit {ref} in {self.path}"
                )
        return sorted(anchors.values(), key=lambda a: a.seq)

    def publish(self, request: PublishRequest) -> PublishResult:
        """Put one commit (base + files) on ``refs/heads/<branch>``; an identical branch is kept."""
        base = self._start_point(request)
        head_ref = self._git("symbolic-ref", "--quiet", "HEAD") if self._is_symbolic_head() else ""
        if head_ref == f"refs/heads/{request.branch}":
            raise ExternalError(f"{request.branch} is checked out in {self.path}; costpilot will not move it")
        self._check_base(base, request)
        tree = self._tree_with(base, request)
        tip = self._branch_tip(request.branch)
        url = f"file://{self.path}#refs/heads/{request.branch}"
        if tip is not None and self._git("rev-parse", f"{tip}^{{tree}}") == tree:
            parents = self._git("rev-list", "--parents", "-n", "1", tip).split()[1:]
            if parents == [base]:
                self._git("update-ref", PUBLISHED + request.branch, tip)
                return PublishResult(
                    forge=self.name,
                    branch=request.branch,
                    commit_sha=tip,
                    url=url,
                    created=False,
                    branch_updated=False,
                )
        commit = self._git("commit-tree", "--no-gpg-sign", tree, "-p", base, "-m", commit_message(request))
        # Compare-and-swap: a concurrent writer moving the branch makes this fail instead of losing work.
        self._git("update-ref", f"refs/heads/{request.branch}", commit, tip or ZERO_OID)
        self._git("update-ref", PUBLISHED + request.branch, commit)
        return PublishResult(
            forge=self.name,
            branch=request.branch,
            commit_sha=commit,
            url=url,
            created=tip is None,
            branch_updated=True,
        )

    def status(self, branch: str) -> PullRequestStatus:
        """merged when the branch's commit is in the base branch (an ancestor of its tip, or an
        equivalent patch there: a squash or rebase merge); closed when the branch was deleted
        unmerged; open otherwise."""
        tip = self._branch_tip(branch)
        commit = tip or self._ref(PUBLISHED + branch)
        if commit is None:
            raise UnknownPullRequest(
                f"no pull request for {branch} in {self.path}: costpilot never published it"
            )
        base_rev = self.default_base()
        base = self._ref(base_rev)
        if base is None:  # pragma: no cover - default_base found it a moment ago
            raise ExternalError(f"base {base_rev!r} not found in {self.path}")
        if self._in_base(commit, base):
            return PullRequestStatus.merged
        return PullRequestStatus.open if tip is not None else PullRequestStatus.closed

    def _in_base(self, commit: str, base: str) -> bool:
        ancestor = subprocess.run(
            ["git", "-C", str(self.path), "merge-base", "--is-ancestor", commit, base],
            capture_output=True,
            check=False,
        )
        if ancestor.returncode == 0:
            return True
        fork = self._git("merge-base", commit, base)
        # ``git cherry`` marks with "-" each branch commit whose patch the base already has.
        marks = [line[:1] for line in self._git("cherry", base, commit, fork).splitlines()]
        return bool(marks) and all(mark == "-" for mark in marks)

    def _is_symbolic_head(self) -> bool:
        proc = subprocess.run(
            ["git", "-C", str(self.path), "symbolic-ref", "--quiet", "HEAD"], capture_output=True, check=False
        )
        return proc.returncode == 0


def commit_message(request: PublishRequest) -> str:
    """The title line, then the PR body (a local "PR" has nowhere else to keep it), then the rest
    of the message (its trailers stay last, where git looks for them)."""
    title, _, rest = request.commit_message.partition("\n")
    body = request.body.strip("\n")
    parts = [title, body, rest.strip("\n")]
    return "\n\n".join(p for p in parts if p) + "\n"
