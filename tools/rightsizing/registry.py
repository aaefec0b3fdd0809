"""Right-sizing presets by name: settings model and engine factory."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from domain.errors import InputError
from tools.rightsizing.common import PresetEngine
from tools.rightsizing.krr_simple import KrrSimple, KrrSimpleSettings
from tools.rightsizing.vpa_like import VpaLike, VpaLikeSettings


@dataclass(frozen=True)
class Preset:
    name: str
    description: str
    settings_model: type[BaseModel]
    factory: Callable[[Any], PresetEngine]


PRESETS: dict[str, Preset] = {
    "krr-simple": Preset(
        "krr-simple",
        "Robusta KRR's default: per-pod CPU p95, memory peak + 15%, no CPU limit",
        KrrSimpleSettings,
        KrrSimple,
    ),
    "vpa-like": Preset(
        "vpa-like",
        "Kubernetes VPA recommender: decaying histograms, P90 target + 15%, confidence bounds",
        VpaLikeSettings,
        VpaLike,
    ),
}
DEFAULT_PRESET = "krr-simple"


def get_preset(name: str) -> Preset:
    try:
        return PRESETS[name]
    except KeyError:
        raise InputError(f"unknown right-sizing preset {name!r}; use one of: {', '.join(PRESETS)}") from None


def build_settings(preset: Preset, overrides: dict[str, Any] | None = None) -> BaseModel:
    """The preset's settings with overrides validated against its Field bounds."""
    try:
        return preset.settings_model(**(overrides or {}))
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(p) for p in first["loc"])
        raise InputError(f"preset {preset.name}: setting {key!r}: {first['msg']}") from None
