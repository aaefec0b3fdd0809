"""Settings: environment variables (``COSTPILOT_*``) over the workspace's ``costpilot.toml``.

Built once at the entry point and passed down explicitly; lower layers receive the small
config objects they need (``warehouse.config.WarehouseConfig`` …), never this class.
"""

from __future__ import annotations

import tomllib
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from domain.errors import ConfigError
from domain.redaction import insecure_url_reason, redact
from warehouse.config import DEFAULT_TAG_ALIASES, PriceOverride, WarehouseConfig

SETTINGS_FILE = "costpilot.toml"


class Settings(BaseSettings):
    """Every setting costpilot reads; each is also settable in ``costpilot.toml``."""

    model_config = SettingsConfigDict(env_prefix="COSTPILOT_", extra="forbid")

    home: Path = Field(Path(".costpilot"), description="workspace folder")
    as_of: date | None = Field(None, description="pretend today is this day (UTC)")
    database_url: str | None = Field(None, description="state DB; default SQLite in the workspace")
    warehouse_url: str | None = Field(
        None,
        description="cost facts; default DuckDB in the workspace; postgresql://… (ingest too), "
        "spark+parquet://LOCATION[?master=…] or any Ibis URL (warehouse/README.md)",
    )
    llm: str | None = Field(None, description="unset → offline planner; openai:MODEL, anthropic:MODEL…")
    llm_base_url: str | None = Field(None, description="any OpenAI-compatible server for COSTPILOT_LLM")
    forge: Literal["local", "github"] = "local"
    gitops_repo: str | None = Field(None, description="local path, or OWNER/NAME on GitHub")
    github_base_url: str = "https://api.github.com"
    github_app_id: str | None = None
    github_app_key_file: Path | None = None
    github_installation_id: str | None = None
    github_attempts: int = Field(
        4, ge=1, le=10, description="tries of a GitHub publish on 5xx or a rate limit, with backoff"
    )
    gitops_base_branch: str | None = Field(
        None, description="branch PRs start from; default the repository's default branch"
    )
    cli_approvals_in_production: bool | None = Field(
        None, description="allow `approve` from the CLI for production; unset: only without Slack"
    )
    slack_api_base_url: str = "https://slack.com/api/"
    slack_approvals_channel: str | None = Field(None, description="Slack channel id for approval requests")
    slack_digest_channel: str | None = Field(None, description="Slack channel id for the weekly digest")
    slack_alerts_channel: str | None = Field(
        None, description="Slack channel id for anomaly and budget alerts"
    )
    currency: str | None = Field(None, description="dataset currency; default: the first file's")
    tag_aliases: dict[str, list[str]] = Field(default_factory=lambda: dict(DEFAULT_TAG_ALIASES))
    prices: dict[str, PriceOverride] = Field(
        default_factory=dict, description="custom USD-per-token prices by model name"
    )
    # Node prices for right-sizing savings when the bill has no node rows to derive them from.
    rightsizing_usd_per_vcpu_hour: Decimal = Field(Decimal("0.031611"), ge=0, description="USD per vCPU-hour")
    rightsizing_usd_per_gib_hour: Decimal = Field(Decimal("0.004237"), ge=0, description="USD per GiB-hour")
    # Secrets: read from the environment (unprefixed names, as their tools use them).
    github_token: SecretStr | None = Field(None, validation_alias="GITHUB_TOKEN")
    slack_bot_token: SecretStr | None = Field(None, validation_alias="SLACK_BOT_TOKEN")
    slack_signing_secret: SecretStr | None = Field(None, validation_alias="SLACK_SIGNING_SECRET")
    slack_app_token: SecretStr | None = Field(None, validation_alias="SLACK_APP_TOKEN")
    # The audit chain's HMAC key (else the workspace's secrets.toml, generated once; see store.audit_key).
    audit_key: SecretStr | None = Field(None, validation_alias="COSTPILOT_AUDIT_KEY")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The workspace's costpilot.toml ranks below the environment.
        toml = TomlConfigSettingsSource(settings_cls)
        return (init_settings, env_settings, toml, file_secret_settings)

    @field_validator("github_base_url", "slack_api_base_url")
    @classmethod
    def _https_only(cls, value: str) -> str:
        # These URLs receive the GitHub / Slack tokens: never over plain http off loopback.
        reason = insecure_url_reason(value)
        if reason:
            raise ValueError(f"{redact(value)}: {reason}")
        return value

    def warehouse_config(self) -> WarehouseConfig:
        return WarehouseConfig(currency=self.currency, tag_aliases=self.tag_aliases, prices=self.prices)


def load_settings(home: Path | None = None, **overrides: Any) -> Settings:
    """Build settings once: explicit overrides > environment > ``<home>/costpilot.toml``."""
    import os

    folder = home or Path(os.environ.get("COSTPILOT_HOME", ".costpilot"))
    toml_file = folder / SETTINGS_FILE
    if toml_file.is_file():
        try:
            tomllib.loads(toml_file.read_text())
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{toml_file}: not valid TOML: {exc}") from None
    # A subclass bound to this workspace's file: no global state between calls.
    bound = type(
        "WorkspaceSettings", (Settings,), {"model_config": {**Settings.model_config, "toml_file": toml_file}}
    )
    try:
        init: dict[str, Any] = {k: v for k, v in overrides.items() if v is not None}
        if home is not None:
            init["home"] = home
        return bound(**init)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"setting {key!r}: {first['msg']} (from env COSTPILOT_* or {toml_file})") from None
