"""The workspace log file: what ran, on which data, with which outcome (never secrets)."""

from __future__ import annotations

import logging
from logging.handlers import RotatingFileHandler

from app.workspace import Workspace
from domain.redaction import redact

LOGGER = "costpilot"
# Until a workspace is known, log records go nowhere (not to Python's stderr fallback).
logging.getLogger(LOGGER).addHandler(logging.NullHandler())


class _WorkspaceLogHandler(RotatingFileHandler):
    """Writes ``<workspace>/logs/costpilot.log`` only once the workspace exists, so read-only
    commands on a missing workspace leave no folder behind."""

    def __init__(self, workspace: Workspace) -> None:
        self._workspace = workspace
        super().__init__(
            workspace.logs_dir / "costpilot.log",
            maxBytes=5_000_000,
            backupCount=3,
            delay=True,
            encoding="utf-8",
        )

    def emit(self, record: logging.LogRecord) -> None:
        if not self._workspace.home.is_dir():
            return
        self._workspace.logs_dir.mkdir(exist_ok=True)
        super().emit(record)


class RedactingFormatter(logging.Formatter):
    """Formats as usual, then hides every registered secret and token-shaped value: a message,
    its arguments or a traceback may carry a credential echoed by a forge or a driver."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
_base_factory = logging.getLogRecordFactory()


def _redacting_factory(*args: object, **kwargs: object) -> logging.LogRecord:
    record = _base_factory(*args, **kwargs)  # type: ignore[arg-type]
    if record.name == LOGGER or record.name.startswith(LOGGER + "."):
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a malformed format string: leave it to the handler
            return record
        record.msg, record.args = redact(message), None
    return record


def install_log_redaction() -> None:
    """Redact costpilot's log records as they are made, so every handler (the workspace file,
    JSON logs on stderr, a test's caplog) sees them without secrets."""
    if logging.getLogRecordFactory() is not _redacting_factory:
        logging.setLogRecordFactory(_redacting_factory)


def configure_logging(workspace: Workspace) -> logging.Logger:
    install_log_redaction()
    logger = logging.getLogger(LOGGER)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
        handler.close()
    handler = _WorkspaceLogHandler(workspace)
    handler.setFormatter(RedactingFormatter(LOG_FORMAT))
    logger.addHandler(handler)
    return logger


def get_logger(name: str) -> logging.Logger:
    return logging.getLogger(f"{LOGGER}.{name}")
