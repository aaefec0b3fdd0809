"""Idempotency keys remember only final answers: a pending one never becomes the answer."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.engine import Engine

from store import proposals as store

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
PENDING = '{"state":"approved","message":"approved; another process is opening the PR"}'
FINAL = '{"state":"pr_opened","message":"approved by U1; opened https://github.test/acme/gitops/pull/1"}'


def remember(engine: Engine, result: str, *, final: bool, key: str = "slack:Ev1") -> str:
    return store.remember(engine, key, action="approve", subject="p1", result=result, now=NOW, final=final)


def test_retry_during_the_forge_call_does_not_freeze_the_pending_answer(engine: Engine) -> None:
    # The retry arrives while the first call talks to the forge: it can only say "pending".
    assert remember(engine, PENDING, final=False) == PENDING
    assert store.recall(engine, "slack:Ev1") is None  # a third retry must do the work again
    entry = store.recall_entry(engine, "slack:Ev1")
    assert entry is not None and (entry.final, entry.result) == (False, PENDING)
    # The first call finishes: its final answer replaces the pending one and answers every repeat.
    assert remember(engine, FINAL, final=True) == FINAL
    assert store.recall(engine, "slack:Ev1") == FINAL
    # A pending answer arriving late changes nothing and is told the final one.
    assert remember(engine, PENDING, final=False) == FINAL
    assert store.recall(engine, "slack:Ev1") == FINAL


def test_first_final_answer_wins(engine: Engine) -> None:
    assert remember(engine, FINAL, final=True) == FINAL
    assert remember(engine, '{"state":"pr_opened","message":"second"}', final=True) == FINAL
    assert store.recall_entry(engine, "slack:Ev1").final is True  # type: ignore[union-attr]


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_racing_final_answers_from_two_replicas_agree(backend: str, request: pytest.FixtureRequest) -> None:
    engine: Engine = request.getfixturevalue(f"{backend}_engine")
    other = store.create_engine_for(engine.url)
    remember(engine, PENDING, final=False)
    barrier = threading.Barrier(4)
    answers: list[str] = []

    def run(e: Engine, i: int) -> None:
        barrier.wait()
        answers.append(remember(e, f'{{"state":"pr_opened","n":{i}}}', final=True))

    threads = [threading.Thread(target=run, args=(e, i)) for i, e in enumerate([engine, other] * 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    other.dispose()
    stored = store.recall(engine, "slack:Ev1")
    assert stored is not None and '"pr_opened"' in stored
    assert answers == [stored] * 4


def test_pending_answers_keep_the_newest_until_final(engine: Engine) -> None:
    remember(engine, '{"n":1}', final=False)
    later = NOW + timedelta(seconds=5)
    store.remember(
        engine, "slack:Ev1", action="approve", subject="p1", result='{"n":2}', now=later, final=False
    )
    entry = store.recall_entry(engine, "slack:Ev1")
    assert entry is not None and (entry.result, entry.at, entry.final) == ('{"n":2}', later, False)
    assert store.recall_entry(engine, "slack:unknown") is None
