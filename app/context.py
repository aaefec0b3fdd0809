"""What every CLI command receives: settings, workspace and the day it runs as."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import typer

from app.settings import Settings
from app.workspace import Workspace
from domain.period import Period, parse_period, today_utc


@dataclass(frozen=True)
class AppContext:
    settings: Settings
    workspace: Workspace

    @property
    def today(self) -> date:
        """``--as-of`` / ``COSTPILOT_AS_OF`` when given, else today's UTC date."""
        return self.settings.as_of or today_utc()

    def period(self, text: str) -> Period:
        return parse_period(text, self.today)


def get_context(ctx: typer.Context) -> AppContext:
    """The AppContext built by the root callback (commands call this first)."""
    root = ctx.find_root()
    obj = root.obj
    if not isinstance(obj, AppContext):  # pragma: no cover - wiring error
        raise RuntimeError("costpilot CLI context missing")
    return obj
