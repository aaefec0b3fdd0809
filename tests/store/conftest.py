"""Fixtures for the proposal store: engines on SQLite and PostgreSQL, and change builders."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from domain.changes import FileChange, GuardrailReport, GuardrailResult, PlannedChange, Verdict
from domain.findings import Finding, FindingKind
from store.proposals import open_store

BEFORE = 'spec:\n  resources:\n    requests:\n      cpu: "2"\n'


def make_change(
    cpu: str = "500m",
    *,
    slug: str = "shop-api",
    namespace: str = "shop",
    env: str | None = None,
    playbook: str = "rightsize-requests",
) -> PlannedChange:
    target = {
        "cluster": "c1",
        "namespace": namespace,
        "kind": "Deployment",
        "workload": "api",
        "container": "api",
    }
    if env:
        target["env"] = env
    finding = Finding(
        kind=FindingKind.rightsize,
        target=target,
        title="Right-size api",
        current={"cpu_request": "2"},
        proposed={"cpu_request": cpu},
        evidence={"cpu_p95": "0.31", "days": 14, "samples": 4032},
        monthly_cost_now=Decimal("120"),
        monthly_cost_after=Decimal("40"),
    )
    after = BEFORE.replace('"2"', f'"{cpu}"')
    return PlannedChange(
        playbook=playbook,
        target_slug=slug,
        title=f"Right-size {slug}",
        findings=[finding],
        files=[FileChange(path="apps/api/deployment.yaml", before=BEFORE, after=after)],
        diff=f'--- a/apps/api/deployment.yaml\n+++ b/apps/api/deployment.yaml\n-      cpu: "2"\n+      cpu: "{cpu}"\n',
        monthly_cost_now=Decimal("120"),
        monthly_cost_after=Decimal("40"),
    )


def make_report(change: PlannedChange, failing: tuple[str, ...] = ()) -> GuardrailReport:
    results = [GuardrailResult(rule_id="patch.parses", verdict=Verdict.passed, message="ok")]
    results += [GuardrailResult(rule_id=r, verdict=Verdict.fail, message=f"{r} failed") for r in failing]
    return GuardrailReport(patch_sha256=change.patch_sha256, results=results)


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Engine:
    return open_store(f"sqlite:///{tmp_path / 'state.sqlite'}")


@pytest.fixture
def postgres_engine(pg_url: str) -> Iterator[Engine]:
    """A store in a schema of its own on the shared PostgreSQL server, dropped afterwards."""
    import psycopg2

    schema = f"cp_test_{uuid.uuid4().hex[:10]}"
    with psycopg2.connect(pg_url) as conn, conn.cursor() as cur:
        cur.execute(f'CREATE SCHEMA "{schema}"')
    engine = open_store(f"{pg_url}?options=-csearch_path%3D{schema}")
    yield engine
    engine.dispose()
    with psycopg2.connect(pg_url) as conn, conn.cursor() as cur:
        cur.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest) -> Engine:
    return request.getfixturevalue(f"{request.param}_engine")


@pytest.fixture
def builders() -> tuple[Callable[..., PlannedChange], Callable[..., GuardrailReport]]:
    return make_change, make_report
