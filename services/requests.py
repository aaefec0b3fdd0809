"""Request models of every ``TOOLS`` entry: the one place input is validated.

Field names are the CLI's option names (``period``, ``by``, ``filters``, ``measure``, ``preset``,
``namespace`` …); their JSON schemas are what an LLM and MCP clients see, so every field is
bounded and described. Only pydantic and ``domain`` are imported here: the registry (and with
it every request model) loads in milliseconds.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from domain.errors import InputError
from domain.period import PERIOD_HELP, parse_period, today_utc

MEASURES = ("EffectiveCost", "BilledCost", "ListCost", "ContractedCost")
Measure = Literal["EffectiveCost", "BilledCost", "ListCost", "ContractedCost"]
PROPOSAL_STATES = (
    "drafted",
    "blocked",
    "awaiting_approval",
    "approved",
    "pr_failed",
    "pr_opened",
    "merged",
    "closed",
    "rejected",
    "expired",
    "superseded",
)


def _dimensions(value: Any) -> Any:
    """``"team,env"``, ``["team,env"]`` and ``["team", "env"]`` all mean the same list."""
    if value is None:
        return []
    items = [value] if isinstance(value, str) else list(value)
    names = [part.strip() for item in items for part in str(item).split(",") if part.strip()]
    if len(set(names)) != len(names):
        raise ValueError(f"a dimension is listed twice in {','.join(names)!r}")
    return names


def _filters(value: Any) -> Any:
    """``{"team": ["a"]}``, ``{"team": "a,b"}`` or ``["team=a", "env=prod,staging"]``."""
    if value is None:
        return {}
    out: dict[str, list[str]] = {}
    if isinstance(value, dict):
        for key, raw in value.items():
            values = [raw] if isinstance(raw, str) else list(raw)
            parts = [v.strip() for item in values for v in str(item).split(",") if v.strip()]
            if not str(key).strip() or not parts:
                raise ValueError(f"filter {key!r}: needs a dimension and at least one value")
            out.setdefault(str(key).strip(), []).extend(parts)
        return out
    items = [value] if isinstance(value, str) else list(value)
    for item in items:
        key, sep, raw = str(item).partition("=")
        if not sep or not key.strip() or not raw.strip():
            raise ValueError(f"filter {item!r}: expected KEY=VALUE (e.g. team=payments)")
        out.setdefault(key.strip(), []).extend(v.strip() for v in raw.split(",") if v.strip())
    return out


Dimensions = Annotated[list[str], BeforeValidator(_dimensions)]
Filters = Annotated[dict[str, list[str]], BeforeValidator(_filters)]


def _check_period(text: str) -> str:
    """The period's syntax is checked here; relative names are resolved against ``--as-of``."""
    try:
        parse_period(text, today_utc())
    except InputError as exc:
        raise ValueError(str(exc)) from None
    return text.strip()


PeriodText = Annotated[str, AfterValidator(_check_period)]


