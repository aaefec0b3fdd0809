"""One call that writes the whole demo data set (and the benchmark-scale variants)."""

from __future__ import annotations

import os
import shutil
import subprocess
from datetime import date
from pathlib import Path

from pydantic import BaseModel, ConfigDict
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from domain.errors import InputError
from evals.sampledata.catalog import DEFAULT_END, DEFAULT_SEED
from evals.sampledata.focus import DEFAULT_DAYS, write_focus, write_truth
from evals.sampledata.focus_bulk import generate_focus_bulk
from evals.sampledata.gitops import write_gitops_repo
from evals.sampledata.llm import write_llm
from evals.sampledata.series import write_series
from evals.sampledata.utilization import DEFAULT_DAYS as UTILIZATION_DAYS
from evals.sampledata.utilization import write_utilization
from evals.sampledata.utilization_bulk import generate_utilization_bulk

# The sample repo's .costpilot/policy.yaml, written by hand; shipped inside the package (a wheel
# has no examples/ folder) and identical to examples/gitops-repo/.costpilot/policy.yaml (tested).
SAMPLE_POLICY = Path(__file__).resolve().parent / "sample_policy.yaml"
# Progress goes to stderr so a --json stdout stays one document.
_progress_console = Console(stderr=True, highlight=False)
GIT_AUTHOR = ("costpilot-sample", "sample@costpilot.invalid")


class SampleManifest(BaseModel):
    """What ``generate_sample`` wrote (paths are absolute)."""

    model_config = ConfigDict(frozen=True)

    out_dir: Path
    end: date
    seed: int
    days: int  # days of FOCUS and LLM history, ending on ``end``
    utilization_days: int
    focus_files: list[Path]
    llm_files: list[Path]
    utilization_file: Path
    truth_file: Path
    series_files: list[Path] = []  # timestamp,value exports for anomalies --series
    series_truth_file: Path | None = None
    gitops_repo: Path
    rows: dict[str, int]  # focus, llm, utilization


class BulkManifest(BaseModel):
    """What the benchmark-scale generators wrote."""

    model_config = ConfigDict(frozen=True)

    out_dir: Path
    seed: int
    focus_files: list[Path] = []
    focus_rows: int = 0
    utilization_file: Path | None = None
    utilization_rows: int = 0


def _progress() -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=_progress_console,
        transient=True,
    )


def git_env(when: date) -> dict[str, str]:
    """A git environment with the sample author and ``when`` at noon UTC (same bytes, same hash),
    blind to the user's own git configuration."""
    stamp = f"{when.isoformat()}T12:00:00+00:00"
    return {
        **os.environ,
        "GIT_AUTHOR_NAME": GIT_AUTHOR[0],
        "GIT_AUTHOR_EMAIL": GIT_AUTHOR[1],
        "GIT_COMMITTER_NAME": GIT_AUTHOR[0],
        "GIT_COMMITTER_EMAIL": GIT_AUTHOR[1],
        "GIT_AUTHOR_DATE": stamp,
        "GIT_COMMITTER_DATE": stamp,
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
    }


def git_command() -> list[str]:
    return ["git", "-c", "init.defaultBranch=main", "-c", "commit.gpgsign=false", "-c", "core.autocrlf=false"]


def init_git_repo(path: Path, when: date) -> None:
    """``git init`` + one commit "initial" with a fixed author and date (same bytes, same hash)."""
    env = git_env(when)
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "initial"]):
        subprocess.run([*git_command(), *args], cwd=path, env=env, check=True, capture_output=True)


def write_gitops_copy(target: Path, when: date) -> Path:
    """A fresh git repository with the sample GitOps files (+ the committed policy, if any)."""
    if target.exists():
        if not (target / ".git").is_dir():
            raise InputError(f"{target}: exists and is not a sample git repository; choose another --out")
        shutil.rmtree(target)
    target.mkdir(parents=True)
    write_gitops_repo(target)
    shutil.copyfile(SAMPLE_POLICY, target / ".costpilot" / "policy.yaml")
    init_git_repo(target, when)
    return target


def generate_sample(
    out_dir: Path,
    end: date = DEFAULT_END,
    seed: int = DEFAULT_SEED,
    days: int = DEFAULT_DAYS,
    shape: str = "default",
) -> SampleManifest:
    """Write focus/, llm/, utilization/, series/, anomalies_truth.json and gitops-repo/ under ``out_dir``.

    ``shape``: the bill's shape (``evals.sampledata.shapes``): ``default`` for the demo, ``alt``
    for a second bill the anomaly detector is not tuned on.
    """
    if days < 120:
        raise InputError(f"days {days}: the sample needs at least 120 days of history")
    out_dir = out_dir.resolve()
    with _progress() as progress:
        task = progress.add_task("FOCUS bills", total=None)
        focus_files, truth, focus_rows = write_focus(out_dir / "focus", end, seed, days, shape)
        truth_file = out_dir / "anomalies_truth.json"
        write_truth(truth_file, truth)
        series_files, series_truth = write_series(out_dir, end, seed)
        progress.update(task, description="LLM gateway logs")
        llm_files, llm_rows = write_llm(out_dir / "llm", end, seed, days)
        progress.update(task, description="utilization samples")
        util_file = out_dir / "utilization" / "k8s-utilization.parquet"
        util_rows = write_utilization(util_file, end, seed, UTILIZATION_DAYS)
        progress.update(task, description="GitOps repository")
        repo = write_gitops_copy(out_dir / "gitops-repo", end)
    return SampleManifest(
        out_dir=out_dir,
        end=end,
        seed=seed,
        days=days,
        utilization_days=UTILIZATION_DAYS,
        focus_files=focus_files,
        llm_files=llm_files,
        utilization_file=util_file,
        truth_file=truth_file,
        series_files=series_files,
        series_truth_file=series_truth,
        gitops_repo=repo,
        rows={"focus": focus_rows, "llm": llm_rows, "utilization": util_rows},
    )


def generate_bulk(
    out_dir: Path,
    seed: int = DEFAULT_SEED,
    end: date = DEFAULT_END,
    focus_rows: int | None = None,
    utilization_containers: int | None = None,
    utilization_days: int = 14,
) -> BulkManifest:
    """Benchmark files: ``focus-bulk-<N>.parquet|csv`` and/or ``utilization-bulk-<C>x<D>d.parquet``."""
    out_dir = out_dir.resolve()
    focus_files: list[Path] = []
    util_file: Path | None = None
    util_rows = 0
    with _progress() as progress:
        if focus_rows:
            progress.add_task(f"FOCUS bulk: {focus_rows:,} rows", total=None)
            focus_files = list(generate_focus_bulk(focus_rows, out_dir, seed, end).paths)
        if utilization_containers:
            progress.add_task(
                f"utilization bulk: {utilization_containers:,} containers × {utilization_days} days",
                total=None,
            )
            util_file = out_dir / f"utilization-bulk-{utilization_containers}x{utilization_days}d.parquet"
            util_rows = generate_utilization_bulk(
                utilization_containers, utilization_days, util_file, seed, end
            )
    return BulkManifest(
        out_dir=out_dir,
        seed=seed,
        focus_files=focus_files,
        focus_rows=focus_rows or 0,
        utilization_file=util_file,
        utilization_rows=util_rows,
    )
