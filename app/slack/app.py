"""The Bolt app: listeners registered by name, every one acked at once with its work lazy.

Bolt verifies each request's signature before anything else (a missing, wrong or
more-than-5-minutes-old signature gets 401 and nothing runs). Events API deliveries are
deduplicated by ``event_id`` in the state DB: Slack retries an event it believes we missed
(``X-Slack-Retry-Num``), and a second replica may get the same event; only the first delivery
is processed, in any process.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from app.logs import get_logger

if TYPE_CHECKING:
    from slack_bolt import App

    from app.slack.runtime import SlackRuntime

log = get_logger("slack.app")
LISTENER_THREADS = 8


def _ack(ack: Callable[..., None]) -> None:
    ack()


def first_delivery(runtime: SlackRuntime, body: dict[str, Any]) -> bool:
    """Claim the delivery's ``event_id`` in the state DB: True for the first delivery in any
    process, False for a Slack retry (``X-Slack-Retry-Num``) or another replica's copy.

    Claimed in the lazy half, after the ack: the ack stays a signature check (a database commit
    costs ~20 ms on a busy disk), and a retry is still answered once, because its lazy half
    loses the claim."""
    from store.slack_state import claim_event

    event_id = body.get("event_id")
    if not event_id:
        return True
    kind = str((body.get("event") or {}).get("type", "event"))
    if claim_event(runtime.engine, str(event_id), kind=kind, now=runtime.now()):
        return True
    log.info("event %s (%s) already processed; repeat ignored", event_id, kind)
    return False


def build_app(runtime: SlackRuntime, *, token_verification: bool = True) -> App:
    """The Bolt ``App`` over ``runtime`` (HTTP and Socket Mode share it)."""
    from concurrent.futures import ThreadPoolExecutor

    from slack_bolt import App

    from app.slack import alerts, approvals, clicks, commands, questions

    app = App(
        client=runtime.client,
        signing_secret=runtime.config.signing_secret or "",
        token_verification_enabled=token_verification,
        process_before_response=False,  # ack first; lazy listeners run on the executor after it
        listener_executor=ThreadPoolExecutor(
            max_workers=LISTENER_THREADS, thread_name_prefix="costpilot-slack"
        ),
        raise_error_for_unhandled_request=False,
    )

    def lazy(handler: Callable[..., None], *names: str) -> Callable[..., None]:
        # Bolt injects listener arguments by parameter name, so each lazy function names them.
        if names == ("event", "client"):

            def run_event(event: dict[str, Any], body: dict[str, Any], client: Any) -> None:
                if first_delivery(runtime, body):
                    handler(runtime, event, client)

            return run_event
        if names == ("command", "client"):

            def run_command(command: dict[str, Any], client: Any) -> None:
                handler(runtime, command, client)

            return run_command

        def run_action(body: dict[str, Any], client: Any) -> None:
            handler(runtime, body, client)

        return run_action

    app.event("app_mention")(ack=_ack, lazy=[lazy(questions.on_mention, "event", "client")])
    app.event("message")(ack=_ack, lazy=[lazy(questions.on_message, "event", "client")])
    app.command("/costpilot")(
        ack=commands.ack_command, lazy=[lazy(commands.run_command, "command", "client")]
    )
    for action_id in (approvals.APPROVE, approvals.REJECT):
        app.action(re.compile(f"^{action_id}"))(ack=_ack, lazy=[lazy(clicks.on_decision, "body", "client")])
    app.action(re.compile(f"^{alerts.REMEDIATE}"))(
        ack=_ack, lazy=[lazy(alerts.on_remediate, "body", "client")]
    )

    @app.error
    def _log_error(error: Exception, body: dict[str, Any]) -> None:
        log.error(
            "Slack listener failed (%s): %s", body.get("type") if isinstance(body, dict) else "?", error
        )

    return app
