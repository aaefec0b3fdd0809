"""Alembic environment: runs on the connection ``store.migrate`` hands over, or on
``sqlalchemy.url`` / ``-x url=…`` for the ``alembic`` command line (and ``--sql`` offline)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import MetaData
from sqlalchemy.engine import Connection

config = context.config
VERSION_TABLE = config.get_main_option("version_table") or "costpilot_schema_version"


def target_metadata() -> MetaData:
    """Every table costpilot defines (for ``alembic revision --autogenerate``)."""
    from sqlmodel import SQLModel

    import store.tables  # noqa: F401  - registers every table module

    return SQLModel.metadata


def _url() -> str:
    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option("sqlalchemy.url")
    if not url:
        raise SystemExit("give the database: alembic -x url=sqlite:///PATH … (or sqlalchemy.url)")
    return url


def run_on(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata(),
        version_table=VERSION_TABLE,
        compare_type=True,
        render_as_batch=True,  # SQLite alters tables by copying them; batch mode does that
    )
    with context.begin_transaction():
        context.run_migrations()


def run_offline() -> None:
    from store.db import normalize_url

    context.configure(
        url=normalize_url(_url()),
        target_metadata=target_metadata(),
        version_table=VERSION_TABLE,
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        run_on(connection)
        return
    from store.db import create_engine_for

    engine = create_engine_for(_url())
    try:
        with engine.begin() as conn:
            run_on(conn)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
