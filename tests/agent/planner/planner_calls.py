"""Expected tool calls, written the way the registry's request models spell them."""

from __future__ import annotations

from datetime import date
from typing import Any

MON = date(2026, 11, 23)  # a Monday
MID = date(2026, 11, 12)  # a Thursday in the middle of the month

EC2 = "Amazon Elastic Compute Cloud"
S3 = "Amazon Simple Storage Service"
RDS = "Amazon Relational Database Service"
EKS = "Amazon Elastic Kubernetes Service"
AI = "AI and Machine Learning"
Call = dict[str, Any]


def spend(
    period: str,
    by: list[str] | None = None,
    top: int | None = None,
    measure: str = "EffectiveCost",
    **filters: list[str],
) -> Call:
    return {
        "tool": "spend",
        "args": {"period": period, "by": by or [], "filters": filters, "measure": measure, "top": top},
    }


def movers(
    period: str, by: list[str], compare: str | None = None, top: int | None = None, **filters: list[str]
) -> Call:
    return {
        "tool": "movers",
        "args": {"period": period, "compare": compare, "by": by, "filters": filters, "top": top},
    }


def anomalies(period: str, by: list[str] | None = None, **filters: list[str]) -> Call:
    return {"tool": "anomalies", "args": {"period": period, "by": by or [], "filters": filters}}


def why(period: str, by: list[str], compare: str | None = None, **filters: list[str]) -> list[Call]:
    return [movers(period, by, compare, **filters), anomalies(period, **filters)]


def forecast(horizon: int, by: list[str] | None = None, **filters: list[str]) -> Call:
    return {"tool": "forecast", "args": {"by": by or [], "filters": filters, "horizon": horizon}}


def unit_costs(period: str, **filters: list[str]) -> Call:
    return {"tool": "unit_costs", "args": {"period": period, "filters": filters}}


def rightsize(namespace: str | None = None, preset: str = "krr-simple") -> Call:
    return {"tool": "rightsize", "args": {"preset": preset, "namespace": namespace}}


def call(tool: str, **args: Any) -> Call:
    return {"tool": tool, "args": args}


BUDGET = call("budget_status")
HELP = call("help")
IDLE7 = call("idle", days=7)
MODELS30 = call("models", days=30)
SAVINGS = [rightsize(), IDLE7, MODELS30]
AWAITING = call("proposals_list", states=["awaiting_approval"])
