"""``/metrics`` of a ``serve`` process, in the Prometheus text format (prometheus-client).

Two kinds of figures:
- this process's own: HTTP requests and their latency (an ASGI middleware), answers given and
  how many were not grounded (the agent fell back to its templated answer), answer latency;
- the team's, read from the state DB at scrape time by a collector (so every replica reports the
  same, and nothing is counted twice or lost on a restart): proposals by state, pull requests
  opened and updated, PR attempts that failed.

Each ``ServeMetrics`` has a registry of its own (two apps in one test process do not collide).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from app.logs import get_logger

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

log = get_logger("ops.metrics")
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# Label values are bounded: any other path is counted as "other" (no per-URL series).
KNOWN_PATHS = ("/slack/events", "/healthz", "/readyz", "/metrics")
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
ANSWER_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0)
# Audit actions that record a failed attempt to open a PR (the remediation service's wording).
PR_FAILED_ACTIONS = ("pr_failed",)


class StateCollector(Collector):
    """Proposals by state and PR outcomes, counted in the state DB when Prometheus scrapes.

    ``engine()`` returns the process's state-DB engine, or None while it is not open; a database
    that cannot be read gives ``costpilot_state_db_up 0`` and no state figures (never an error page)."""

    def __init__(self, engine: Callable[[], Engine | None]) -> None:
        self._engine = engine

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("costpilot_state_db_up", "1 when the state DB answered this scrape")
        figures: list[Metric] = []
        engine = self._engine()
        if engine is not None:
            try:
                figures = list(_state_figures(engine))
            except Exception as exc:  # a scrape during an outage reports it instead of failing
                log.warning(
                    "metrics: state DB not readable: %s", str(exc).splitlines()[0] if str(exc) else exc
                )
                figures = []
            else:
                up.add_metric([], 1)
        if not figures:
            up.add_metric([], 0)
        yield up
        yield from figures


def _state_figures(engine: Engine) -> Iterator[Metric]:
    from sqlalchemy import text

    from store.proposal_states import ProposalState

    with engine.connect() as conn:
        by_state = dict(conn.execute(text("SELECT state, count(*) FROM proposals GROUP BY state")).all())
        opened, updated = conn.execute(
            text(
                "SELECT coalesce(sum(CASE WHEN created THEN 1 ELSE 0 END), 0),"
                " coalesce(sum(CASE WHEN created THEN 0 ELSE 1 END), 0) FROM pull_requests"
            )
        ).one()
        failed = conn.execute(
            text("SELECT count(*) FROM audit_events WHERE action IN :actions").bindparams(
                _expanding("actions")
            ),
            {"actions": list(PR_FAILED_ACTIONS)},
        ).scalar_one()
    proposals = GaugeMetricFamily("costpilot_proposals", "Proposals by state", labels=["state"])
    # Every state of the machine, zeros included (a dashboard needs the series before it moves);
    # a state the store knows and this code not yet (e.g. added by a migration) is shown too.
    for state in sorted({s.value for s in ProposalState} | {str(s) for s in by_state}):
        proposals.add_metric([state], int(by_state.get(state, 0)))
    yield proposals
    prs = CounterMetricFamily(
        "costpilot_pull_requests", "Pull requests the forge opened or updated", labels=["outcome"]
    )
    prs.add_metric(["opened"], int(opened))
    prs.add_metric(["updated"], int(updated))
    yield prs
    yield CounterMetricFamily(
        "costpilot_pull_requests_failed", "Attempts to open a PR that failed", value=int(failed)
    )


def _expanding(name: str) -> Any:
    from sqlalchemy import bindparam

    return bindparam(name, expanding=True)


class ServeMetrics:
    """The registry of one ``serve`` process and the instruments its parts record into."""

    def __init__(self, engine: Callable[[], Engine | None] | None = None) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "costpilot_http_requests",
            "HTTP requests served",
            ["method", "path", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "costpilot_http_request_duration_seconds",
            "Time to the HTTP response (for Slack: the ack; the answer follows lazily)",
            ["path"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.answers = Counter(
            "costpilot_answers", "Questions the agent answered", ["grounded"], registry=self.registry
        )
        self.ungrounded = Counter(
            "costpilot_answers_ungrounded",
            "Answers whose draft failed the reply check (the templated answer was sent instead)",
            registry=self.registry,
        )
        self.answer_latency = Histogram(
            "costpilot_answer_duration_seconds",
            "Time the agent took to answer one question",
            buckets=ANSWER_BUCKETS,
            registry=self.registry,
        )
        if engine is not None:
            self.registry.register(StateCollector(engine))

    def answered(self, *, grounded: bool, seconds: float) -> None:
        """Record one answer (the Slack runtime calls this after every question)."""
        self.answers.labels(grounded=str(grounded).lower()).inc()
        if not grounded:
            self.ungrounded.inc()
        self.answer_latency.observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)

    def middleware(self, app: Any) -> Any:
        """An ASGI middleware counting every HTTP request and timing it to its response start."""
        metrics = self

        async def wrapped(scope: dict[str, Any], receive: Any, send: Any) -> None:
            if scope.get("type") != "http":
                await app(scope, receive, send)
                return
            started = time.perf_counter()
            status = {"code": 500}  # an app that raises before answering counts as a 500

            async def recording_send(message: dict[str, Any]) -> None:
                if message.get("type") == "http.response.start":
                    status["code"] = int(message["status"])
                    metrics.latency.labels(path=_path(scope)).observe(time.perf_counter() - started)
                await send(message)

            try:
                await app(scope, receive, recording_send)
            finally:
                metrics.requests.labels(
                    method=str(scope.get("method", "")), path=_path(scope), status=str(status["code"])
                ).inc()

        return wrapped


def _path(scope: dict[str, Any]) -> str:
    path = str(scope.get("path", ""))
    return path if path in KNOWN_PATHS else "other"
