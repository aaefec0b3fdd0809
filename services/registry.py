"""``TOOLS``: every operation by name → request model, result model, handler, description, and
whether it only reads or changes state.

The CLI, Slack, the MCP server and the agent call the same entries, so an answer in Slack and
``costpilot … --json`` can never disagree. Handlers and result models are named by import path
and loaded on first use: the registry itself imports only pydantic and the request models.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from domain.errors import InputError
from services import requests as rq


@dataclass(frozen=True)
class ToolSpec:
    """One registry entry."""

    name: str
    description: str
    request: type[rq.Request]
    handler: str  # "module:function", called as handler(request, deps)
    result: str  # "module:Model"
    read_only: bool
    idempotent: bool = True
    destructive: bool = False
    # How the result becomes JSON (``--json``, MCP structured content, the agent's tool message).
    to_json: Callable[[Any], Any] | None = None

    def load_handler(self) -> Callable[..., BaseModel]:
        return _resolve(self.handler)

    def result_model(self) -> type[BaseModel]:
        return _resolve(self.result)

    def parse(self, args: Mapping[str, Any] | rq.Request | None) -> rq.Request:
        """The request model from arguments; a validation error is one ``InputError`` line that
        names the tool, the argument and what is wrong (no CLI flags: Slack and MCP show it too)."""
        if isinstance(args, self.request):
            return args
        try:
            return self.request.model_validate(dict(args or {}))
        except ValidationError as exc:
            raise InputError(f"{self.name}: {validation_message(exc)}") from None

    def run(self, args: Mapping[str, Any] | rq.Request | None, deps: Any, **kwargs: Any) -> BaseModel:
        return self.load_handler()(self.parse(args), deps, **kwargs)

    def json(self, result: Any) -> Any:
        if self.to_json is not None:
            return self.to_json(result)
        return result.model_dump(mode="json")


def validation_message(exc: ValidationError) -> str:
    """The first problem of a pydantic error as ``argument: message``."""
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "arguments"
    message = first["msg"].removeprefix("Value error, ")
    if first["type"] == "extra_forbidden":
        return f"{where}: unknown argument"
    given = first.get("input")
    shown = isinstance(given, str | int | float) and not isinstance(given, bool) and len(repr(given)) <= 60
    if shown and repr(given) not in message:
        where = f"{where} {given!r}"
    return f"{where}: {message}"


def _resolve(path: str) -> Any:
    module, _, attr = path.partition(":")
    return getattr(importlib.import_module(module), attr)


def _rightsize_json(result: Any) -> Any:
    return result.to_json_dict()


def _models_json(result: Any) -> Any:
    return {**result.model_dump(mode="json"), "features": [c.to_json_dict() for c in result.features]}


def _proposal_list_json(result: Any) -> Any:
    return [item.model_dump(mode="json") for item in result.proposals]


_SPECS: tuple[ToolSpec, ...] = (
    # ----- spend intelligence (read-only) -----
    ToolSpec("spend", "Spend total and breakdown over a period, by dimensions, with filters.",
             rq.SpendRequest, "services.analytics:spend", "tools.spend:SpendResult", read_only=True),
    ToolSpec("movers", "Change between two periods with the top movers and their share of the delta.",
             rq.MoversRequest, "services.analytics:movers", "tools.movers:MoversResult", read_only=True),
    ToolSpec("unit_costs", "AI unit economics: cost per 1k tokens and per request by feature and model.",
             rq.UnitCostsRequest, "services.analytics:unit_costs", "tools.unit_costs:UnitCostsResult",
             read_only=True),
    ToolSpec("anomalies", "Anomalous spend with expected, actual, impact and ranked root causes.",
             rq.AnomaliesRequest, "services.analytics:anomalies", "tools.anomalies.models:AnomalyReport",
             read_only=True),
    ToolSpec("forecast", "Daily spend forecast with 80/95% intervals and the month-end projection.",
             rq.ForecastRequest, "services.analytics:forecast", "tools.forecast.models:ForecastReport",
             read_only=True),
    ToolSpec("budget_status", "Every budget: spent, projected at period end, % used, alert level.",
             rq.EmptyRequest, "services.budgets:budget_status", "tools.budgets:BudgetReport", read_only=True),
    ToolSpec("budget_list", "Every stored budget.",
             rq.EmptyRequest, "services.budgets:budget_list", "services.budgets:BudgetListResult",
             read_only=True),
    ToolSpec("budget_set", "Create or replace a budget (scope, amount, soft amount, period kind).",
             rq.BudgetSetRequest, "services.budgets:budget_set", "services.budgets:BudgetSetResult",
             read_only=False),
    # ----- waste (read-only) -----
    ToolSpec("rightsize", "CPU/memory request recommendations per container with monthly savings.",
             rq.RightsizeRequest, "services.waste:rightsize", "tools.rightsizing.models:RightsizeResult",
             read_only=True, to_json=_rightsize_json),
    ToolSpec("idle", "Idle non-production workloads to scale to zero outside working hours.",
             rq.IdleRequest, "services.waste:idle", "services.waste:IdleResult", read_only=True),
    ToolSpec("models", "Per LLM feature, the cheapest allow-listed model meeting its needs.",
             rq.ModelsRequest, "services.waste:models", "services.waste:ModelsResult", read_only=True,
             to_json=_models_json),
    ToolSpec("untagged", "Workloads in the GitOps repository lacking cost-allocation labels.",
             rq.EmptyRequest, "services.waste:untagged", "services.waste:UntaggedReport", read_only=True),
    ToolSpec("digest", "Weekly digest: week-over-week spend, movers, anomalies, forecast vs budget, savings.",
             rq.DigestRequest, "services.digest:digest", "services.digest:DigestResult", read_only=True),
    # ----- review of GitOps changes ([Policy & review]) -----
    ToolSpec("review", "Monthly cost delta and policy verdicts of a change (base..head) to the GitOps repo.",
             rq.ReviewRequest, "services.review:review", "services.review_models:ReviewResult", read_only=True),
    # ----- remediation -----
    ToolSpec("scan", "Run detectors → playbooks → guardrails and record proposals for approval.",
             rq.ScanRequest, "services.remediation.workflow:scan", "services.remediation.selection:QualityScanSummary",
             read_only=False),
    ToolSpec("proposals_list", "Remediation proposals, newest first, optionally by state.",
             rq.ProposalsListRequest, "services.remediation.workflow:proposals_list",
             "services.remediation.workflow:ProposalList", read_only=True, to_json=_proposal_list_json),
    ToolSpec("proposal_show", "One proposal: state, costs, guardrail report, diff, audit trail.",
             rq.ProposalRequest, "services.remediation.workflow:proposal_show",
             "services.remediation.workflow:ProposalDetail", read_only=True),
    ToolSpec("request_approval", "Ask the approvers to decide on a proposal awaiting approval (never decides).",
             rq.RequestApprovalRequest, "services.remediation.workflow:request_approval",
             "services.remediation.workflow:ApprovalRequest", read_only=True),
    ToolSpec("decide", "Record a human approver's decision on a proposal (approve binds to the patch hash).",
             rq.DecideRequest, "services.remediation.workflow:decide", "services.remediation.results:ApprovalOutcome",
             read_only=False, destructive=True),
    ToolSpec("open_pr", "Open or update the pull request of an approved proposal.",
             rq.ProposalRequest, "services.remediation.workflow:open_pr",
             "services.remediation.results:ApprovalOutcome", read_only=False, destructive=True),
    ToolSpec("pr_status", "A proposal's pull request as the forge reports it: open, merged or closed.",
             rq.ProposalRequest, "services.remediation.workflow:pr_status", "services.remediation.workflow:PrStatus",
             read_only=True),
    ToolSpec("audit_verify", "Re-compute the audit log's hash chain.",
             rq.EmptyRequest, "services.remediation.workflow:audit_verify",
             "services.remediation.workflow:AuditVerifyResult", read_only=True),
    # ----- proposal lifecycle and savings ([Proposal quality]) -----
    ToolSpec("proposals_sync", "Record proposals whose pull request was merged or closed, as the forge reports it.",
             rq.EmptyRequest, "services.remediation.lifecycle:proposals_sync",
             "services.remediation.lifecycle:SyncResult", read_only=False),
    ToolSpec("savings", "Merged proposals: estimated vs realised monthly savings measured after the merge.",
             rq.EmptyRequest, "services.savings:realised_savings", "services.savings:SavingsResult",
             read_only=True),
    # ----- data in (operators only; never offered to an LLM or MCP) -----
    ToolSpec("ingest_focus", "Load FOCUS cost exports.", rq.IngestRequest, "services.ingest:ingest_focus",
             "warehouse.ingest_models:IngestReport", read_only=False),
    ToolSpec("ingest_llm_usage", "Load LLM gateway logs.", rq.IngestRequest, "services.ingest:ingest_llm_usage",
             "warehouse.ingest_models:IngestReport", read_only=False),
    ToolSpec("ingest_utilization", "Load container utilization samples.", rq.IngestRequest,
             "services.ingest:ingest_utilization", "warehouse.ingest_models:IngestReport", read_only=False),
    ToolSpec("ingest_prometheus", "Fetch utilization samples from Prometheus.", rq.PrometheusIngestRequest,
             "services.ingest:ingest_prometheus", "warehouse.prometheus:PrometheusIngestResult", read_only=False),
)  # fmt: skip

TOOLS: dict[str, ToolSpec] = {spec.name: spec for spec in _SPECS}

# What an LLM (and an MCP client) may call: the read-only tools plus asking for an approval.
# Deciding and opening PRs are for authenticated humans only.
AGENT_TOOLS: tuple[str, ...] = tuple(name for name, spec in TOOLS.items() if spec.read_only)


def get_tool(name: str) -> ToolSpec:
    """The entry for ``name``; an unknown name lists the valid ones."""
    try:
        return TOOLS[name]
    except KeyError:
        raise InputError(f"unknown tool {name!r}; valid tools: {', '.join(sorted(TOOLS))}") from None


def call_tool(name: str, args: Mapping[str, Any] | rq.Request | None, deps: Any, **kwargs: Any) -> BaseModel:
    """Validate ``args`` against the tool's request model and run it."""
    return get_tool(name).run(args, deps, **kwargs)
