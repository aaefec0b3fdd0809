"""How every ``costpilot ingest …`` command reports: per-file lines on stderr (and in the
workspace log), then ``read N, loaded L, rejected R`` or one JSON document."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import typer

from app.logs import get_logger
from app.render import emit_json, err_console

if TYPE_CHECKING:
    from warehouse.ingest_models import IngestReport, IngestResult

log = get_logger("ingest")


def file_progress(json_output: bool) -> Callable[[IngestResult], None]:
    """A per-file callback: log it, and show it on stderr unless --json."""

    def show(result: IngestResult) -> None:
        log.info("ingest %s %s sha256=%s", result.kind, result.summary_line(), result.sha256)
        if not json_output:  # stdout stays one JSON document with --json
            err_console.print(result.summary_line())

    return show


def finish_report(report: IngestReport, json_output: bool) -> None:
    if json_output:
        emit_json(
            {
                "files": [f.model_dump(mode="json") for f in report.files],
                "rows_read": report.rows_read,
                "rows_loaded": report.rows_loaded,
                "rows_rejected": report.rows_rejected,
            }
        )
    else:
        typer.echo(f"read {report.rows_read}, loaded {report.rows_loaded}, rejected {report.rows_rejected}")
