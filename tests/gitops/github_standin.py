"""A small stateful stand-in for the GitHub REST API, backed by a real bare git repository.

Only what costpilot's GitHub forge calls is served: repository, Git Data API (blobs, trees,
commits, refs — implemented with git plumbing in the bare repo, so hashes are real git hashes),
pulls (opened, edited, closed, merged — a real merge or squash commit on the base branch),
branch deletion, labels, issue comments and GitHub App installation tokens. Every call is
recorded; ``fail()`` injects an HTTP error for matching requests (its message may echo the
request's Authorization header, as a misbehaving proxy would). Runs on a free loopback port.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import tempfile
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt

IDENTITY = {
    "GIT_AUTHOR_NAME": "standin",
    "GIT_AUTHOR_EMAIL": "standin@localhost",
    "GIT_COMMITTER_NAME": "standin",
    "GIT_COMMITTER_EMAIL": "standin@localhost",
}


def git(repo: Path, *args: str, stdin: str | None = None, env: dict[str, str] | None = None) -> str:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    proc = subprocess.run(
        ["git", "--git-dir", str(repo), *args],
        input=stdin,
        capture_output=True,
        text=True,
        env={**clean, **IDENTITY, **(env or {})},
        check=True,
    )
    return proc.stdout.strip()


def make_tree(repo: Path, base_tree: str | None, entries: dict[str, str]) -> str:
    """A tree = base_tree with ``entries`` (path → blob sha) added or replaced (nested paths allowed)."""
    with tempfile.TemporaryDirectory() as tmp:
        env = {"GIT_INDEX_FILE": str(Path(tmp) / "index")}
        if base_tree:
            git(repo, "read-tree", base_tree, env=env)
        for path, blob in entries.items():
            git(repo, "update-index", "--add", "--cacheinfo", f"100644,{blob},{path}", env=env)
        return git(repo, "write-tree", env=env)


def init_bare_repo(path: Path, files: dict[str, str], branch: str = "main") -> str:
    """A bare repository whose ``branch`` holds one commit with ``files``; returns that commit."""
    subprocess.run(["git", "init", "--bare", "-q", "--initial-branch", branch, str(path)], check=True)
    blobs = {p: git(path, "hash-object", "-w", "--stdin", stdin=c) for p, c in files.items()}
    tree = make_tree(path, None, blobs)
    commit = git(path, "commit-tree", tree, "-m", "initial")
    git(path, "update-ref", f"refs/heads/{branch}", commit)
    return commit


@dataclass
class Fault:
    method: str
    path: re.Pattern[str]
    status: int
    times: int
    message: str | None = None  # may contain {authorization}


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class GitHubStandin:
    repo_path: Path
    owner: str = "acme"
    name: str = "gitops"
    default_branch: str = "main"
    prefix: str = ""  # "/api/v3" to look like GitHub Enterprise
    tokens: set[str] = field(default_factory=lambda: {"ghp-good"})
    app_id: int | None = None
    app_public_key: str | None = None
    calls: list[tuple[str, str, Any]] = field(default_factory=list)
    pulls: dict[int, dict[str, Any]] = field(default_factory=dict)
    comments: dict[int, dict[str, Any]] = field(default_factory=dict)
    faults: list[Fault] = field(default_factory=list)
    lock: threading.RLock = field(default_factory=threading.RLock)
    server: ThreadingHTTPServer | None = None

    # ----- lifecycle -----
    def start(self) -> GitHubStandin:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # quiet test output
                pass

            def _serve(self) -> None:
                standin.handle(self)

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        ).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    @property
    def base_url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}{self.prefix}"

    @property
    def api(self) -> str:
        return f"{self.base_url}/repos/{self.owner}/{self.name}"

    def fail(
        self, method: str, path_regex: str, status: int, times: int = 1, message: str | None = None
    ) -> None:
        """The next ``times`` matching requests answer ``status`` (with ``message``, in which
        ``{authorization}`` becomes the request's Authorization header)."""
        self.faults.append(Fault(method, re.compile(path_regex), status, times, message))

    # ----- what people do on GitHub (same handlers as the HTTP routes) -----
    def merge(self, number: int, method: str = "merge") -> str:
        """Merge PR ``number`` into its base like the merge button; returns the new base tip."""
        with self.lock:
            status, payload = self._merge_pull(str(number), body={"merge_method": method})
        assert status == 200, payload
        return str(payload["sha"])

    def close(self, number: int) -> None:
        with self.lock:
            self._patch_pull(str(number), body={"state": "closed"})

    def delete_branch(self, branch: str) -> None:
        with self.lock:
            status, payload = self._delete_ref(branch)
        assert status == 204, payload

    def calls_to(self, method: str, fragment: str) -> list[tuple[str, str, Any]]:
        return [c for c in self.calls if c[0] == method and fragment in c[1]]

    # ----- request handling -----
    def handle(self, req: BaseHTTPRequestHandler) -> None:
        url = urlsplit(req.path)
        path = url.path.removeprefix(self.prefix)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        length = int(req.headers.get("Content-Length") or 0)
        raw = req.rfile.read(length) if length else b""
        body = json.loads(raw) if raw else None
        with self.lock:
            self.calls.append((req.command, path, body))
            status, payload = self._dispatch(req, path, query, body)
            extra = self._response_headers()
        data = b"" if status == 204 else json.dumps(payload).encode()
        req.send_response(status)
        req.send_header("Content-Type", "application/json; charset=utf-8")
        req.send_header("Content-Length", str(len(data)))
        for name, value in extra.items():
            req.send_header(name, value)
        req.end_headers()
        req.wfile.write(data)

    def _response_headers(self) -> dict[str, str]:
        """Headers beyond the JSON ones for the request just dispatched (a fault's, in subclasses)."""
        return {}

    def _dispatch(
        self, req: BaseHTTPRequestHandler, path: str, query: dict[str, str], body: Any
    ) -> tuple[int, Any]:
        for fault in self.faults:
            if fault.times > 0 and fault.method == req.command and fault.path.search(path):
                fault.times -= 1
                auth_header = req.headers.get("Authorization", "")
                text = (fault.message or "stand-in fault {status}").format(
                    authorization=auth_header, status=fault.status
                )
                return fault.status, {"message": text}
        auth = req.headers.get("Authorization", "")
        m = re.fullmatch(r"/app/installations/(\d+)/access_tokens", path)
        if m and req.command == "POST":
            return self._installation_token(auth, m.group(1))
        token = auth.split(" ", 1)[1] if " " in auth else ""
        if token not in self.tokens:
            return 401, {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"}
        repo_prefix = f"/repos/{self.owner}/{self.name}"
        if not path.startswith(repo_prefix):
            return 404, {"message": "Not Found"}
        rest = path[len(repo_prefix) :]
        for method, pattern, handler in self._routes():
            match = re.fullmatch(pattern, rest)
            if method == req.command and match:
                return handler(*match.groups(), query=query, body=body)
        return 404, {"message": f"Not Found: {req.command} {rest}"}

    def _installation_token(self, auth: str, installation: str) -> tuple[int, Any]:
        token = auth.removeprefix("Bearer ")
        try:
            claims = jwt.decode(token, self.app_public_key or "", algorithms=["RS256"])
        except jwt.PyJWTError:
            return 401, {"message": "A JSON web token could not be decoded"}
        if str(claims.get("iss")) != str(self.app_id):
            return 401, {"message": "Integration not found"}
        issued = f"ghs-installation-{installation}"
        self.tokens.add(issued)
        return 201, {"token": issued, "expires_at": "2099-01-01T00:00:00Z"}

    def _routes(self) -> list[tuple[str, str, Any]]:
        return [
            ("GET", r"", self._repo),
            ("GET", r"/git/ref/heads/(.+)", self._get_ref),
            ("GET", r"/git/commits/([0-9a-f]{40})", self._get_commit),
            ("POST", r"/git/blobs", self._post_blob),
            ("POST", r"/git/trees", self._post_tree),
            ("POST", r"/git/commits", self._post_commit),
            ("POST", r"/git/refs", self._post_ref),
            ("PATCH", r"/git/refs/heads/(.+)", self._patch_ref),
            ("DELETE", r"/git/refs/heads/(.+)", self._delete_ref),
            ("GET", r"/pulls", self._list_pulls),
            ("POST", r"/pulls", self._post_pull),
            ("GET", r"/pulls/(\d+)", self._get_pull),
            ("PATCH", r"/pulls/(\d+)", self._patch_pull),
            ("PUT", r"/pulls/(\d+)/merge", self._merge_pull),
            ("POST", r"/issues/(\d+)/labels", self._post_labels),
            ("GET", r"/issues/(\d+)/comments", self._list_comments),
            ("POST", r"/issues/(\d+)/comments", self._post_comment),
            ("PATCH", r"/issues/comments/(\d+)", self._patch_comment),
        ]

    # ----- JSON shapes -----
    def _repo(self, **_: Any) -> tuple[int, Any]:
        return 200, {
            "id": 1,
            "name": self.name,
            "full_name": f"{self.owner}/{self.name}",
            "owner": {"login": self.owner, "type": "Organization"},
            "default_branch": self.default_branch,
            "url": self.api,
            "html_url": f"https://github.test/{self.owner}/{self.name}",
        }

    def _ref_json(self, branch: str, sha: str) -> dict[str, Any]:
        return {
            "ref": f"refs/heads/{branch}",
            "url": f"{self.api}/git/refs/heads/{branch}",
            "object": {"sha": sha, "type": "commit", "url": f"{self.api}/git/commits/{sha}"},
        }

    def _commit_json(self, sha: str) -> dict[str, Any]:
        lines = git(self.repo_path, "cat-file", "commit", sha).splitlines()
        tree = next(line.split()[1] for line in lines if line.startswith("tree "))
        parents = [line.split()[1] for line in lines if line.startswith("parent ")]
        return {
            "sha": sha,
            "url": f"{self.api}/git/commits/{sha}",
            "tree": {"sha": tree, "url": f"{self.api}/git/trees/{tree}"},
            "parents": [{"sha": p, "url": f"{self.api}/git/commits/{p}"} for p in parents],
            "message": git(self.repo_path, "log", "-1", "--format=%B", sha),
        }

    def _pull_json(self, number: int) -> dict[str, Any]:
        pr = self.pulls[number]
        return {
            "id": 1000 + number,
            "number": number,
            "url": f"{self.api}/pulls/{number}",
            "html_url": f"https://github.test/{self.owner}/{self.name}/pull/{number}",
            "issue_url": f"{self.api}/issues/{number}",
            "state": pr["state"],
            "merged": pr["merged_at"] is not None,
            "merged_at": pr["merged_at"],
            "closed_at": pr["closed_at"],
            "merge_commit_sha": pr.get("merge_commit_sha"),
            "title": pr["title"],
            "body": pr["body"],
            "labels": [{"name": name} for name in pr["labels"]],
            "head": {"ref": pr["head"], "label": f"{self.owner}:{pr['head']}"},
            "base": {"ref": pr["base"]},
        }

    def _comment_json(self, cid: int) -> dict[str, Any]:
        c = self.comments[cid]
        return {
            "id": cid,
            "url": f"{self.api}/issues/comments/{cid}",
            "body": c["body"],
            "user": {"login": "costpilot[bot]"},
        }

    # ----- handlers -----
    def branch_sha(self, branch: str) -> str | None:
        try:
            return git(self.repo_path, "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}")
        except subprocess.CalledProcessError:
            return None

    def _get_ref(self, branch: str, **_: Any) -> tuple[int, Any]:
        sha = self.branch_sha(branch)
        return (200, self._ref_json(branch, sha)) if sha else (404, {"message": "Not Found"})

    def _get_commit(self, sha: str, **_: Any) -> tuple[int, Any]:
        try:
            return 200, self._commit_json(sha)
        except subprocess.CalledProcessError:
            return 404, {"message": "Not Found"}

    def _post_blob(self, *, body: Any, **_: Any) -> tuple[int, Any]:
        assert body["encoding"] == "utf-8"
        sha = git(self.repo_path, "hash-object", "-w", "--stdin", stdin=body["content"])
        return 201, {"sha": sha, "url": f"{self.api}/git/blobs/{sha}"}

    def _post_tree(self, *, body: Any, **_: Any) -> tuple[int, Any]:
        entries = {}
        for entry in body["tree"]:
            if entry.get("content") is not None:
                entries[entry["path"]] = git(
                    self.repo_path, "hash-object", "-w", "--stdin", stdin=entry["content"]
                )
            else:
                entries[entry["path"]] = entry["sha"]
        sha = make_tree(self.repo_path, body.get("base_tree"), entries)
        return 201, {"sha": sha, "url": f"{self.api}/git/trees/{sha}", "tree": []}

    def _post_commit(self, *, body: Any, **_: Any) -> tuple[int, Any]:
        args = ["commit-tree", body["tree"]]
        for parent in body["parents"]:
            args += ["-p", parent]
        sha = git(self.repo_path, *args, "-m", body["message"])
        return 201, self._commit_json(sha)

    def _post_ref(self, *, body: Any, **_: Any) -> tuple[int, Any]:
        branch = body["ref"].removeprefix("refs/heads/")
        if self.branch_sha(branch):
            return 422, {"message": "Reference already exists"}
        git(self.repo_path, "update-ref", body["ref"], body["sha"])
        return 201, self._ref_json(branch, body["sha"])

    def _patch_ref(self, branch: str, *, body: Any, **_: Any) -> tuple[int, Any]:
        old = self.branch_sha(branch)
        if old is None:
            return 422, {"message": "Reference does not exist"}
        is_ancestor = (
            subprocess.run(
                ["git", "--git-dir", str(self.repo_path), "merge-base", "--is-ancestor", old, body["sha"]],
                check=False,
            ).returncode
            == 0
        )
        if not body.get("force") and not is_ancestor:
            return 422, {"message": "Update is not a fast forward"}
        git(self.repo_path, "update-ref", f"refs/heads/{branch}", body["sha"])
        return 200, self._ref_json(branch, body["sha"])

    def _list_pulls(self, *, query: dict[str, str], **_: Any) -> tuple[int, Any]:
        head = query.get("head", "")
        state = query.get("state", "open")
        # GitHub's default order: newest first when sorting by creation (the only sort here).
        newest_first = query.get("direction", "desc" if query.get("sort", "created") == "created" else "asc")
        numbers = sorted(self.pulls, reverse=newest_first == "desc")
        result = [
            self._pull_json(n)
            for n in numbers
            if state in ("all", self.pulls[n]["state"])
            and (not head or f"{self.owner}:{self.pulls[n]['head']}" == head)
            and (not query.get("base") or self.pulls[n]["base"] == query["base"])
        ]
        return 200, result

    def _post_pull(self, *, body: Any, **_: Any) -> tuple[int, Any]:
        if self.branch_sha(body["head"]) is None:
            return 422, {"message": "Validation Failed: head does not exist"}
        if any(p["head"] == body["head"] and p["state"] == "open" for p in self.pulls.values()):
            return 422, {"message": f"A pull request already exists for {self.owner}:{body['head']}."}
        number = len(self.pulls) + 1
        self.pulls[number] = {
            "title": body["title"],
            "body": body.get("body") or "",
            "head": body["head"],
            "base": body["base"],
            "state": "open",
            "labels": [],
            "merged_at": None,
            "closed_at": None,
        }
        return 201, self._pull_json(number)

    def _get_pull(self, number: str, **_: Any) -> tuple[int, Any]:
        if int(number) not in self.pulls:
            return 404, {"message": "Not Found"}
        return 200, self._pull_json(int(number))

    def _patch_pull(self, number: str, *, body: Any, **_: Any) -> tuple[int, Any]:
        pr = self.pulls[int(number)]
        if body.get("state") == "open" and pr["merged_at"] is not None:
            return 422, {"message": "Validation Failed: pull request is merged"}
        for key in ("title", "body", "state"):
            if key in body:
                pr[key] = body[key]
        if "state" in body:
            pr["closed_at"] = now_iso() if body["state"] == "closed" else None
        return 200, self._pull_json(int(number))

    def _merge_pull(self, number: str, *, body: Any, **_: Any) -> tuple[int, Any]:
        """The merge button: a merge commit (two parents) or a squash commit (one) on the base,
        holding the head's tree; the PR is then closed and merged."""
        pr = self.pulls.get(int(number))
        if pr is None or pr["state"] != "open":
            return 405, {"message": "Pull Request is not mergeable"}
        head, base = self.branch_sha(pr["head"]), self.branch_sha(pr["base"])
        if head is None or base is None:
            return 422, {"message": "Head or base branch is missing"}
        tree = git(self.repo_path, "rev-parse", f"{head}^{{tree}}")
        method = (body or {}).get("merge_method", "merge")
        parents = ["-p", base, "-p", head] if method == "merge" else ["-p", base]
        sha = git(self.repo_path, "commit-tree", tree, *parents, "-m", f"Merge pull request #{number}")
        git(self.repo_path, "update-ref", f"refs/heads/{pr['base']}", sha, base)
        pr.update(state="closed", merged_at=now_iso(), closed_at=now_iso(), merge_commit_sha=sha)
        return 200, {"sha": sha, "merged": True, "message": "Pull Request successfully merged"}

    def _delete_ref(self, branch: str, **_: Any) -> tuple[int, Any]:
        if self.branch_sha(branch) is None:
            return 422, {"message": "Reference does not exist"}
        git(self.repo_path, "update-ref", "-d", f"refs/heads/{branch}")
        return 204, None

    def _post_labels(self, number: str, *, body: Any, **_: Any) -> tuple[int, Any]:
        names = body["labels"] if isinstance(body, dict) else body
        labels = self.pulls[int(number)]["labels"]
        labels.extend(n for n in names if n not in labels)
        return 200, [{"name": n} for n in labels]

    def _list_comments(self, number: str, **_: Any) -> tuple[int, Any]:
        return 200, [
            self._comment_json(cid) for cid, c in sorted(self.comments.items()) if c["issue"] == int(number)
        ]

    def _post_comment(self, number: str, *, body: Any, **_: Any) -> tuple[int, Any]:
        cid = 500 + len(self.comments)
        self.comments[cid] = {"issue": int(number), "body": body["body"]}
        return 201, self._comment_json(cid)

    def _patch_comment(self, cid: str, *, body: Any, **_: Any) -> tuple[int, Any]:
        self.comments[int(cid)]["body"] = body["body"]
        return 200, self._comment_json(int(cid))
