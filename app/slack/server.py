"""``costpilot serve``: the Bolt app over HTTP (an ASGI app at ``/slack/events`` run by uvicorn) or
Socket Mode, plus the optional in-process scheduler (weekly digest, alerts).

Bolt's own ASGI handler calls the (synchronous) app on the event loop; ours hands each request to
a worker thread, so a slow database or Web API call never stalls the other requests' acks.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from app.logs import get_logger
from app.slack.config import SlackConfig, slack_config

if TYPE_CHECKING:
    from slack_bolt import App

    from app.ops.metrics import ServeMetrics
    from app.slack.runtime import SlackRuntime
    from services.settings import Settings

log = get_logger("slack.server")
EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"
READY_PATH = "/readyz"
METRICS_PATH = "/metrics"
READY_TIMEOUT_SECONDS = 5
DIGEST_HOUR_UTC = 9  # Monday 09:00 UTC on: the week's bills are in by then
SCHEDULER_TICK_SECONDS = 300


def build_runtime(settings: Settings, *, config: SlackConfig | None = None, **kwargs: Any) -> SlackRuntime:
    """The runtime of one ``serve`` process: one ``Deps`` per worker thread from ``settings``."""
    from app.slack.client import web_client
    from app.slack.runtime import SlackRuntime
    from services.deps import build_deps

    config = config or slack_config(settings)
    if settings.as_of is not None and "clock" not in kwargs:
        kwargs["clock"] = as_of_clock(settings.as_of)
    return SlackRuntime(
        config=config, client=web_client(config), make_deps=lambda: build_deps(settings), **kwargs
    )


def as_of_clock(day: date) -> Callable[[], datetime]:
    """``--as-of DAY`` for a long-running process: that day, at the current UTC time of day (the
    scheduler's digest and scan then see the same "today" as the CLI does)."""

    def now() -> datetime:
        return datetime.combine(day, datetime.now(UTC).timetz())

    return now


def asgi_app(bolt: App, runtime: SlackRuntime | None = None, metrics: ServeMetrics | None = None) -> Any:
    """An ASGI application: POST ``/slack/events`` (events, commands, interactivity), GET
    ``/healthz`` (the process answers); with ``runtime`` also GET ``/readyz`` (state DB and
    warehouse reachable: 200, else 503 and the reason in one line) and, with ``metrics``, GET
    ``/metrics`` (Prometheus text format) and every request counted and timed; anything else 404."""
    from slack_bolt.adapter.asgi.builtin import SlackRequestHandler
    from slack_bolt.adapter.asgi.http_response import AsgiHttpResponse
    from slack_bolt.request import BoltRequest

    plain = {"content-type": ["text/plain; charset=utf-8"]}

    async def ready() -> AsgiHttpResponse:
        from app.ops.health import readiness

        assert runtime is not None
        try:
            verdict = await asyncio.wait_for(
                asyncio.to_thread(readiness, lambda: runtime.engine, runtime.deps), READY_TIMEOUT_SECONDS
            )
        except TimeoutError:
            return AsgiHttpResponse(
                status=503, headers=plain, body=f"not ready: checks took over {READY_TIMEOUT_SECONDS} s\n"
            )
        if not verdict.ok:
            log.warning("readyz: %s", verdict.line())
        return AsgiHttpResponse(status=200 if verdict.ok else 503, headers=plain, body=verdict.line() + "\n")

    async def scrape() -> AsgiHttpResponse:
        from app.ops.metrics import CONTENT_TYPE

        assert metrics is not None
        body = await asyncio.to_thread(metrics.render)  # the collector reads the state DB
        return AsgiHttpResponse(status=200, headers={"content-type": [CONTENT_TYPE]}, body=body.decode())

    routes: dict[str, Callable[[], Any]] = {}
    if runtime is not None:
        routes[READY_PATH] = ready
    if metrics is not None:
        routes[METRICS_PATH] = scrape

    class ThreadedHandler(SlackRequestHandler):
        async def dispatch(self, request):  # type: ignore[no-untyped-def]
            bolt_request = BoltRequest(
                body=await request.get_raw_body(), query=request.query_string, headers=request.get_headers()
            )
            return await asyncio.to_thread(self.app.dispatch, bolt_request)

        async def _get_http_response(self, method, path, request):  # type: ignore[no-untyped-def]
            if method == "GET" and path == HEALTH_PATH:
                return AsgiHttpResponse(status=200, headers={"content-type": ["text/plain"]}, body="ok")
            if method == "GET" and path in routes:
                return await routes[path]()
            return await super()._get_http_response(method, path, request)

    handler = ThreadedHandler(bolt, path=EVENTS_PATH)
    return metrics.middleware(handler) if metrics is not None else handler


@dataclass
class Scheduler:
    """Every ``tick`` seconds until stopped: the weekly digest (from Monday ``DIGEST_HOUR_UTC`` on;
    once per week across replicas, claimed in the state DB), new alerts, and once a day a scan
    whose new proposals go to the approvals channel (each posted once)."""

    runtime: SlackRuntime
    tick: float = SCHEDULER_TICK_SECONDS
    _scanned_on: Any = None
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def run_once(self) -> list[str]:
        from app.slack.alerts import post_alerts
        from app.slack.digest_post import post_digest
        from domain.errors import CostpilotError

        now, lines = self.runtime.now(), []
        deps, client, config = self.runtime.deps(), self.runtime.client, self.runtime.config
        jobs: list[tuple[str, Callable[[], Any]]] = [("events", lambda: self._forget_events(deps, now))]
        if config.digest_channel and digest_due(now):
            jobs.append(("digest", lambda: post_digest(deps, client, config, now=now).line()))
        if config.alerts_channel:
            jobs.append(
                ("alerts", lambda: f"alerts: {len(post_alerts(deps, client, config, now=now).posted)} posted")
            )
        if config.approvals_channel and self._scanned_on != now.date():
            jobs.append(("scan", lambda: self._scan(deps, now)))
        for name, job in jobs:
            try:
                lines.append(str(job()))
            except CostpilotError as exc:
                lines.append(f"{name}: {exc}")
            except Exception:  # a failed tick must not stop the scheduler; the next one retries
                log.exception("scheduled %s failed", name)
        for line in lines:
            log.info("scheduler: %s", line)
        return lines

    def _scan(self, deps: Any, now: datetime) -> str:
        from app.slack.post import scan_and_post

        rt = self.runtime
        summary, posted = scan_and_post(
            deps, requested_by="costpilot", client=rt.client, config=rt.config, now=now
        )
        self._scanned_on = now.date()
        return "; ".join([f"scan: {len(summary.proposals)} proposals", *(posted.lines() if posted else [])])

    @staticmethod
    def _forget_events(deps: Any, now: datetime) -> str:
        from store.slack_state import forget_events_before

        return f"events: {forget_events_before(deps.engine, stale_event_cutoff(now))} old event ids dropped"

    def start(self) -> None:
        def loop() -> None:
            while not self._stop.wait(self.tick):
                self.run_once()

        self._thread = threading.Thread(target=loop, name="costpilot-scheduler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()


def digest_due(now: datetime) -> bool:
    """From Monday ``DIGEST_HOUR_UTC`` to Sunday: the week before is complete (the claim makes it
    once); Monday before that hour still waits for the bill."""
    return not (now.weekday() == 0 and now.hour < DIGEST_HOUR_UTC)


def serve_http(
    bolt: App,
    *,
    host: str,
    port: int,
    runtime: SlackRuntime | None = None,
    metrics: ServeMetrics | None = None,
) -> None:
    """uvicorn on ``host:port``; one line on stderr once it listens (operators and tests wait for it)."""
    import sys

    import uvicorn

    class Server(uvicorn.Server):
        async def startup(self, sockets: Any = None) -> None:
            await super().startup(sockets=sockets)
            if self.started:
                sys.stderr.write(f"costpilot serve: listening on http://{host}:{port}{EVENTS_PATH}\n")
                sys.stderr.flush()

    log.info("serving Slack on http://%s:%s%s", host, port, EVENTS_PATH)
    app = asgi_app(bolt, runtime, metrics)
    Server(uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="off")).run()


def serve_socket_mode(bolt: App, app_token: str) -> None:
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    log.info("serving Slack over Socket Mode")
    SocketModeHandler(bolt, app_token).start()


def stale_event_cutoff(now: datetime) -> datetime:
    return now - timedelta(days=1)
