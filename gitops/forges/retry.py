"""Retrying a whole forge operation on GitHub's transient answers: 5xx and rate limits.

A publish is idempotent end to end (the branch is found by name and moved, the PR found by its
branch and edited), so trying it again from the start never opens a second PR — unlike retrying
a single POST. Waits double from ``backoff_seconds``; a ``Retry-After`` (or an exhausted
``X-RateLimit-Remaining`` with its reset time) is honoured when it asks for no more than
``max_wait_seconds``, else the forge gives up at once with the reason. Bounded by ``attempts``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import TypeVar

import requests
from github import GithubException

T = TypeVar("T")
RATE_LIMIT_STATUSES = frozenset({403, 429})


def _header(headers: Mapping[str, str] | None, name: str) -> str | None:
    for key, value in (headers or {}).items():
        if key.lower() == name.lower():
            return value
    return None


def is_rate_limited(exc: GithubException) -> bool:
    """A 429, or a 403 that says so (Retry-After, an exhausted quota, or the message)."""
    if exc.status not in RATE_LIMIT_STATUSES:
        return False
    if exc.status == 429 or _header(exc.headers, "Retry-After") is not None:
        return True
    if _header(exc.headers, "X-RateLimit-Remaining") == "0":
        return True
    data = exc.data if isinstance(exc.data, dict) else {}
    return "rate limit" in str(data.get("message", "")).lower()


def wait_hint(exc: BaseException, now: float | None = None) -> float | None:
    """Seconds the server asked us to wait, if it said."""
    if not isinstance(exc, GithubException):
        return None
    after = _header(exc.headers, "Retry-After")
    if after is not None:
        try:
            return max(float(after), 0.0)
        except ValueError:
            return None
    reset = _header(exc.headers, "X-RateLimit-Reset")
    if reset is not None and _header(exc.headers, "X-RateLimit-Remaining") == "0":
        try:
            return max(float(reset) - (now if now is not None else time.time()), 0.0)
        except ValueError:
            return None
    return None


def is_transient(exc: BaseException) -> bool:
    """Worth another try: 5xx, a rate limit, a connection dropped or urllib3 giving up on 5xx."""
    if isinstance(exc, GithubException):
        return exc.status >= 500 or is_rate_limited(exc)
    return isinstance(exc, requests.exceptions.RetryError | requests.exceptions.ConnectionError)


def with_retries(
    step: Callable[[], T],
    *,
    attempts: int,
    backoff_seconds: float,
    max_wait_seconds: float,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """``step()``, tried again on a transient failure up to ``attempts`` times in all; the last
    failure (or one whose ``Retry-After`` exceeds ``max_wait_seconds``) propagates."""
    delay = backoff_seconds
    for attempt in range(1, attempts + 1):
        try:
            return step()
        except (GithubException, requests.RequestException) as exc:
            if attempt == attempts or not is_transient(exc):
                raise
            hint = wait_hint(exc)
            if hint is not None and hint > max_wait_seconds:
                raise
            sleep(hint if hint is not None else min(delay, max_wait_seconds))
            delay *= 2
    raise AssertionError("unreachable")  # pragma: no cover
