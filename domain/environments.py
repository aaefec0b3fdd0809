"""Which environment a namespace (or cluster, or labelled workload) belongs to: one classifier.

The rules come from the guardrail policy (``namespaces:`` in ``.costpilot/policy.yaml``; the
policy's ``NamespacesPolicy`` is this model plus its own keys), so every caller — guardrails,
approvals, the idle and untagged detectors — decides "production" the same way.

Order, safe side first:
1. ``production`` when the namespace or the cluster matches a production pattern, or an
   environment label's value does;
2. else the value of the first environment label the workload carries (``staging``, ``perf``);
3. else the first named environment one of whose markers the namespace carries (a marker is a
   token of the name split on ``-``, ``_`` and ``.``, or an fnmatch pattern of the whole name);
4. else ``unknown`` — which approval rules treat like production.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from fnmatch import fnmatchcase

from pydantic import BaseModel, ConfigDict, Field, field_validator

PRODUCTION = "production"
UNKNOWN = "unknown"
_GLOB = re.compile(r"[*?\[]")
_TOKENS = re.compile(r"[-_.]")


def _default_environments() -> dict[str, list[str]]:
    return {
        "dev": ["dev", "development"],
        "staging": ["staging", "stage", "stg", "preprod"],
        "test": ["test", "qa", "uat"],
        "sandbox": ["sandbox"],
        "preview": ["preview"],
        "nonprod": ["nonprod"],
    }


class EnvironmentRules(BaseModel):
    """Patterns and labels that name environments (policy ``namespaces:``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    production: list[str] = Field(
        default_factory=lambda: ["prod", "production", "*-prod", "prod-*", "*-production"],
        description="namespace patterns (fnmatch) that are production",
    )
    production_clusters: list[str] = Field(
        default_factory=lambda: ["prod", "production", "*-prod", "prod-*", "*-production"],
        description="cluster name patterns (fnmatch) whose every namespace is production",
    )
    env_labels: list[str] = Field(
        default_factory=lambda: ["costpilot.io/env", "env", "environment"],
        description="workload labels that name the environment (a production value marks production)",
    )
    environments: dict[str, list[str]] = Field(
        default_factory=_default_environments,
        description="non-production environments by name: namespace tokens (split on - _ .) or "
        "fnmatch patterns that mark them",
    )

    @field_validator("environments")
    @classmethod
    def _not_production(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for name in value:
            if name.lower() in (PRODUCTION, UNKNOWN):
                raise ValueError(f"{name!r} cannot be a non-production environment name")
        return value

    def environment_of(
        self,
        namespace: str | None,
        cluster: str | None = None,
        labels: Mapping[str, object] | None = None,
    ) -> str:
        """``production``, a named environment (``dev``, ``staging``, a label's value) or ``unknown``."""
        label_env = self._label_env(labels)
        if (
            self._matches(namespace, self.production)
            or self._matches(cluster, self.production_clusters)
            or (label_env is not None and self._matches(label_env, self.production))
        ):
            return PRODUCTION
        if label_env:
            return label_env
        tokens = set(_TOKENS.split((namespace or "").lower())) - {""}
        for env, markers in self.environments.items():
            for marker in markers:
                glob = _GLOB.search(marker) is not None
                if (glob and fnmatchcase(namespace or "", marker)) or (not glob and marker.lower() in tokens):
                    return env
        return UNKNOWN

    def is_production(
        self, namespace: str | None, cluster: str | None = None, labels: Mapping[str, object] | None = None
    ) -> bool:
        return self.environment_of(namespace, cluster, labels) == PRODUCTION

    def is_nonproduction(
        self, namespace: str | None, cluster: str | None = None, labels: Mapping[str, object] | None = None
    ) -> bool:
        """A named non-production environment (``unknown`` is not: it is treated like production)."""
        return self.environment_of(namespace, cluster, labels) not in (PRODUCTION, UNKNOWN)

    def _label_env(self, labels: Mapping[str, object] | None) -> str | None:
        for key in self.env_labels:
            value = (labels or {}).get(key)
            if isinstance(value, str) and value.strip():
                return value.strip().lower()
        return None

    @staticmethod
    def _matches(name: str | None, patterns: list[str]) -> bool:
        return bool(name) and any(fnmatchcase(str(name), p) for p in patterns)
