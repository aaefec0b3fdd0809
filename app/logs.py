"""The workspace log file: what ran, on which data, with which outcome (never secrets)."""

from __future__ import annotations

import logging
from logging.handlers import RotatingFileHandler

from app.workspace import Workspace

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


def configure_logging(workspace: Workspace) -> logging.Logger:
    logger = logging.getLogger(LOGGER)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
        handler.close()
    handler = _WorkspaceLogHandler(workspace)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    logger.addHandler(handler)
    return logger


def get_logger(name: str) -> logging.Logger:
    return logging.getLogger(f"{LOGGER}.{name}")
