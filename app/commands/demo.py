"""``costpilot demo``: the whole loop on generated sample data, offline.

The demo is a script of ordinary ``costpilot`` commands run in-process against a workspace, so
every step printed is one a user can type: ingest → spend → movers → anomalies → forecast and
budget → right-sizing, idle, cheaper models → scan (guardrails) → approve → PR branch → audit.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.rule import Rule

from app.context import AppContext, get_context
from app.render import console, err_console
from domain.errors import DataError, InputError

if TYPE_CHECKING:
    from evals.sampledata.generate import SampleManifest

DEMO_APPROVER = "U_DEMO_LEAD"
DEMO_BUDGET_USD = "700000"


@dataclass(frozen=True)
class DemoRun:
    ctx: AppContext
    manifest: SampleManifest
    as_of: date

    def cli(self, *args: str) -> None:
        """Run ``costpilot ARGS`` against the demo workspace, showing the command first."""
        from app.cli import main

        console.print(f"[bold cyan]$ costpilot {' '.join(args)}[/]")
        code = main(["--workspace", str(self.ctx.workspace.home), "--as-of", self.as_of.isoformat(), *args])
        if code != 0:
            raise DataError(f"demo step `costpilot {' '.join(args)}` failed (exit {code})")


def _ingest(run: DemoRun) -> None:
    sample = run.manifest.out_dir
    run.cli("ingest", "focus", str(sample / "focus"))
    run.cli("ingest", "llm-usage", str(sample / "llm"))
    run.cli("ingest", "utilization", str(run.manifest.utilization_file))


def _spend(run: DemoRun) -> None:
    run.cli("spend", "--period", "last-week", "--by", "team")
    run.cli("spend", "--period", "last-30d", "--by", "model", "--filter", "billing_account=llm-gateway")
    run.cli("movers", "--period", "last-week", "--by", "team", "--top", "5")
    run.cli("unit-costs", "--period", "last-30d")


def _anomalies(run: DemoRun) -> None:
    run.cli("anomalies", "--period", "last-30d", "--by", "team")


def _forecast(run: DemoRun) -> None:
    run.cli("forecast", "--horizon", "14")
    run.cli("budget", "set", "--scope", "total", "--amount", DEMO_BUDGET_USD, "--period", "month")
    run.cli("budget", "status")


def _waste(run: DemoRun) -> None:
    run.cli("rightsize", "--preset", "krr-simple", "--namespace", "search-prod")
    run.cli("idle")
    run.cli("models")


def _remediate(run: DemoRun) -> None:
    run.cli("scan")
    awaiting = run.ctx.call("proposals_list", {"states": ["awaiting_approval"]}).proposals  # type: ignore[attr-defined]
    if not awaiting:
        console.print("nothing awaits approval (an earlier demo run approved it already)")
    else:
        # Approve the change with the largest saving: the PR branch is created in the sample repo.
        best = max(awaiting, key=lambda p: p.monthly_cost_now - p.monthly_cost_after)
        run.cli("proposals", "show", best.id)
        run.cli("approve", best.id, "--as", DEMO_APPROVER)
    run.cli("proposals", "list")
    run.cli("audit", "verify")


# The demo's steps, in order.
DEMO_STEPS: list[tuple[str, Callable[[DemoRun], None]]] = [
    ("1. Ingest cloud bills (FOCUS), LLM gateway logs and Kubernetes utilization", _ingest),
    ("2. Where the money goes", _spend),
    ("3. Anomalies", _anomalies),
    ("4. Forecast and budget", _forecast),
    ("5. Waste: right-sizing, idle workloads, cheaper models", _waste),
    ("6. Remediation: guardrails, approval, pull request, audit", _remediate),
]


def _write_demo_config(home: Path, manifest: SampleManifest) -> None:
    """Point the workspace at the sample GitOps repo (local forge) and name the demo approvers,
    unless the user already configured those files."""
    settings_file = home / "costpilot.toml"
    if not settings_file.exists():
        settings_file.write_text(f'forge = "local"\ngitops_repo = "{manifest.gitops_repo}"\n')
    elif "gitops_repo" not in tomllib.loads(settings_file.read_text()):
        raise InputError(f"{settings_file}: the demo needs gitops_repo set (or use a fresh --workspace)")
    remediation_file = home / "remediation.toml"
    if not remediation_file.exists():
        remediation_file.write_text(
            "# Demo approvers: Slack user ids per group named in the playbooks.\n"
            "[approvers.groups]\n"
            f'platform = ["{DEMO_APPROVER}"]\n'
            f'platform-leads = ["{DEMO_APPROVER}"]\n'
            f'finops = ["{DEMO_APPROVER}"]\n'
            f'ml-platform = ["{DEMO_APPROVER}"]\n'
        )


def demo_command(
    ctx: typer.Context,
    seed: int = typer.Option(7, help="sample data seed (same seed → same data)"),
    end: str = typer.Option("2026-11-22", help="last day of the sample data (YYYY-MM-DD)"),
) -> None:
    """Generate sample data into the workspace and run the whole loop on it, offline."""
    from evals.sampledata.generate import generate_sample

    app_ctx = get_context(ctx)
    try:
        end_day = date.fromisoformat(end)
    except ValueError:
        raise InputError(f"--end {end!r}: not a date (YYYY-MM-DD)") from None
    ws = app_ctx.workspace.ensure()
    with err_console.status("generating sample data…"):
        manifest = generate_sample(ws.home / "sample", end=end_day, seed=seed)
    _write_demo_config(ws.home, manifest)
    # The sample's "today" is the day after its last day, unless --as-of says otherwise.
    run = DemoRun(ctx=app_ctx, manifest=manifest, as_of=app_ctx.settings.as_of or end_day + timedelta(days=1))
    for title, step in DEMO_STEPS:
        console.print(Rule(f"[bold]{title}"))
        step(run)
    console.print(Rule())
    console.print(
        f"workspace: {ws.home} (as of {run.as_of.isoformat()}). Every command above works on it, e.g.\n"
        f"  costpilot --workspace {ws.home} --as-of {run.as_of.isoformat()} spend --period last-month --by service"
    )


def register(app: typer.Typer) -> None:
    app.command("demo")(demo_command)
