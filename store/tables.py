"""Imports every module that defines tables, so ``init_db`` creates them all.

Each feature adds its table module here by name (explicit, no discovery).
"""

from __future__ import annotations

import importlib

TABLE_MODULES: tuple[str, ...] = ("store.budgets", "store.proposals", "store.audit")

for _name in TABLE_MODULES:
    try:
        importlib.import_module(_name)
    except ModuleNotFoundError as exc:  # a feature not built yet
        if exc.name != _name:
            raise
