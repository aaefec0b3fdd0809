"""``costpilot sample …``: write the deterministic sample data set and the sample GitOps repo."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import typer

from app.render import console, emit_json
from domain.errors import InputError

# Same as evals.sampledata.catalog (kept here so `--help` does not import the generator;
# tests/app/test_sampledata.py pins that they agree).
DEFAULT_SEED = 7

sample_app = typer.Typer(
    help="Deterministic sample data (FOCUS, LLM logs, utilization, GitOps repo).", no_args_is_help=True
)


def _end_day(text: str | None) -> date:
    if text is None:
        from evals.sampledata.catalog import DEFAULT_END

        return DEFAULT_END
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InputError(f"--end {text!r}: not a date (YYYY-MM-DD)") from None


def _positive(name: str, value: int | None) -> None:
    if value is not None and value < 1:
        raise InputError(f"{name} {value}: must be a positive integer")


@sample_app.command("generate")
def generate(
    out: Path = typer.Option(..., "--out", help="folder to write into (created if missing)"),
    end: str | None = typer.Option(
        None, "--end", help="last day of the data (YYYY-MM-DD), default 2026-11-22"
    ),
    seed: int = typer.Option(DEFAULT_SEED, "--seed", help="random seed; same seed + end ⇒ identical files"),
    focus_rows: int | None = typer.Option(
        None, "--focus-rows", help="bulk mode: one Parquet + one CSV FOCUS file of N rows"
    ),
    utilization_containers: int | None = typer.Option(
        None, "--utilization-containers", help="bulk mode: containers"
    ),
    utilization_days: int | None = typer.Option(
        None, "--utilization-days", help="bulk mode: days (default 14)"
    ),
    json_out: bool = typer.Option(False, "--json", help="print the manifest as JSON"),
) -> None:
    """Write the demo data set, or benchmark-scale files when a bulk option is given."""
    from evals.sampledata.generate import generate_bulk, generate_sample

    end_day = _end_day(end)
    if seed < 0:
        raise InputError(f"--seed {seed}: must be ≥ 0")
    _positive("--focus-rows", focus_rows)
    _positive("--utilization-containers", utilization_containers)
    _positive("--utilization-days", utilization_days)
    if utilization_days is not None and utilization_containers is None:
        raise InputError("--utilization-days needs --utilization-containers")
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out}: exists and is not a folder")
    if focus_rows or utilization_containers:
        result = generate_bulk(out, seed, end_day, focus_rows, utilization_containers, utilization_days or 14)
        if json_out:
            emit_json(result)
            return
        for path in [*result.focus_files, *([result.utilization_file] if result.utilization_file else [])]:
            console.print(f"wrote {path}")
        return
    manifest = generate_sample(out, end_day, seed)
    if json_out:
        emit_json(manifest)
        return
    console.print(f"sample data for {manifest.days} days ending {manifest.end} in {manifest.out_dir}")
    for key, rows in manifest.rows.items():
        console.print(f"  {key}: {rows:,} rows")
    console.print(f"  anomaly truth: {manifest.truth_file}")
    console.print(f"  GitOps repo:   {manifest.gitops_repo}")


@sample_app.command("gitops")
def gitops(
    out: Path = typer.Option(..., "--out", help="folder for the repo files (e.g. examples/gitops-repo)"),
    json_out: bool = typer.Option(False, "--json", help="print the written files as JSON"),
) -> None:
    """Write the sample GitOps repository files (other files in the folder are kept)."""
    from evals.sampledata.gitops import write_gitops_repo

    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out}: exists and is not a folder")
    written = write_gitops_repo(out)
    if json_out:
        emit_json({"out_dir": str(out.resolve()), "files": [str(p.relative_to(out)) for p in written]})
        return
    console.print(f"wrote {len(written)} files under {out}")


def register(app: typer.Typer) -> None:
    """Add the ``sample`` group to the root app."""
    app.add_typer(sample_app, name="sample")
