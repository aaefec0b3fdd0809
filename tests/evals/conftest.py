"""One eval workspace and one full eval run per test session (building it takes about a minute)."""

from __future__ import annotations

from pathlib import Path

import pytest

from evals.scorecard import Scorecard


@pytest.fixture(scope="session")
def eval_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("eval") / "ws"


@pytest.fixture(scope="session")
def eval_card(eval_home: Path) -> Scorecard:
    """The whole eval (every bundled case) on a freshly generated workspace."""
    from evals.runner import run_eval

    return run_eval(eval_home)
