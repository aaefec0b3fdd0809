"""LangGraph's PostgreSQL checkpoint tables set up by several processes at once, on a fresh
database (two replicas' first scans or questions): every process goes on, the migrations are
recorded once each (agent/checkpoint.py holds an advisory lock around them)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from tests.app.serve_process import FreshDatabase
from tests.conftest import PG_URL

ROOT = Path(__file__).resolve().parents[2]
PROCESSES = 4

SET_UP = """
import sys
from langgraph.checkpoint.postgres import PostgresSaver
from agent.checkpoint import _setup_once

url = sys.argv[1]
with PostgresSaver.from_conn_string(url) as saver:
    print("ready", flush=True)
    sys.stdin.readline()  # released together with the others
    _setup_once(url, url, saver)
    print(len(saver.MIGRATIONS), flush=True)
"""


@pytest.fixture
def fresh_db() -> str:  # type: ignore[misc]
    db = FreshDatabase(PG_URL, prefix="cp_ckpt")
    try:
        yield db.url
    finally:
        db.drop()


def test_processes_setting_up_at_once_all_succeed_and_migrate_once(fresh_db: str) -> None:
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", SET_UP, fresh_db],
            cwd=ROOT,
            env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        for _ in range(PROCESSES)
    ]
    try:
        for p in procs:
            assert p.stdout is not None and p.stdout.readline().strip() == "ready", (
                p.stderr.read() if p.stderr else ""
            )
        for p in procs:  # go, all at once
            assert p.stdin is not None
            p.stdin.write("\n")
            p.stdin.flush()
        outcomes = [p.communicate(timeout=60) for p in procs]
    finally:
        for p in procs:
            p.kill()
    assert [p.returncode for p in procs] == [0] * PROCESSES, [err[-800:] for _, err in outcomes]
    migrations = {int(out.strip()) for out, _ in outcomes}
    with psycopg.connect(fresh_db) as conn:
        rows = conn.execute("SELECT v, count(*) FROM checkpoint_migrations GROUP BY v ORDER BY v").fetchall()
    assert [count for _, count in rows] == [1] * len(rows) and {len(rows)} == migrations
