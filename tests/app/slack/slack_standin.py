"""A Slack Web API stand-in: a real threaded HTTP server on a free loopback port that records every
call (method, token, parsed arguments) and answers like Slack does (bolt-python's tests' way).

Failures are chosen by the bot token:
- ``xoxb-429``: the first call of each method answers 429 ``ratelimited`` with ``Retry-After``
  (``retry_after`` seconds), the next one succeeds;
- ``xoxb-429-always``: every call answers 429;
- ``xoxb-invalid``: ``invalid_auth``; ``xoxb-500``: HTTP 500.
Channels in ``missing_channels`` answer ``channel_not_found``.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

BOT_USER = "UBOT"
TEAM = "T0001"


@dataclass
class Call:
    method: str
    token: str | None
    args: dict[str, Any]
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    at: float = field(default_factory=time.monotonic)  # when the call arrived (benchmarks)


class SlackStandin:
    """Start with ``start()`` (or as a context manager); ``base_url`` is the API root."""

    def __init__(self, *, retry_after: int = 1) -> None:
        self.calls: list[Call] = []
        self.uploads: dict[str, bytes] = {}
        self.group_members: dict[str, list[str]] = {}
        self.missing_channels: set[str] = set()
        self.retry_after = retry_after
        self._limited: set[tuple[str, str]] = set()
        self._ts = itertools.count(1)
        self._files = itertools.count(1)
        self._cond = threading.Condition()
        self._server: ThreadingHTTPServer | None = None

    # ----- lifecycle -----
    def start(self) -> SlackStandin:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                standin._handle(self)

            do_GET = do_POST  # noqa: N815

            def log_message(self, *args: Any) -> None:  # quiet
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> SlackStandin:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/"

    # ----- what the tests read -----
    def of(self, method: str) -> list[Call]:
        with self._cond:
            return [c for c in self.calls if c.method == method and c.status == 200]

    def wait_for(self, predicate: Callable[[list[Call]], bool], timeout: float = 20.0) -> list[Call]:
        """Block until ``predicate(calls)`` holds (woken by every call; no sleep polling)."""
        with self._cond:
            if not self._cond.wait_for(lambda: predicate(list(self.calls)), timeout=timeout):
                seen = [f"{c.method}: {str(c.args.get('text', ''))[:160]}" for c in self.calls]
                raise AssertionError(f"stand-in: condition not met within {timeout}s; calls: {seen}")
            return list(self.calls)

    def wait_calls(self, method: str, count: int = 1, timeout: float = 20.0) -> list[Call]:
        self.wait_for(
            lambda calls: sum(1 for c in calls if c.method == method and c.status == 200) >= count, timeout
        )
        return self.of(method)

    def reset(self) -> None:
        with self._cond:
            self.calls.clear()

    # ----- serving -----
    def _handle(self, req: BaseHTTPRequestHandler) -> None:
        length = int(req.headers.get("Content-Length") or 0)
        raw = req.rfile.read(length) if length else b""
        path = req.path.split("?", 1)[0]
        if path.startswith("/upload/"):
            file_id = path.rsplit("/", 1)[-1]
            self.uploads[file_id] = raw
            self._record(Call("upload", None, {"file_id": file_id, "bytes": len(raw)}, 200))
            self._reply(req, 200, "OK", content_type="text/plain")
            return
        method = path.removeprefix("/api/")
        args = self._args(req, raw)
        token = (req.headers.get("Authorization") or "").removeprefix("Bearer ").strip() or args.get("token")
        status, body, headers = self._answer(method, token, args)
        self._record(Call(method, token, args, status, dict(headers)))
        self._reply(req, status, json.dumps(body), headers=headers)

    @staticmethod
    def _args(req: BaseHTTPRequestHandler, raw: bytes) -> dict[str, Any]:
        kind = req.headers.get("Content-Type", "")
        if "json" in kind:
            return json.loads(raw or b"{}")
        parsed = {k: v[0] for k, v in parse_qs(raw.decode(), keep_blank_values=True).items()}
        for key in ("blocks", "files", "attachments"):
            if isinstance(parsed.get(key), str):
                with contextlib.suppress(ValueError):
                    parsed[key] = json.loads(parsed[key])
        return parsed

    def _record(self, call: Call) -> None:
        with self._cond:
            self.calls.append(call)
            self._cond.notify_all()

    def _reply(
        self,
        req: BaseHTTPRequestHandler,
        status: int,
        body: str,
        *,
        headers: dict[str, str] | None = None,
        content_type: str = "application/json; charset=utf-8",
    ) -> None:
        data = body.encode()
        req.send_response(status)
        req.send_header("Content-Type", content_type)
        req.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            req.send_header(key, value)
        req.end_headers()
        req.wfile.write(data)

    def _answer(
        self, method: str, token: str | None, args: dict[str, Any]
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        if token == "xoxb-500":
            return 500, {"ok": False, "error": "internal_error"}, {}
        if token == "xoxb-invalid":
            return 200, {"ok": False, "error": "invalid_auth"}, {}
        if token == "xoxb-429-always" or (token == "xoxb-429" and (token, method) not in self._limited):
            self._limited.add((str(token), method))
            return 429, {"ok": False, "error": "ratelimited"}, {"Retry-After": str(self.retry_after)}
        channel = args.get("channel") or args.get("channel_id")
        if channel and channel in self.missing_channels:
            return 200, {"ok": False, "error": "channel_not_found"}, {}
        handler = ANSWERS.get(method)
        if handler is None:
            return 200, {"ok": False, "error": "unknown_method"}, {}
        return 200, {"ok": True, **handler(self, args)}, {}

    def next_ts(self) -> str:
        return f"1700000000.{next(self._ts):06d}"


def _post(s: SlackStandin, args: dict[str, Any]) -> dict[str, Any]:
    ts = s.next_ts()
    return {"channel": args.get("channel"), "ts": ts, "message": {"text": args.get("text"), "ts": ts}}


def _update(s: SlackStandin, args: dict[str, Any]) -> dict[str, Any]:
    return {"channel": args.get("channel"), "ts": args.get("ts"), "text": args.get("text")}


def _upload_url(s: SlackStandin, args: dict[str, Any]) -> dict[str, Any]:
    file_id = f"F{next(s._files):08d}"
    return {"upload_url": f"http://127.0.0.1:{s.port}/upload/{file_id}", "file_id": file_id}


def _complete(s: SlackStandin, args: dict[str, Any]) -> dict[str, Any]:
    files = args.get("files") or []
    return {"files": [{"id": f["id"], "title": f.get("title")} for f in files]}


ANSWERS: dict[str, Callable[[SlackStandin, dict[str, Any]], dict[str, Any]]] = {
    "auth.test": lambda s, a: {
        "user_id": BOT_USER,
        "bot_id": "BBOT",
        "team_id": TEAM,
        "team": "acme",
        "user": "costpilot",
    },
    "chat.postMessage": _post,
    "chat.update": _update,
    "chat.postEphemeral": lambda s, a: {"message_ts": s.next_ts()},
    "views.open": lambda s, a: {"view": {"id": "V0001"}},
    "views.publish": lambda s, a: {"view": {"id": "V0002"}},
    "usergroups.users.list": lambda s, a: {"users": s.group_members.get(a.get("usergroup", ""), [])},
    "files.getUploadURLExternal": _upload_url,
    "files.completeUploadExternal": _complete,
}
