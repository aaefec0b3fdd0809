"""Optional JSON logs: one JSON object per line (for a container's stdout and a log collector).

Selected by ``costpilot serve --log-format json`` (env ``COSTPILOT_LOG_FORMAT``), which adds a
stderr handler with this formatter to the ``costpilot`` logger. Messages are single-lined; the
fields are fixed so a collector can index them.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

from domain.redaction import redact
from domain.text import single_line

LOG_FORMATS = ("text", "json")


class JsonFormatter(logging.Formatter):
    """``{"ts", "level", "logger", "message"[, "exc_type", "exc"]}`` — UTC, ISO 8601."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, str] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": single_line(record.getMessage()),
        }
        if record.exc_info and record.exc_info[0] is not None:
            entry["exc_type"] = record.exc_info[0].__name__
            entry["exc"] = self.formatException(record.exc_info)
        return redact(json.dumps(entry, ensure_ascii=False))  # exception text too: secrets hidden


def add_stderr_handler(logger: logging.Logger, log_format: str) -> logging.Handler:
    """Log ``logger`` to stderr as well, as ``json`` lines or plain ``text`` lines."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonFormatter()
        if log_format == "json"
        else logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s")
    )
    logger.addHandler(handler)
    return handler
