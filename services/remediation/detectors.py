"""Detectors by name: each runs the same service operation as its command and turns the result
into Findings (so ``costpilot rightsize`` and the proposals of ``scan`` always agree)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from domain.findings import Finding
from services.deps import Deps


@dataclass(frozen=True)
class DetectorResult:
    """Findings plus notes on what the detector saw but cannot propose (shown by ``scan``)."""

    findings: list[Finding]
    notes: list[str] = field(default_factory=list)


Detector = Callable[[Deps], list[Finding] | DetectorResult]


def _rightsize_detector(deps: Deps) -> list[Finding]:
    from services.requests import RightsizeRequest
    from services.waste import rightsize

    result = rightsize(RightsizeRequest(preset="krr-simple"), deps)
    # The unit prices go with each finding, so a stepped change is re-priced exactly
    # (requests × hours × prices) and realised savings use the same prices.
    prices = {
        "usd_per_vcpu_hour": str(result.prices.usd_per_vcpu_hour),
        "usd_per_gib_hour": str(result.prices.usd_per_gib_hour),
    }
    return [f.model_copy(update={"evidence": {**f.evidence, **prices}}) for f in result.findings()]


def _idle_detector(deps: Deps) -> list[Finding]:
    from services.requests import IdleRequest
    from services.waste import idle

    return idle(IdleRequest(), deps).findings()


def _model_detector(deps: Deps) -> list[Finding]:
    from services.requests import ModelsRequest
    from services.waste import models

    return models(ModelsRequest(), deps).findings()


def _untagged_detector(deps: Deps) -> DetectorResult:
    from services.requests import EmptyRequest
    from services.waste import untagged

    result = untagged(EmptyRequest(), deps)
    return DetectorResult(result.findings, list(result.notes))


# Detectors by name (the playbooks' ``detector`` kinds); each turns a tool's results into Findings.
DETECTORS: dict[str, Detector] = {
    "rightsize": _rightsize_detector,
    "idle": _idle_detector,
    "cheaper-model": _model_detector,
    "untagged": _untagged_detector,
}
