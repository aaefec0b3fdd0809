"""The audit chain's key: kept outside the state database, so that whoever can write the database
cannot recompute the chain.

Where the key comes from, first match wins:

1. ``COSTPILOT_AUDIT_KEY`` (the environment, or the caller's settings): replicas share it;
2. the secrets file (``secrets.toml``, key ``audit_key``): the workspace's when the caller names
   it, else the one beside a SQLite database file, else ``$COSTPILOT_HOME/secrets.toml``;
   created with a random key, mode 0600, when it does not exist yet (never in the database);
3. an in-memory database (or a server database with no workspace known) gets a key for this
   process only.

Keys are registered per database URL, so every engine a process opens on the same database signs
with the same key.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import tomllib
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import URL, Engine

from domain.errors import ConfigError

ENV = "COSTPILOT_AUDIT_KEY"
SECRETS_FILE = "secrets.toml"
MIN_KEY_CHARS = 16


@dataclass(frozen=True)
class AuditKey:
    """The HMAC-SHA256 key of one database's audit chain; ``created``: generated just now (the
    one moment an unkeyed chain from an older costpilot may be re-keyed)."""

    secret: bytes
    source: str
    created: bool = False

    @property
    def key_id(self) -> str:
        """A fingerprint that names the key without revealing it."""
        return hmac.new(self.secret, b"costpilot audit key id", hashlib.sha256).hexdigest()[:16]

    def mac(self, message: str) -> str:
        return hmac.new(self.secret, message.encode(), hashlib.sha256).hexdigest()


_KEYS: dict[str, AuditKey] = {}


def _url_key(url: URL | str) -> str:
    return url.render_as_string(hide_password=False) if isinstance(url, URL) else str(url)


def configured_key(value: str | None, where: str = ENV) -> AuditKey | None:
    if value is None or not value.strip():
        return None
    if len(value.strip()) < MIN_KEY_CHARS:
        raise ConfigError(f"{where}: the audit key is too short (at least {MIN_KEY_CHARS} characters)")
    return AuditKey(value.strip().encode(), source=where)


def read_or_create(path: Path) -> AuditKey:
    """The ``audit_key`` of the secrets file at ``path``, written (0600) when missing."""
    for _attempt in range(50):
        if path.exists():
            try:
                raw = path.read_text()
            except OSError as exc:
                raise ConfigError(f"{path}: cannot read the secrets file: {exc.strerror}") from None
            if not raw.strip():  # another process is writing it
                continue
            try:
                value = tomllib.loads(raw).get("audit_key")
            except tomllib.TOMLDecodeError as exc:
                raise ConfigError(f"{path}: not valid TOML: {exc}") from None
            if not isinstance(value, str):
                raise ConfigError(f"{path}: key 'audit_key' is missing (a string of 64 hex digits)")
            key = configured_key(value, f"{path}: audit_key")
            assert key is not None
            return key
        if _create(path):
            key = read_or_create(path)
            return AuditKey(key.secret, key.source, created=True)
    raise ConfigError(f"{path}: the secrets file stays empty")  # pragma: no cover


def _create(path: Path) -> bool:
    """Write a new secrets file atomically (link fails when another process won); True if ours."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as out:
            out.write(
                "# costpilot secrets: keep out of version control and backups of the state DB\n"
                f'audit_key = "{secrets.token_hex(32)}"\n'
            )
        try:
            os.link(tmp, path)
            return True
        except FileExistsError:
            return False
    finally:
        tmp.unlink(missing_ok=True)


def default_secrets_file(url: URL) -> Path | None:
    """Beside a SQLite file (the workspace's own database), else ``$COSTPILOT_HOME``'s."""
    if url.get_backend_name() == "sqlite":
        database = url.database
        if database and database != ":memory:":
            return Path(database).resolve().parent / SECRETS_FILE
        return None
    home = os.environ.get("COSTPILOT_HOME")
    return Path(home) / SECRETS_FILE if home else None


def resolve(url: URL, *, configured: str | None = None, secrets_file: Path | None = None) -> AuditKey:
    """The key for the database at ``url`` (see the module docstring for the order)."""
    key = configured_key(configured) or configured_key(os.environ.get(ENV))
    if key is not None:
        return key
    path = secrets_file or default_secrets_file(url)
    if path is not None:
        return read_or_create(path)
    return AuditKey(secrets.token_bytes(32), source="this process only", created=True)


def register(url: URL | str, key: AuditKey) -> AuditKey:
    """Sign this database's chain with ``key`` in this process; the first registration wins
    unless the caller names a key explicitly (``open_engine(..., audit_key=…)``)."""
    _KEYS[_url_key(url)] = key
    return key


def key_for(engine: Engine) -> AuditKey:
    """The key registered for ``engine``'s database, resolved (and registered) on first use."""
    name = _url_key(engine.url)
    key = _KEYS.get(name)
    if key is None:
        key = register(name, resolve(engine.url))
    return key


def registered(engine: Engine) -> AuditKey | None:
    return _KEYS.get(_url_key(engine.url))


def unregister(url: URL | str) -> None:
    """Forget this database's key in this process (the next open resolves it again)."""
    _KEYS.pop(_url_key(url), None)
