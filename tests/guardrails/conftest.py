"""Fixtures of the guardrail tests (the repo and builders live in helpers.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.guardrails.helpers import write_repo


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return write_repo(tmp_path / "gitops")
