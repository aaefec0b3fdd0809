"""Fixtures for the proposal store: engines on SQLite and PostgreSQL, and change builders."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from store_samples import make_change, make_report

from domain.changes import GuardrailReport, PlannedChange
from store.proposals import open_store


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
