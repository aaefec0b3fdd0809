"""``Deps``: what every operation needs, built once from settings at the entry point.

The CLI, the Slack app, the MCP server and the agent each build one ``Deps`` and pass it to
``TOOLS`` entries; no module below reaches for a file path or global settings on its own.
Handles open on first use and are kept, so a command that never touches the state database
never opens it (and ``costpilot --help`` imports none of SQLAlchemy, Ibis or pandas).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from domain.errors import ConfigError
from domain.period import Period, parse_period, today_utc
from services.settings import Settings
from services.workspace import Workspace

if TYPE_CHECKING:  # heavy modules load only when an operation uses them
    import ibis
    from sqlalchemy.engine import Engine

    from gitops.forges import Forge
    from gitops.repo import GitOpsRepo
    from guardrails.policy import Policy
    from services.remediation.config import RemediationConfig
    from tools.rightsizing.service import ConfiguredPrices


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Deps:
    """Settings plus the handles built from them (each opened once, on first use)."""

    settings: Settings
    clock: Callable[[], datetime] = utc_now
    # Per-process memo of derived read-only facts (the catalog of dimension values …).
    cache: dict[str, Any] = field(default_factory=dict, repr=False)
    _closers: list[Callable[[], None]] = field(default_factory=list, repr=False)

    # ----- time -----
    @property
    def today(self) -> date:
        """``--as-of`` / ``COSTPILOT_AS_OF`` when given, else today's UTC date."""
        return self.settings.as_of or today_utc()

    @property
    def until(self) -> datetime | None:
        """``--as-of D`` means data up to the start of D (naive UTC, as stored); None = all data."""
        if self.settings.as_of is None:
            return None
        return datetime.combine(self.settings.as_of, time.min)

    def period(self, text: str) -> Period:
        return parse_period(text, self.today)

    # ----- workspace and warehouse -----
    @cached_property
    def workspace(self) -> Workspace:
        return Workspace(self.settings.home)

    @property
    def warehouse_url(self) -> str:
        """``COSTPILOT_WAREHOUSE_URL`` when set, else the workspace's DuckDB file."""
        return self.settings.warehouse_url or str(self.workspace.warehouse_path)

    @property
    def warehouse_path(self) -> Path:
        """The DuckDB warehouse file (ingest and the sample-level tools read it directly)."""
        url = self.warehouse_url
        if "://" in url:
            raise ConfigError(
                f"COSTPILOT_WAREHOUSE_URL {_redact_url(url)}: this operation needs the DuckDB "
                "warehouse file (utilization samples are DuckDB-only for now)"
            )
        return Path(url)

    @cached_property
    def backend(self) -> ibis.BaseBackend:
        """The Ibis backend over the cost facts (DuckDB file or any Ibis URL), opened once."""
        from warehouse.connection import open_backend

        # Tag aliases derive team/env/… on a lakehouse table that lacks them (spark+parquet://).
        backend = open_backend(self.warehouse_url, self.settings.tag_aliases)
        self._closers.append(backend.disconnect)
        return backend

    # ----- state -----
    @cached_property
    def engine(self) -> Engine:
        """The state database (SQLite in the workspace, or ``COSTPILOT_DATABASE_URL``), opened and
        migrated once."""
        from store.proposals import open_store

        if self.settings.database_url is None:
            self.workspace.ensure()
        key = self.settings.audit_key
        # The audit chain's key lives outside the state DB: the environment, else the workspace's
        # secrets file (replicas on one PostgreSQL must share COSTPILOT_AUDIT_KEY).
        engine = open_store(
            self.workspace.state_db_url(self.settings.database_url),
            audit_key=key.get_secret_value() if key else None,
            secrets_file=self.workspace.home / "secrets.toml",
        )
        self._closers.append(engine.dispose)
        return engine

    @property
    def has_state(self) -> bool:
        """Whether a state database exists (a SQLite file not created yet means none)."""
        return self.settings.database_url is not None or self.workspace.state_db_path.exists()

    # ----- GitOps and remediation -----
    @cached_property
    def remediation_config(self) -> RemediationConfig:
        from services.remediation.config import load_remediation_config

        return load_remediation_config(self.settings.home)

    @cached_property
    def gitops_checkout(self) -> Path | None:
        """The GitOps working copy every reader uses (right-sizing, scan, models, review):
        ``gitops_checkout`` of ``remediation.toml``, else the local forge's repository."""
        configured = self.remediation_config.gitops_checkout
        if configured is not None:
            return configured
        if self.settings.forge == "local" and self.settings.gitops_repo:
            return Path(self.settings.gitops_repo)
        return None

    def require_checkout(self, what: str) -> Path:
        root = self.gitops_checkout
        if root is None or not root.is_dir():
            from services.remediation.config import REMEDIATION_FILE

            shown = f" ({root} is not a folder)" if root is not None else ""
            raise ConfigError(
                f"{what} needs the GitOps checkout{shown}: COSTPILOT_GITOPS_REPO (local forge) "
                f"or gitops_checkout in {self.settings.home / REMEDIATION_FILE}"
            )
        return root

    @cached_property
    def gitops_repo(self) -> GitOpsRepo | None:
        """The one repository model of the checkout (read once per ``Deps``); None without one."""
        from gitops.repo import GitOpsRepo

        root = self.gitops_checkout
        return GitOpsRepo.load(root) if root is not None and root.is_dir() else None

    @cached_property
    def policy(self) -> Policy:
        """``.costpilot/policy.yaml`` of the checkout over safe defaults (defaults without one)."""
        from guardrails.policy import Policy, load_policy

        root = self.gitops_checkout
        return load_policy(root) if root is not None and root.is_dir() else Policy()

    def forge(self) -> Forge:
        """The configured forge (built on each call: PR work is rare and tokens may rotate)."""
        from gitops.forges import get_forge
        from services.remediation import wiring

        return get_forge(self.settings.forge, wiring.forge_config(self.settings))

    @property
    def node_prices(self) -> ConfiguredPrices:
        """Node prices from settings, used when the bill has no node rows to derive them from."""
        from tools.rightsizing.service import ConfiguredPrices

        return ConfiguredPrices(
            usd_per_vcpu_hour=self.settings.rightsizing_usd_per_vcpu_hour,
            usd_per_gib_hour=self.settings.rightsizing_usd_per_gib_hour,
        )

    def close(self) -> None:
        """Close what was opened (the CLI calls this once; long-lived servers keep theirs)."""
        while self._closers:
            closer = self._closers.pop()
            with contextlib.suppress(Exception):  # closing must never mask the command's outcome
                closer()


def build_deps(settings: Settings, **kwargs: Any) -> Deps:
    """``Deps`` for one process (the entry point calls this once)."""
    return Deps(settings=settings, **kwargs)


def _redact_url(url: str) -> str:
    """A URL without its password (for messages)."""
    from urllib.parse import urlsplit, urlunsplit

    try:
        parts = urlsplit(url)
    except ValueError:
        return "<malformed URL>"
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return urlunsplit(parts._replace(netloc=netloc))
