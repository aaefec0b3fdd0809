"""The Slack Web API client: one seam (``base_url``) for the stand-in, ``Retry-After`` honoured.

Slack answers a rate-limited call with HTTP 429 (``{"ok": false, "error": "ratelimited"}``) and a
``Retry-After`` header in seconds. The SDK's own handler adds up to a second of jitter; ours
waits exactly what Slack asked (capped), and its clock is injectable so tests can check it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from app.slack.config import SlackConfig

if TYPE_CHECKING:
    from slack_sdk import WebClient

MAX_RETRY_AFTER_SECONDS = 60
RATE_LIMIT_RETRIES = 3


def _retry_after_handler(sleep: Callable[[float], None], max_retry_count: int) -> Any:
    from slack_sdk.http_retry import RetryHandler

    class RetryAfter(RetryHandler):
        """Retries a 429 after exactly ``Retry-After`` seconds (1 s when absent, ≤ 60 s)."""

        def _can_retry(self, *, state, request, response=None, error=None) -> bool:  # type: ignore[no-untyped-def,override]
            return response is not None and response.status_code == 429

        def prepare_for_next_attempt(self, *, state, request, response=None, error=None) -> None:  # type: ignore[no-untyped-def,override]
            if response is None:  # pragma: no cover - _can_retry needs a response
                raise error  # type: ignore[misc]
            wait = 1.0
            for key, values in response.headers.items():
                if key.lower() == "retry-after" and values:
                    try:
                        wait = float(values[0] if isinstance(values, list) else values)
                    except ValueError:
                        wait = 1.0
            sleep(min(max(wait, 0.0), MAX_RETRY_AFTER_SECONDS))
            state.next_attempt_requested = True
            state.increment_current_attempt()

    return RetryAfter(max_retry_count=max_retry_count)


def web_client(
    config: SlackConfig,
    *,
    token: str | None = None,
    sleep: Callable[[float], None] = time.sleep,
    retries: int = RATE_LIMIT_RETRIES,
) -> WebClient:
    """A ``WebClient`` on ``config.api_base_url`` (``COSTPILOT_SLACK_API_BASE_URL``) with the bot
    token, retrying connection errors once and 429s after ``Retry-After``."""
    from slack_sdk import WebClient
    from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler

    return WebClient(
        token=token or config.require_bot(),
        base_url=config.api_base_url,
        timeout=15,
        retry_handlers=[ConnectionErrorRetryHandler(max_retry_count=1), _retry_after_handler(sleep, retries)],
    )
