"""``costpilot review --base REF --head REF``: the cost delta and policy verdicts of a change to
the GitOps repository. Exit 0 when nothing blocks, 1 when a blocking rule or policy fails, 2 on
bad input."""

from __future__ import annotations

import sys
from decimal import Decimal

import typer

from app.context import get_context


def review_command(
    ctx: typer.Context,
    base: str = typer.Option(..., "--base", help="git ref of the base (policies are read from it)"),
    head: str = typer.Option(..., "--head", help="git ref of the change"),
    json_output: bool = typer.Option(False, "--json", help="print one JSON document"),
    post: bool = typer.Option(False, "--post", help="write (or update) the PR comment on GitHub"),
    pr: int | None = typer.Option(
        None, "--pr", min=1, help="pull request number for --post (default: by --head)"
    ),
    only_if_cost_increases: bool = typer.Option(
        False, "--only-if-cost-increases", help="with --post: create the comment only when the cost goes up"
    ),
    daemonset_nodes: int = typer.Option(1, "--daemonset-nodes", help="nodes a DaemonSet runs on"),
    job_hours: str = typer.Option("1", "--job-hours", help="hours per Job/CronJob run without a deadline"),
    gpu_price: str | None = typer.Option(
        None, "--gpu-price", help="USD per GPU-hour (GPUs unpriced without)"
    ),
    token_days: int = typer.Option(
        30, "--token-days", help="days of token volumes that price a model change"
    ),
) -> None:
    """Monthly cost delta per workload and model route, guardrails and Rego policies of base..head."""
    from app.render import emit_json
    from domain.errors import InputError
    from services.registry import get_tool
    from services.review import post_review
    from services.review_render import render_markdown

    app = get_context(ctx)
    args: dict[str, object] = {
        "base": base,
        "head": head,
        "daemonset_nodes": daemonset_nodes,
        "token_days": token_days,
    }
    for name, flag, value in (
        ("job_hours", "--job-hours", job_hours),
        ("usd_per_gpu_hour", "--gpu-price", gpu_price),
    ):
        if value is None:
            continue
        try:
            args[name] = Decimal(value)
        except ArithmeticError:
            raise InputError(f"{flag} {value!r}: not a number") from None
    result = app.call("review", args)
    comment = (
        post_review(result, app.deps, pr=pr, only_if_cost_increases=only_if_cost_increases) if post else None
    )  # type: ignore[arg-type]
    if json_output:
        doc = get_tool("review").json(result)
        if comment is not None:
            doc["comment"] = comment.model_dump(mode="json")
        emit_json(doc)
    else:
        sys.stdout.write(render_markdown(result))  # type: ignore[arg-type]
        if comment is not None:
            sys.stderr.write(f"costpilot: PR #{comment.pull_request} comment {comment.action}\n")
    if result.blocked:  # type: ignore[attr-defined]
        raise typer.Exit(1)


def register(cli: typer.Typer) -> None:
    cli.command("review")(review_command)