class Request(BaseModel):
    """Base: unknown fields are refused (an LLM's typo is an error, not silently ignored)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class EmptyRequest(Request):
    """A tool without arguments."""


class SpendRequest(Request):
    period: PeriodText = Field("last-7d", description=f"reporting period: {PERIOD_HELP}", max_length=40)
    by: Dimensions = Field(
        default_factory=list, description="dimensions to break down by, e.g. ['team', 'env']", max_length=6
    )
    filters: Filters = Field(
        default_factory=dict, description="dimension → allowed values, e.g. {'team': ['payments']}"
    )
    measure: Measure = Field("EffectiveCost", description="cost column to sum")
    top: int | None = Field(None, ge=1, le=1000, description="only the N largest rows")


class MoversRequest(Request):
    period: PeriodText = Field("last-7d", description=f"current period: {PERIOD_HELP}", max_length=40)
    compare: PeriodText | None = Field(
        None, description="period to compare with (default: the same length right before)", max_length=40
    )
    by: Dimensions = Field(
        default_factory=lambda: ["team"], description="dimensions of a mover", min_length=1, max_length=6
    )
    filters: Filters = Field(default_factory=dict, description="dimension → allowed values")
    top: int = Field(10, ge=1, le=1000, description="movers to return, largest change first")


class UnitCostsRequest(Request):
    period: PeriodText = Field("last-30d", description=f"reporting period: {PERIOD_HELP}", max_length=40)
    filters: Filters = Field(default_factory=dict, description="dimension → allowed values")


class AnomaliesRequest(Request):
    period: PeriodText = Field("last-30d", description=f"window to check: {PERIOD_HELP}", max_length=40)
    by: Dimensions = Field(
        default_factory=lambda: ["team", "service"], description="dimensions that make a series", max_length=6
    )
    filters: Filters = Field(default_factory=dict, description="dimension → allowed values")
    series: str | None = Field(
        None, description="path of a timestamp,value CSV to check instead of the warehouse", max_length=4096
    )
    z: float = Field(3.5, gt=0, le=100, description="robust score (σ units) that flags a point")
    min_impact: Decimal = Field(Decimal(10), ge=0, description="impact floor (currency), always applied")
    threshold_abs: Decimal | None = Field(Decimal(50), ge=0, description="impact ≥ this amount (None: off)")
    threshold_pct: Decimal | None = Field(
        Decimal(15), ge=0, description="impact ≥ this % of expected (None: off)"
    )
    combine: Literal["and", "or"] = Field("and", description="how the two thresholds combine")
    direction: Literal["up", "both"] = Field("up", description="up (increases only) or both")
    baseline: Literal["usage", "all"] = Field(
        "usage",
        description="usage: credits, refunds, adjustments and taxes left out of the series; all: every charge",
    )
    drill_down: bool = Field(True, description="also check one level below `by` and report it on the parent")
    volatility: Literal["tail", "mad"] = Field(
        "tail", description="score scale: MAD raised to the series' usual extremes (tail), or MAD only"
    )
    timezone: str | None = Field(
        None,
        description="series file only: IANA zone of stamps written without one (default UTC)",
        max_length=64,
    )
    aggregate: Literal["mean", "sum"] = Field(
        "mean", description="series file only: how rows landing on one grid point combine"
    )


class ForecastRequest(Request):
    by: Dimensions = Field(
        default_factory=list, description="dimensions, one forecast per series", max_length=4
    )
    filters: Filters = Field(default_factory=dict, description="dimension → allowed values")
    horizon: int = Field(30, ge=1, le=366, description="days to forecast")
    history_days: int = Field(365, ge=8, le=3660, description="days of history to fit on")
    engine: Literal["ets", "seasonal-naive", "statsmodels-ets"] = Field("ets", description="forecast model")
    budget: Decimal | None = Field(None, gt=0, description="month budget per series: the day it is crossed")


class BudgetSetRequest(Request):
    scope: str = Field(description="total | team=X | env=X | feature=X | model=X", max_length=200)
    amount: Decimal = Field(description="hard budget for the period (currency units)")
    soft: Decimal | None = Field(None, description="soft budget (warn earlier), ≤ amount")
    period: Literal["month", "quarter"] = Field("month", description="budget period kind")
    clear_soft: bool = Field(False, description="remove a stored soft amount")
    force: bool = Field(False, description="accept a scope value no cost row has (yet)")

    @field_validator("amount", "soft")
    @classmethod
    def _finite(cls, v: Decimal | None) -> Decimal | None:
        if v is not None and not v.is_finite():
            raise ValueError("not a finite number")
        return v


class RightsizeRequest(Request):
    preset: Literal["krr-simple", "vpa-like"] = Field("krr-simple", description="recommendation strategy")
    namespace: str | None = Field(None, description="only this namespace", max_length=253)
    settings: dict[str, Any] = Field(
        default_factory=dict, description="preset settings to override, e.g. {'cpu_percentile': 90}"
    )


class IdleRequest(Request):
    days: int = Field(7, ge=1, le=90, description="days of history to judge by")


class ModelsRequest(Request):
    days: int = Field(30, ge=1, le=365, description="days of token volumes to price")
    routing: str | None = Field(
        None,
        description="routing config file (default: ai/routing.yaml of the GitOps checkout)",
        max_length=4096,
    )


class ScanRequest(Request):
    requested_by: str = Field(
        "costpilot", min_length=1, max_length=200, description="who requests the changes"
    )


class ProposalsListRequest(Request):
    states: list[Literal[PROPOSAL_STATES]] = Field(  # type: ignore[valid-type]
        default_factory=list, description="only these states (empty: all)", max_length=len(PROPOSAL_STATES)
    )


class ProposalRequest(Request):
    proposal_id: str = Field(description="proposal id, e.g. p-1a2b3c4d5e", min_length=1, max_length=64)


class RequestApprovalRequest(ProposalRequest):
    """Ask the approvers for a decision (post the proposal for approval); never decides."""


class DecideRequest(Request):
    proposal_id: str = Field(description="proposal id", min_length=1, max_length=64)
    user: str = Field(description="who decides (CLI name or Slack user id)", min_length=1, max_length=200)
    decision: Literal["approve", "reject"] = Field(description="approve (binds to the patch hash) or reject")
    patch_sha256: str | None = Field(
        None, description="the SHA-256 of the patch the user saw; a different one is refused", max_length=64
    )
    idempotency_key: str | None = Field(
        None, description="a retry with the same key gets the first final answer", max_length=200
    )
    reason: str | None = Field(None, description="why (kept in the audit log)", max_length=2000)
    via: Literal["cli", "slack", "mcp", "agent"] | None = Field(
        None, description="the surface the decision came through (audited; production may refuse cli)"
    )
    os_user: str | None = Field(
        None,
        description="the operating-system user who ran the CLI (audited with the decision)",
        max_length=200,
    )


class DigestRequest(Request):
    week: str | None = Field(
        None,
        pattern=r"^\d{4}-W\d{2}$",
        description="ISO week YYYY-Www (default: the last full week before today)",
        max_length=8,
    )
    top: int = Field(5, ge=1, le=20, description="top movers (and lines per breakdown) to show")


class IngestRequest(Request):
    paths: list[str] = Field(min_length=1, description="files or folders to ingest")
    append: bool = Field(False, description="FOCUS: more part files of the export ingested last")
    allow_shrink: bool = Field(
        False,
        description="FOCUS: replace an older export even when the newer one has under half its rows "
        "for a billing account and month (a partial export)",
    )


class PrometheusIngestRequest(Request):
    url: str = Field(description="Prometheus base URL, e.g. http://prometheus:9090", max_length=2048)
    days: int = Field(14, ge=1, le=90, description="days of history to fetch")
    step: int = Field(300, ge=15, le=3600, description="sample step in seconds")


_GIT_REF: dict[str, Any] = {"min_length": 1, "max_length": 256, "pattern": r"^[^\s\x00-\x1f\x7f-]\S*$"}


class ReviewRequest(Request):
    """``costpilot review``: which change of the GitOps checkout, and the assumptions where the
    manifests say nothing."""

    base: str = Field(
        description="git ref of the base (e.g. origin/main); policies come from here", **_GIT_REF
    )
    head: str = Field(description="git ref of the change (a branch, a tag or a commit)", **_GIT_REF)
    daemonset_nodes: int = Field(1, ge=1, le=100_000, description="nodes a DaemonSet runs on")
    job_hours: Decimal = Field(
        Decimal(1), gt=0, le=744, description="hours per run of a Job/CronJob without activeDeadlineSeconds"
    )
    usd_per_gpu_hour: Decimal | None = Field(None, ge=0, le=1000, description="GPU price, USD per GPU-hour")
    token_days: int = Field(30, ge=1, le=365, description="days of token volumes that price a model change")
