"""Fault injection with response headers for the GitHub REST stand-in: a 403 rate limit with
``Retry-After`` (or an exhausted ``X-RateLimit-Remaining``), a 5xx burst. The stand-in itself is
unchanged; this subclass only adds the headers a fault answers with."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from github_standin import Fault, GitHubStandin


@dataclass
class HeaderFault(Fault):
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class FaultyStandin(GitHubStandin):
    local: threading.local = field(default_factory=threading.local)

    def fail_with(
        self,
        method: str,
        path_regex: str,
        status: int,
        *,
        times: int = 1,
        headers: dict[str, str] | None = None,
        message: str | None = None,
    ) -> None:
        """The next ``times`` matching requests answer ``status`` with ``headers``."""
        self.faults.append(HeaderFault(method, re.compile(path_regex), status, times, message, headers or {}))

    def rate_limit(self, method: str, path_regex: str, *, retry_after: int = 1, times: int = 1) -> None:
        self.fail_with(
            method,
            path_regex,
            403,
            times=times,
            headers={"Retry-After": str(retry_after), "X-RateLimit-Remaining": "0"},
            message="You have exceeded a secondary rate limit",
        )

    def _dispatch(
        self, req: BaseHTTPRequestHandler, path: str, query: dict[str, str], body: Any
    ) -> tuple[int, Any]:
        self.local.headers = {}
        for fault in self.faults:
            if fault.times > 0 and fault.method == req.command and fault.path.search(path):
                self.local.headers = getattr(fault, "headers", {})
                break
        return super()._dispatch(req, path, query, body)

    def _response_headers(self) -> dict[str, str]:
        return dict(self.local.headers)  # the fault's (Retry-After, X-RateLimit-Remaining)
