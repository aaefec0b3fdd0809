"""The one exception tree of costpilot.

CostpilotError            base; caught once at the CLI edge → one line on stderr, exit 2
├── InputError            bad user input: a period, a dimension, a flag value, a file
│   └── FileRejected      a file unusable as a whole (nothing of it was loaded)
├── ConfigError           bad settings or policy/playbook files
├── DataError             the data cannot answer (empty period, mixed currency, no history)
└── ExternalError         a service (Prometheus, a forge, Slack) failed or refused
"""

from __future__ import annotations


class CostpilotError(Exception):
    """Base of every error costpilot raises on purpose; its message is one line for a user."""

    exit_code = 2


class InputError(CostpilotError):
    """The user gave something costpilot cannot use (period, dimension, filter, path)."""


class FileRejected(InputError):
    """A whole input file is unusable; nothing of it was loaded."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class ConfigError(CostpilotError):
    """Settings, policy or playbook files are invalid; the message names file and key."""


class DataError(CostpilotError):
    """The stored data cannot answer the question (empty period, mixed currencies, ...)."""


class ExternalError(CostpilotError):
    """An external service failed or refused (Prometheus, GitHub, Slack)."""
