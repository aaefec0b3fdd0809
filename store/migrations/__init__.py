"""Alembic migration environment of the state database (``env.py`` and ``versions/``).

A package so that a wheel carries it; ``store.migrate`` runs it (there is no ini file).
"""
