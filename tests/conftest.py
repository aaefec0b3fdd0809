"""Shared fixtures: the CLI runner, workspaces, reference data and the PostgreSQL server."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

# Property tests on a shared 2-core machine: no per-example deadline (timing is the benchmarks'
# job), and in CI a fixed example sequence so a red run can be replayed exactly.
settings.register_profile(
    "costpilot",
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=bool(os.environ.get("CI")),
    print_blob=True,
)
settings.load_profile("costpilot")

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
FOCUS_SAMPLE = SHARED_DATA / "focus" / "focus_1.0_sample.csv"
PG_URL = "postgresql://postgres@127.0.0.1:5432/test"


@dataclass
class CliResult:
    code: int
    out: str
    err: str

    def json(self):  # type: ignore[no-untyped-def]
        import json

        return json.loads(self.out)


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """Run ``costpilot ARGS`` in-process through the real entry point and error edge."""
    from app.cli import main

    monkeypatch.setenv("COLUMNS", "200")

    def run(*args: str) -> CliResult:
        capsys.readouterr()
        code = main(list(args))
        captured = capsys.readouterr()
        return CliResult(code=code, out=captured.out, err=captured.err)

    return run


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty workspace folder, set as COSTPILOT_HOME."""
    home = tmp_path / "ws"
    monkeypatch.setenv("COSTPILOT_HOME", str(home))
    for var in ("COSTPILOT_AS_OF", "COSTPILOT_DATABASE_URL", "COSTPILOT_CURRENCY"):
        monkeypatch.delenv(var, raising=False)
    return home


@pytest.fixture(scope="session")
def focus_sample() -> Path:
    if not FOCUS_SAMPLE.is_file():
        pytest.fail(f"reference data missing: {FOCUS_SAMPLE} (shared/ must sit beside the checkout)")
    return FOCUS_SAMPLE


@pytest.fixture(scope="session")
def pg_url() -> str:
    """The PostgreSQL server of the development machines; tests fail loudly when it is down."""
    import psycopg

    try:
        psycopg.connect(PG_URL, connect_timeout=3).close()
    except psycopg.OperationalError as exc:
        pytest.fail(
            "PostgreSQL at 127.0.0.1:5432 (database test) is not reachable; start it with "
            f"`pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start` ({exc})"
        )
    return PG_URL


@pytest.fixture
def pg_table_name(pg_url: str) -> Iterator[str]:
    """A unique table name on PostgreSQL, dropped afterwards."""
    import psycopg

    name = f"cost_facts_{uuid.uuid4().hex[:10]}"
    yield name
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f'DROP TABLE IF EXISTS "{name}"')


# Tests that share an expensive session fixture run in one pytest-xdist worker: the eval
# workspace (tests/evals) is built once; every other file stays together, as --dist loadfile.
_SHARED_GROUPS = {"tests/evals/": "evals"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        path = item.nodeid.split("::", 1)[0]
        group = next((g for prefix, g in _SHARED_GROUPS.items() if path.startswith(prefix)), path)
        item.add_marker(pytest.mark.xdist_group(group))
