"""Forges by name: ``local`` (a git repository on disk) and ``github`` (PyGithub); each publishes
a branch with its PR and reports the PR's status (open | merged | closed)."""

from __future__ import annotations

from collections.abc import Callable

from domain.errors import ConfigError
from gitops.forges.base import (
    FileContent,
    Forge,
    ForgeConfig,
    PublishRequest,
    PublishResult,
    PullRequestStatus,
    UnknownPullRequest,
    redact,
    safe_repo_path,
)


def _local(config: ForgeConfig) -> Forge:
    from gitops.forges.local import LocalForge

    return LocalForge(config)


def _github(config: ForgeConfig) -> Forge:
    from gitops.forges.github import GitHubForge

    return GitHubForge(config)


# Imported lazily so that the local forge never needs PyGithub loaded.
FORGES: dict[str, Callable[[ForgeConfig], Forge]] = {"local": _local, "github": _github}


def get_forge(name: str, config: ForgeConfig) -> Forge:
    """The forge registered as ``name``; an unknown name lists the valid ones."""
    try:
        factory = FORGES[name]
    except KeyError:
        raise ConfigError(
            f"COSTPILOT_FORGE: unknown forge {name!r} (valid: {', '.join(sorted(FORGES))})"
        ) from None
    return factory(config)


__all__ = [
    "FORGES",
    "FileContent",
    "Forge",
    "ForgeConfig",
    "PublishRequest",
    "PublishResult",
    "PullRequestStatus",
    "UnknownPullRequest",
    "get_forge",
    "redact",
    "safe_repo_path",
]
