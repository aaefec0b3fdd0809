"""Ingest: FOCUS exports, LLM gateway logs, utilization samples and Prometheus into the warehouse.

``on_file`` lets a surface show per-file progress while the load runs.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

from domain.errors import ConfigError
from services.deps import Deps, _redact_url
from services.requests import IngestRequest, PrometheusIngestRequest
from warehouse.ingest_models import IngestReport, IngestResult

OnFile = Callable[[IngestResult], None] | None

FOCUS_SUFFIXES = (".csv", ".csv.gz", ".parquet")
LLM_SUFFIXES = (".jsonl", ".jsonl.gz", ".json", ".csv", ".csv.gz")


def _paths(request: IngestRequest) -> list[Path]:
    return [Path(p) for p in request.paths]


def _cost_warehouse(deps: Deps) -> Path | str:
    """Where cost facts are loaded: the DuckDB file, or a ``postgresql://`` warehouse."""
    from warehouse.targets import is_postgres_url

    url = deps.warehouse_url
    if is_postgres_url(url):
        return url
    if "://" in url:
        raise ConfigError(
            f"COSTPILOT_WAREHOUSE_URL {_redact_url(url)}: costpilot ingests into DuckDB or PostgreSQL; "
            "a lakehouse table (Spark over Parquet) is loaded by its own pipeline, costpilot only queries it"
        )
    return deps.warehouse_path


def ingest_focus(request: IngestRequest, deps: Deps, on_file: OnFile = None) -> IngestReport:
    from warehouse.ingest_focus import ingest_focus_files
    from warehouse.paths import expand_inputs

    ws = deps.workspace.ensure()
    return ingest_focus_files(
        _cost_warehouse(deps),
        expand_inputs(_paths(request), FOCUS_SUFFIXES),
        deps.settings.warehouse_config(),
        ws.rejected_dir,
        on_file=on_file,
        append=request.append,
        allow_shrink=request.allow_shrink,
    )


def ingest_llm_usage(request: IngestRequest, deps: Deps, on_file: OnFile = None) -> IngestReport:
    from warehouse.ingest_llm import ingest_llm_files
    from warehouse.paths import expand_inputs

    ws = deps.workspace.ensure()
    return ingest_llm_files(
        _cost_warehouse(deps),
        expand_inputs(_paths(request), LLM_SUFFIXES),
        deps.settings.warehouse_config(),
        ws.rejected_dir,
        on_file=on_file,
    )


def ingest_utilization(request: IngestRequest, deps: Deps, on_file: OnFile = None) -> IngestReport:
    from warehouse.utilization import ingest_utilization_files

    ws = deps.workspace.ensure()
    return ingest_utilization_files(deps.warehouse_path, _paths(request), ws.rejected_dir, on_file=on_file)


def ingest_prometheus(request: PrometheusIngestRequest, deps: Deps):  # type: ignore[no-untyped-def]
    """KRR's metrics from Prometheus in bounded chunks, up to the start of ``--as-of`` (or now)."""
    from warehouse.prometheus import PrometheusSettings
    from warehouse.prometheus import ingest_prometheus as fetch

    ws = deps.workspace.ensure()
    end = datetime.combine(deps.settings.as_of, time.min, tzinfo=UTC) if deps.settings.as_of else deps.clock()
    start = end - timedelta(days=request.days)
    settings = PrometheusSettings(url=request.url, step_seconds=request.step)
    return fetch(deps.warehouse_path, settings, start, end, rejected_dir=ws.rejected_dir)
