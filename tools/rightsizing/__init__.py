"""Right-sizing of Kubernetes requests and limits: presets ``krr-simple`` and ``vpa-like``."""

from tools.rightsizing.engine import ManifestContainer, monthly_cost, recommend, severity_for
from tools.rightsizing.models import Recommendation, Resources, RightsizeResult, UnitPrices
from tools.rightsizing.registry import DEFAULT_PRESET, PRESETS, get_preset

__all__ = [
    "DEFAULT_PRESET",
    "PRESETS",
    "ManifestContainer",
    "Recommendation",
    "Resources",
    "RightsizeResult",
    "UnitPrices",
    "get_preset",
    "monthly_cost",
    "recommend",
    "severity_for",
]
