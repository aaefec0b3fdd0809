"""What every Slack handler shares: settings, the Web API client, one ``Deps`` per worker thread,
the agent's ``ask`` and the Slack user groups of the approver lists.

Bolt runs lazy listeners on a thread pool. A DuckDB connection must not be used by two threads
at once, so each worker thread gets its own ``Deps`` (its own warehouse and state-DB handles,
built from the same settings); ``close`` closes them all.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from app.slack.config import SlackConfig

if TYPE_CHECKING:
    from slack_sdk import WebClient
    from sqlalchemy.engine import Engine

    from services.deps import Deps

# Slack user-group ids (``S0123ABCD``) in an approver list: ``group:S0123ABCD``.
SLACK_GROUP = re.compile(r"S[A-Z0-9]{6,}")
GROUP_TTL_SECONDS = 300


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class SlackRuntime:
    """The Slack app's dependencies; ``deps()`` is this thread's ``Deps``."""

    config: SlackConfig
    client: WebClient
    make_deps: Callable[[], Deps]
    asker: Callable[..., Any] | None = None
    clock: Callable[[], datetime] = utc_now
    # Told of every answer (grounded?, seconds): ``serve``'s metrics count ungrounded answers.
    on_answer: Callable[..., None] | None = None
    _local: threading.local = field(default_factory=threading.local, repr=False)
    _all: list[Deps] = field(default_factory=list, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _groups: dict[str, tuple[float, list[str]]] = field(default_factory=dict, repr=False)
    _shared: Deps | None = field(default=None, repr=False)

    @property
    def engine(self) -> Engine:
        """The state DB for the app's own bookkeeping (event ids, button tokens): one engine
        for all threads (SQLAlchemy's pool is thread-safe), opened and migrated once."""
        with self._lock:
            if self._shared is None:
                self._shared = self.make_deps()
                self._all.append(self._shared)
        return self._shared.engine

    def engine_if_open(self) -> Engine | None:
        """The state-DB engine when it is already open, else None (a metrics scrape must not
        wait on a database that is down; ``/readyz`` is the one that retries opening it)."""
        shared = self._shared
        return shared.__dict__.get("engine") if shared is not None else None

    def deps(self) -> Deps:
        current = getattr(self._local, "deps", None)
        if current is None:
            current = self.make_deps()
            self._local.deps = current
            with self._lock:
                self._all.append(current)
        return current

    def ask(self, question: str, *, thread: str, user: str | None) -> Any:
        """The agent's grounded answer (``agent.ask.ask``); never a computation of our own."""
        asker = self.asker
        if asker is None:
            from agent.ask import ask as asker  # the agent loads with the first question

            self.asker = asker
        started = time.perf_counter()
        result = asker(question, self.deps(), thread=thread, user=user)
        if self.on_answer is not None:
            grounded = (
                result.get("grounded") if isinstance(result, dict) else getattr(result, "grounded", None)
            )
            self.on_answer(grounded=bool(grounded), seconds=time.perf_counter() - started)
        return result

    def now(self) -> datetime:
        return self.clock()

    def close(self) -> None:
        with self._lock:
            while self._all:
                self._all.pop().close()
            self._shared = None

    # ----- Slack user groups in approver lists -----
    def group_members(self, group_id: str) -> list[str]:
        """Members of a Slack user group (``usergroups.users.list``), cached for five minutes."""
        cached = self._groups.get(group_id)
        if cached is not None and time.monotonic() - cached[0] < GROUP_TTL_SECONDS:
            return cached[1]
        response = self.client.usergroups_users_list(usergroup=group_id)
        members = [str(u) for u in response.get("users", [])]
        self._groups[group_id] = (time.monotonic(), members)
        return members

    def resolve_slack_groups(self, deps: Deps, playbook: str) -> None:
        """Fill ``group:S…`` principals of ``playbook``'s approvers from Slack, so the remediation
        service's own authorisation (``decide``) sees their members. Groups configured in
        ``remediation.toml`` win; only Slack group ids missing there are looked up."""
        from services.remediation import build_service

        config = deps.remediation_config
        spec = build_service(deps).authorizer.spec(playbook)
        if spec is None:
            return
        wanted = {
            p.removeprefix("group:")
            for p in [*spec.default, *spec.production]
            if p.startswith("group:") and SLACK_GROUP.fullmatch(p.removeprefix("group:"))
        }
        missing = sorted(wanted - set(config.approvers.groups))
        if not missing and not (wanted & set(self._groups)):
            return
        groups = dict(config.approvers.groups)
        for group_id in sorted(wanted):
            if group_id in missing or group_id in self._groups:
                groups[group_id] = self.group_members(group_id)
        rules = config.approvers.model_copy(update={"groups": groups})
        # Deps caches the config; this thread's Deps gets the copy with the Slack members.
        deps.remediation_config = config.model_copy(update={"approvers": rules})  # type: ignore[misc]
