"""Observed usage of every container the utilization data has, for the guardrails.

``ValidationContext.usage`` lets ``above-observed-peak`` judge a change to a shared kustomize
base against each other environment that renders it (staging when dev's finding edits the base).
The usage is the right-sizing evidence (``cpu_p95`` cores, ``memory_peak`` bytes, days, samples)
of the same preset the ``rightsize`` detector uses, computed only when a rendering asks for it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from domain.errors import CostpilotError

if TYPE_CHECKING:
    from services.deps import Deps


def usage_by_container(deps: Deps, preset: str = "krr-simple") -> dict[str, dict[str, Any]]:
    """``namespace/Kind/name/container`` → that container's observed usage (its evidence)."""
    from guardrails.context import container_key
    from services.requests import RightsizeRequest
    from services.waste import rightsize

    result = rightsize(RightsizeRequest(preset=preset), deps)  # type: ignore[arg-type]
    return {
        container_key(r.namespace, r.kind, r.workload, r.container): dict(r.evidence)
        for r in result.recommendations
    }


def lazy_usage(deps: Deps, preset: str = "krr-simple") -> Callable[[str], Mapping[str, Any] | None]:
    """A ``ValidationContext.usage`` lookup that reads the samples on its first question only
    (most changes touch no shared file, and then cost nothing)."""
    cache: dict[str, dict[str, dict[str, Any]]] = {}

    def lookup(key: str) -> Mapping[str, Any] | None:
        if "usage" not in cache:
            try:
                cache["usage"] = usage_by_container(deps, preset)
            except CostpilotError:  # no samples at all: every lowered rendering fails closed
                cache["usage"] = {}
        return cache["usage"].get(key)

    return lookup
