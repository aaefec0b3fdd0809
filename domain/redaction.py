"""Secrets never echoed: the one place that knows which values are secret and hides them.

Every configured secret (tokens, signing secrets, API keys, the audit key, passwords inside
database URLs) is registered once at the entry point; ``redact`` replaces each, and anything
shaped like a well-known token (GitHub ``ghp_…``, Slack ``xoxb-…``, OpenAI/Anthropic ``sk-…``)
even when it was never configured, with ``***``. Output, logs, stored errors and audit text go
through it, because a forge, a proxy or a driver may echo a credential in an error message.
Pure string functions plus a process-wide set of values; no I/O.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Mapping
from urllib.parse import unquote, urlsplit

REDACTED = "***"
# Shorter values would hide ordinary words and numbers; no real credential is this short.
MIN_SECRET_LENGTH = 8

# Token shapes issued by GitHub (classic, fine-grained, OAuth, app, refresh), Slack (bot, user,
# app-level, refresh, config) and LLM providers (sk-…, sk-ant-…, sk-proj-…).
TOKEN_SHAPES = re.compile(
    r"(?<![A-Za-z0-9_])(?:"
    r"gh[pousr]_[A-Za-z0-9]{16,}"
    r"|github_pat_[A-Za-z0-9_]{20,}"
    r"|xox[abposr]-[A-Za-z0-9-]{8,}"
    r"|xapp-[A-Za-z0-9-]{8,}"
    r"|xoxe(?:\.xox[bp])?-[A-Za-z0-9-]{8,}"
    r"|sk-(?:ant-|proj-)?[A-Za-z0-9_-]{16,}"
    r")"
)
# user:password@ in any URL (postgresql://app:pw@db/…, https://x:token@proxy/…).
URL_PASSWORD = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^:/?#@\s]*:)(?P<pw>[^@/?#\s]+)(?=@)")
# Environment variables whose values are credentials costpilot or its libraries use: its own,
# GitHub's and Slack's tokens, and LLM providers' API keys (names, not values, are public).
# Deliberately not "anything ending in _PASSWORD": a CI's POSTGRES_PASSWORD=postgres would
# then hide every "postgres" in the output.
SECRET_ENV_NAME = re.compile(
    r"^(?:COSTPILOT_\w*(?:TOKEN|SECRET|PASSWORD|API_KEY|AUDIT_KEY)|GITHUB_TOKEN|GH_TOKEN"
    r"|SLACK_\w*(?:TOKEN|SECRET)|[A-Z0-9_]+_API_KEY)$"
)
# costpilot's URL settings, which may carry a password (postgresql://user:pw@host/db).
URL_ENV_NAME = re.compile(r"^COSTPILOT_\w*_URL$")

_lock = threading.Lock()
_secrets: frozenset[str] = frozenset()


def url_secrets(url: str | None) -> list[str]:
    """The password of ``scheme://user:password@host/…`` as written and percent-decoded (either
    may be echoed), or nothing."""
    if not url or "@" not in url:
        return []
    try:
        password = urlsplit(url).password
    except ValueError:
        return []
    return sorted({password, unquote(password)}) if password else []


def register_secrets(values: Iterable[str | None]) -> None:
    """Add ``values`` to the secrets hidden from now on (for the rest of the process); empty and
    too-short values are ignored."""
    global _secrets
    fresh = {v for v in values if v and len(v) >= MIN_SECRET_LENGTH}
    if not fresh:
        return
    with _lock:
        _secrets = _secrets | fresh


def secrets_from_environment(environ: Mapping[str, str]) -> list[str]:
    """Every credential an environment carries (``SECRET_ENV_NAME``), and the passwords inside
    costpilot's URL settings."""
    found: list[str] = []
    for name, value in environ.items():
        if SECRET_ENV_NAME.match(name):
            found.append(value)
        elif URL_ENV_NAME.match(name):
            found.extend(url_secrets(value))
    return found


def registered() -> frozenset[str]:
    """The values currently hidden (for tests and for hand-off to other redactors)."""
    return _secrets


def clear_secrets() -> None:
    """Forget every registered value (tests: each test starts clean)."""
    global _secrets
    with _lock:
        _secrets = frozenset()


def redact(text: str, extra: Iterable[str | None] = ()) -> str:
    """``text`` with every registered secret, every value of ``extra``, any URL password and
    anything token-shaped replaced by ``***``."""
    if not text:
        return text
    values = set(_secrets)
    values.update(v for v in extra if v and len(v) >= MIN_SECRET_LENGTH)
    # Longest first, so a secret that contains another is hidden whole.
    for secret in sorted(values, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, REDACTED)
    text = URL_PASSWORD.sub(lambda m: m.group("head") + REDACTED, text)
    return TOKEN_SHAPES.sub(REDACTED, text)


LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})


def insecure_url_reason(url: str) -> str | None:
    """Why a base URL that carries credentials (a forge API, Slack's Web API) must be refused, or
    None: it must be ``https://``, except on loopback (stand-ins and local proxies)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError as exc:
        return f"not a URL ({exc})"
    if parts.scheme not in ("http", "https") or not host:
        return "not an http(s) URL with a host"
    if parts.scheme == "http" and host not in LOOPBACK_HOSTS and not host.startswith("127."):
        return "plain http would send the token unencrypted; use https:// (http is allowed on loopback only)"
    return None


def contains_secret(text: str) -> bool:
    """Whether ``text`` still shows a registered secret or a token-shaped value."""
    return redact(text) != text
