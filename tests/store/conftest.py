"""Fixtures for the state store: engines on SQLite and PostgreSQL (a schema of its own per test,
dropped afterwards), and change builders."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import Engine
from store_samples import make_change, make_report

from domain.changes import GuardrailReport, PlannedChange
from store.proposals import open_store


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Engine:
    return open_store(f"sqlite:///{tmp_path / 'state.sqlite'}")


@pytest.fixture
def pg_schema_url(pg_url: str) -> Iterator[str]:
    """The URL of an empty schema of its own on the shared PostgreSQL server (dropped after)."""
    schema = f"cp_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    yield f"{pg_url}?options=-csearch_path%3D{schema}"
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture
def postgres_engine(pg_schema_url: str) -> Iterator[Engine]:
    """A migrated store in a schema of its own."""
    engine = open_store(pg_schema_url)
    yield engine
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest) -> Engine:
    return request.getfixturevalue(f"{request.param}_engine")


@pytest.fixture
def builders() -> tuple[Callable[..., PlannedChange], Callable[..., GuardrailReport]]:
    return make_change, make_report
