"""``costpilot demo``: the whole loop on generated sample data, offline.

The demo is a script of ordinary ``costpilot`` commands run in-process against a workspace, so
every step printed is one a user can type: ingest → questions to the agent → spend → anomalies →
forecast and budget → waste → scan (guardrails) → approve → PR branch → review of a teammate's
change → digest → audit. The workspace pins its as-of date, so the commands it suggests keep
working on later days.
"""

from __future__ import annotations

import shlex
import shutil
import sys
import time
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
    from services.workspace import Workspace

DEMO_APPROVER = "U_DEMO_LEAD"
DEMO_BUDGET_USD = "700000"


@dataclass(frozen=True)
class DemoRun:
    ctx: AppContext
    manifest: SampleManifest
    as_of: date

    def cli(self, *args: str, ok: tuple[int, ...] = (0,)) -> None:
        """Run ``costpilot ARGS`` against the demo workspace, showing the command first; an exit
        code outside ``ok`` stops the demo."""
        from app.cli import main

        console.print(f"$ costpilot {shlex.join(args)}", style="bold cyan", markup=False, highlight=False)
        code = main(["--workspace", str(self.ctx.workspace.home), "--as-of", self.as_of.isoformat(), *args])
        if code not in ok:
            raise DataError(f"demo step `costpilot {shlex.join(args)}` failed (exit {code})")


def _ingest(run: DemoRun) -> None:
    sample = run.manifest.out_dir
    run.cli("ingest", "focus", str(sample / "focus"))
    run.cli("ingest", "llm-usage", str(sample / "llm"))
    run.cli("ingest", "utilization", str(run.manifest.utilization_file))


# Questions a newcomer asks; the offline planner answers each with the tools it names.
DEMO_QUESTIONS: tuple[str, ...] = (
    "what did each team spend last week?",
    "what changed last week, and why?",
    "how much will we spend by the end of the month?",
    "where can we save money?",
)


def _ask(run: DemoRun) -> None:
    for question in DEMO_QUESTIONS:
        run.cli("ask", question, "--thread", "demo")


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


def _review(run: DemoRun) -> None:
    from evals.sampledata.sample_change import write_sample_change

    # A teammate's branch in the sample repo; `review` is what CI posts on its pull request
    # (exit 1 would mean a blocking rule or policy failed: a verdict, not a demo failure).
    branch = write_sample_change(run.manifest.gitops_repo, run.manifest.end)
    run.cli("review", "--base", "main", "--head", branch, ok=(0, 1))


def _digest(run: DemoRun) -> None:
    run.cli("digest", "--out", str(run.ctx.workspace.home / "digest" / "digest.md"))


def _audit(run: DemoRun) -> None:
    run.cli("audit", "verify")


# The demo's steps, in order.
DEMO_STEPS: list[tuple[str, Callable[[DemoRun], None]]] = [
    ("Ingest cloud bills, LLM gateway logs, Kubernetes utilization", _ingest),
    ("Ask in plain words (every number from a tool, checked)", _ask),
    ("Where the money goes", _spend),
    ("Anomalies", _anomalies),
    ("Forecast and budget", _forecast),
    ("Waste: right-sizing, idle workloads, cheaper models", _waste),
    ("Remediation: guardrails, approval, pull request", _remediate),
    ("Review a teammate's change (what CI posts on its PR)", _review),
    ("The weekly digest, with its chart", _digest),
    ("The audit trail", _audit),
]


def _write_demo_config(home: Path, manifest: SampleManifest, as_of: date) -> None:
    """Point the workspace at the sample GitOps repo (local forge), pin its as-of date (the sample
    ends on a fixed day) and name the demo approvers, unless the user configured those files."""
    settings_file = home / "costpilot.toml"
    if not settings_file.exists():
        settings_file.write_text(
            '# Written by `costpilot demo`: the sample data ends on a fixed day, so "today" is pinned\n'
            "# to the day after it; remove as_of to use the real date.\n"
            f'as_of = "{as_of.isoformat()}"\nforge = "local"\ngitops_repo = "{manifest.gitops_repo}"\n'
            "# The demo approves from the CLI; with Slack configured, production approvals would\n"
            "# otherwise come only through Slack's verified users.\n"
            "cli_approvals_in_production = true\n"
        )
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
    started = time.monotonic()
    with err_console.status("generating sample data…"):
        manifest = generate_sample(ws.home / "sample", end=end_day, seed=seed)
    # The sample's "today" is the day after its last day, unless --as-of says otherwise.
    as_of = app_ctx.settings.as_of or end_day + timedelta(days=1)
    _write_demo_config(ws.home, manifest, as_of)
    run = DemoRun(ctx=app_ctx, manifest=manifest, as_of=as_of)
    for number, (title, step) in enumerate(DEMO_STEPS, start=1):
        console.print(
            Rule(f"[bold]{number}/{len(DEMO_STEPS)} {title}[/]  [dim]{time.monotonic() - started:.0f} s[/]")
        )
        step(run)
    console.print(Rule(f"[bold]done in {time.monotonic() - started:.0f} s"))
    console.print(_next_steps(ws, manifest, as_of), markup=False, highlight=False)


def _next_steps(ws: Workspace, manifest: SampleManifest, as_of: date) -> str:
    """Where everything is, and what to try next (each line works as typed)."""
    from evals.sampledata.sample_change import SAMPLE_CHANGE_BRANCH

    home = ws.home
    program = _program()
    cp = f"{program} --workspace {shlex.quote(str(home.resolve()))}"
    return "\n".join(
        [
            f"Workspace {home} (pinned to {as_of.isoformat()} in costpilot.toml):",
            f"  warehouse     {ws.warehouse_path}",
            f"  state, audit  {ws.state_db_path}",
            f"  logs          {ws.logs_dir}",
            f"  sample data   {manifest.out_dir}",
            f"  GitOps repo   {manifest.gitops_repo}  (git -C {manifest.gitops_repo} branch --list 'costpilot/*')",
            f"  digest        {home / 'digest'}",
            "Try next:",
            f"  {cp} review --base main --head {SAMPLE_CHANGE_BRANCH} --json"
            f"   # in CI: examples/ci/, --post on a PR",
            f'  {cp} ask "which models cost the most per request?"',
            f"  {cp} spend --period last-week --by service --json",
            f"  {cp} proposals list",
            f"  {cp} serve --port 3000        # the Slack app (SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET; README: Slack)",
            f"  {cp} mcp                      # MCP over stdio for Claude Desktop or any MCP client (README: MCP)",
            f"  COSTPILOT_FORGE=github GITHUB_TOKEN=… {program} scan   # real pull requests (README: Remediation)",
        ]
    )


def _program() -> str:
    """How to type ``costpilot`` here: the bare name when it is on PATH (the same program),
    else the path this demo was started with (``./scripts/demo.sh`` runs ``.venv/bin/costpilot``
    without activating the venv)."""
    started = Path(sys.argv[0])
    on_path = shutil.which("costpilot")
    if started.name != "costpilot" or (on_path and Path(on_path).resolve() == started.resolve()):
        return "costpilot"
    return shlex.quote(str(started.absolute()))


def register(app: typer.Typer) -> None:
    app.command("demo")(demo_command)
