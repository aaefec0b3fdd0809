"""What every CLI command receives: settings and the ``Deps`` built from them once."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from pydantic import BaseModel

    from domain.period import Period
    from services.deps import Deps
    from services.settings import Settings
    from services.workspace import Workspace


@dataclass
class AppContext:
    settings: Settings
    deps: Deps = field(repr=False)

    @property
    def workspace(self) -> Workspace:
        return self.deps.workspace

    @property
    def today(self) -> date:
        """``--as-of`` / ``COSTPILOT_AS_OF`` when given, else today's UTC date."""
        return self.deps.today

    def period(self, text: str) -> Period:
        return self.deps.period(text)

    def call(self, tool: str, args: dict[str, Any] | None = None, **kwargs: Any) -> BaseModel:
        """Run one ``TOOLS`` entry: the request model validates ``args``, the handler computes."""
        from services.registry import call_tool

        return call_tool(tool, args or {}, self.deps, **kwargs)


def configured_secrets(settings: Settings) -> list[str]:
    """Every secret the settings and the environment carry: tokens, signing secrets, API keys,
    the audit key, and passwords inside the database, warehouse and LLM URLs."""
    import os

    from pydantic import SecretStr

    from domain.redaction import secrets_from_environment, url_secrets

    values: list[str] = []
    for name in type(settings).model_fields:
        value = getattr(settings, name, None)
        if isinstance(value, SecretStr):
            values.append(value.get_secret_value())
        elif isinstance(value, str) and name.endswith("_url"):
            values.extend(url_secrets(value))
    values.extend(secrets_from_environment(os.environ))
    return [v for v in values if v]


def build_context(settings: Settings) -> AppContext:
    """Register every configured secret for redaction first (before anything can print or log
    it), start with rich tables, then build ``Deps`` once."""
    from app.render import reset_format
    from domain.redaction import register_secrets
    from services.deps import build_deps

    register_secrets(configured_secrets(settings))
    reset_format()
    return AppContext(settings=settings, deps=build_deps(settings))


def get_context(ctx: typer.Context) -> AppContext:
    """The AppContext built by the root callback (commands call this first)."""
    root = ctx.find_root()
    obj = root.obj
    if not isinstance(obj, AppContext):  # pragma: no cover - wiring error
        raise RuntimeError("costpilot CLI context missing")
    return obj


def emit_tool_json(tool: str, result: Any) -> None:
    """``--json``: the registry's JSON of a result (the same document MCP and the agent see)."""
    from app.render import emit_json
    from services.registry import get_tool

    emit_json(get_tool(tool).json(result))
