"""Readiness of a ``serve`` process: is the state DB reachable, is the warehouse reachable?

``/healthz`` only says the process answers (a liveness probe must not restart a pod because its
database is down); ``/readyz`` runs ``readiness`` and answers 503 with the first failure's
one-line reason, so Kubernetes stops routing Slack traffic to a replica that cannot serve it.
Reasons never carry a password (URLs are shown redacted).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from domain.errors import CostpilotError
from domain.text import single_line

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from services.deps import Deps

# A probe must answer well inside Kubernetes' default timeoutSeconds (1 s … a few seconds).
PG_PROBE_TIMEOUT_SECONDS = 2
Component = Literal["state database", "warehouse"]


@dataclass(frozen=True)
class Check:
    """One component's verdict; ``detail`` is one line for an operator."""

    component: Component
    ok: bool
    detail: str


@dataclass(frozen=True)
class Readiness:
    checks: tuple[Check, ...]

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    def line(self) -> str:
        """``ready: …`` or ``not ready: <first failure>`` — one line, the body of ``/readyz``."""
        if self.ok:
            return "ready: " + "; ".join(f"{c.component} {c.detail}" for c in self.checks)
        failed = next(c for c in self.checks if not c.ok)
        return "not ready: " + failed.detail


def check_state_db(engine: Callable[[], Engine]) -> Check:
    """``engine()`` opens (and migrates) the state DB on first use; then one ``SELECT 1``."""
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    from store.db import connection_error

    try:
        handle = engine()
    except CostpilotError as exc:
        return Check("state database", False, single_line(str(exc)))
    try:
        with handle.connect() as conn:
            conn.execute(text("SELECT 1"))
    except DBAPIError as exc:
        return Check("state database", False, connection_error(handle, exc))
    return Check("state database", True, "ok")


def check_warehouse(deps: Deps) -> Check:
    """The warehouse named by ``COSTPILOT_WAREHOUSE_URL`` (or the workspace's DuckDB file)."""
    url = deps.warehouse_url
    scheme = url.split("://", 1)[0].lower() if "://" in url else "file"
    probe = WAREHOUSE_PROBES.get(scheme, _probe_backend)
    try:
        detail = probe(url, deps)
    except Exception as exc:  # any driver's failure is a "not reachable", said in one line
        reason = _first_line(exc)
        password = _password(url)
        if password:  # a driver could echo it; never show it
            reason = reason.replace(password, "***")
        return Check("warehouse", False, f"cannot reach the warehouse {_shown(url)}: {reason}")
    return Check("warehouse", True, detail)


def _probe_file(url: str, deps: Deps) -> str:
    """A DuckDB file: readable, or not there yet (a new workspace answers "no data", not 503).
    Not opened: an ingest holds DuckDB's write lock, and readiness must not flap during one."""
    path = Path(url)
    if not path.exists():
        return "ok (no warehouse file yet)"
    if not path.is_file() or not os.access(path, os.R_OK):
        raise OSError(f"{path} is not a readable file")
    with path.open("rb") as handle:
        handle.read(1)
    return "ok"


def _probe_postgres(url: str, deps: Deps) -> str:
    import psycopg

    psycopg.connect(url, connect_timeout=PG_PROBE_TIMEOUT_SECONDS).close()
    return "ok"


def _probe_backend(url: str, deps: Deps) -> str:
    """Any other Ibis URL: the process's own backend lists its tables."""
    deps.backend.list_tables()
    return "ok"


WAREHOUSE_PROBES: dict[str, Callable[[str, Deps], str]] = {
    "file": _probe_file,
    "postgres": _probe_postgres,
    "postgresql": _probe_postgres,
}


def readiness(engine: Callable[[], Engine], deps: Callable[[], Deps]) -> Readiness:
    """Both checks; the warehouse is checked even when the state DB is down (the log shows both)."""
    return Readiness((check_state_db(engine), check_warehouse(deps())))


def _shown(url: str) -> str:
    from store.db import redact_url

    return redact_url(url) if "://" in url else url


def _password(url: str) -> str | None:
    from urllib.parse import unquote, urlsplit

    try:
        password = urlsplit(url).password
    except ValueError:
        return None
    return unquote(password) if password else None


def _first_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    text = lines[0] if lines else type(exc).__name__
    return single_line(text.removeprefix("connection failed: "))
