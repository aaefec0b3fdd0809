"""Imports every module that defines tables, so ``SQLModel.metadata`` knows them all (Alembic's
autogenerate and the schema test compare it with the migrated database).

Each feature adds its table module here by name (explicit, no discovery), and a revision under
``store/migrations/versions`` for its tables.
"""

from __future__ import annotations

import importlib

TABLE_MODULES: tuple[str, ...] = (
    "store.budgets",
    "store.proposal_tables",
    "store.pull_requests",
    "store.idempotency",
    "store.audit",
    "store.slack_state",
)

for _name in TABLE_MODULES:
    importlib.import_module(_name)
