"""Remediation: findings → proposals → approval → pull request.

The CLI (``app/commands/remediation.py``), the Slack app and the agent call these same
functions. The package is split by job:

- ``config``: ``remediation.toml``, approver rules, the authorizer, environments
- ``results``: scan summaries and approval outcomes
- ``service``: ``RemediationService`` (scan, submit, approve, reject, list, show, resume)
- ``detectors``: the detector registry ``DETECTORS``
- ``wiring``: settings → service, pipeline and forge; ``run_scan``

``DETECTORS`` and ``forge_config`` are read from this package at call time, so replacing them
here (as tests do) takes effect.
"""

from services.remediation.config import (
    BOT,
    REMEDIATION_FILE,
    ApprovalRefused,
    ApproverRules,
    ApproverSpec,
    Authorizer,
    RemediationConfig,
    environment_of,
    explicit_environment,
    load_remediation_config,
)
from services.remediation.detectors import DETECTORS, Detector
from services.remediation.results import ApprovalOutcome, ScanItem, ScanSummary, total_delta
from services.remediation.service import Planner, RemediationService, Validator, utc_now
from services.remediation.wiring import (
    Pipeline,
    PlaybookMeta,
    build_pipeline,
    build_service,
    forge_config,
    playbook_meta,
    run_scan,
)

__all__ = [
    "BOT",
    "DETECTORS",
    "REMEDIATION_FILE",
    "ApprovalOutcome",
    "ApprovalRefused",
    "ApproverRules",
    "ApproverSpec",
    "Authorizer",
    "Detector",
    "Pipeline",
    "Planner",
    "PlaybookMeta",
    "RemediationConfig",
    "RemediationService",
    "ScanItem",
    "ScanSummary",
    "Validator",
    "build_pipeline",
    "build_service",
    "environment_of",
    "explicit_environment",
    "forge_config",
    "load_remediation_config",
    "playbook_meta",
    "run_scan",
    "total_delta",
    "utc_now",
]
