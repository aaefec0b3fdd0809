"""The Slack app's configuration, read once from ``Settings``.

Tokens and the signing secret are the settings' secrets; the approvals / digest / alerts
channels are ``COSTPILOT_SLACK_APPROVALS_CHANNEL`` … (read with ``getattr`` so this module works
before and after those settings exist).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from domain.errors import ConfigError

CHANNEL_SETTINGS = {
    "approvals": "slack_approvals_channel",
    "digest": "slack_digest_channel",
    "alerts": "slack_alerts_channel",
}


def _secret(value: Any) -> str | None:
    if value is None:
        return None
    text = value.get_secret_value() if hasattr(value, "get_secret_value") else str(value)
    return text or None


@dataclass(frozen=True)
class SlackConfig:
    """What the Slack surfaces need; ``require`` names a missing piece in one line."""

    bot_token: str | None
    signing_secret: str | None
    app_token: str | None
    api_base_url: str
    approvals_channel: str | None = None
    digest_channel: str | None = None
    alerts_channel: str | None = None

    def channel(self, purpose: str) -> str:
        """The channel for ``approvals`` | ``digest`` | ``alerts``; a ConfigError names the setting."""
        value = getattr(self, f"{purpose}_channel", None)
        if not value:
            env = "COSTPILOT_" + CHANNEL_SETTINGS[purpose].upper()
            raise ConfigError(f"{env} is not set: the Slack channel id for {purpose} (e.g. C0123ABCD)")
        return str(value)

    def require_bot(self) -> str:
        if not self.bot_token:
            raise ConfigError("SLACK_BOT_TOKEN is not set (the bot token, xoxb-…)")
        return self.bot_token

    def require_http(self) -> None:
        self.require_bot()
        if not self.signing_secret:
            raise ConfigError("SLACK_SIGNING_SECRET is not set: every request's signature is verified")

    def require_socket(self) -> str:
        self.require_bot()
        if not self.app_token:
            raise ConfigError("SLACK_APP_TOKEN is not set (an app-level token, xapp-…, for Socket Mode)")
        return self.app_token


def slack_config(settings: Any) -> SlackConfig:
    """The Slack configuration of ``settings`` (``services.settings.Settings``)."""
    base = str(getattr(settings, "slack_api_base_url", None) or "https://slack.com/api/")
    return SlackConfig(
        bot_token=_secret(getattr(settings, "slack_bot_token", None)),
        signing_secret=_secret(getattr(settings, "slack_signing_secret", None)),
        app_token=_secret(getattr(settings, "slack_app_token", None)),
        api_base_url=base if base.endswith("/") else base + "/",
        **{f"{purpose}_channel": getattr(settings, name, None) for purpose, name in CHANNEL_SETTINGS.items()},
    )
