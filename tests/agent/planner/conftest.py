"""Fixtures of the planner tests: the fixed vocabulary (``planner_vocab``)."""

from __future__ import annotations

import pytest
from planner_vocab import VOCABULARY

from agent.planner import Vocabulary


@pytest.fixture
def vocabulary() -> Vocabulary:
    return VOCABULARY
