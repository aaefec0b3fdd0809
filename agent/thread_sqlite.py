"""The offline path's thread state in the default SQLite checkpointer, without importing LangGraph.

Importing ``langgraph.checkpoint.sqlite`` brings langchain-core (~0.15–0.2 s of every CLI
``ask``). The Q&A state is plain data (text, numbers, lists, dicts), so this module reads and
writes the saver's own ``checkpoints`` rows directly, in its format: msgpack as LangGraph's
serializer writes plain data, a time-ordered UUIDv6 id, JSON metadata. Whatever is not plain — a
row another serializer type wrote, extension types inside, tables not created yet — returns
None, and the caller uses the saver (``agent.threads``). Tests run both ways on one thread
(``tests/agent/test_qa_threads.py``), so a change of the saver's format shows there.
"""

from __future__ import annotations

import json
import random
import sqlite3
import threading
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import ormsgpack

from agent.state import QAState

CHECKPOINT_VERSION = 4  # langgraph.checkpoint.base.LATEST_VERSION
NODES_PER_TURN = 4
_PACK = (
    ormsgpack.OPT_NON_STR_KEYS
    | ormsgpack.OPT_PASSTHROUGH_DATACLASS
    | ormsgpack.OPT_PASSTHROUGH_DATETIME
    | ormsgpack.OPT_PASSTHROUGH_ENUM
)
# 100-ns intervals between the Gregorian epoch (UUID time) and the Unix epoch.
_GREGORIAN_OFFSET = 0x01B21DD213814000
_lock = threading.Lock()
_last_timestamp = 0


class NotPlain(Exception):
    """The row or the state is not plain data: the saver must handle it."""


def _not_plain(value: Any) -> Any:
    raise TypeError(f"not plain data: {type(value).__name__}")


def uuid6() -> str:
    """A version-6 UUID (time-ordered, as LangGraph's checkpoint ids), strictly increasing here."""
    global _last_timestamp
    with _lock:
        timestamp = time.time_ns() // 100 + _GREGORIAN_OFFSET
        timestamp = max(timestamp, _last_timestamp + 1)
        _last_timestamp = timestamp
    value = ((timestamp >> 12) & 0xFFFF_FFFF_FFFF) << 80
    value |= (0x6000 | (timestamp & 0x0FFF)) << 64
    value |= (0x8000 | random.getrandbits(14)) << 48
    value |= random.getrandbits(48)
    return str(uuid.UUID(int=value))


def has_tables(conn: sqlite3.Connection) -> bool:
    names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    return {"checkpoints", "writes"} <= names


def load(conn: sqlite3.Connection, thread_id: str) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """(the thread's last state, the row it came from or None); NotPlain when the saver must read."""
    row = conn.execute(
        "SELECT checkpoint_id, type, checkpoint, metadata FROM checkpoints "
        "WHERE thread_id = ? AND checkpoint_ns = '' ORDER BY checkpoint_id DESC LIMIT 1",
        (thread_id,),
    ).fetchone()
    if row is None:
        return {}, None
    checkpoint_id, kind, blob, metadata = row
    if kind != "msgpack":
        raise NotPlain(kind)
    try:
        checkpoint = ormsgpack.unpackb(blob, option=ormsgpack.OPT_NON_STR_KEYS)
        meta = json.loads(metadata) if metadata else {}
    except (ValueError, TypeError) as exc:  # an extension type inside: LangGraph's serializer reads it
        raise NotPlain(str(exc)) from None
    if not isinstance(checkpoint, dict) or not isinstance(checkpoint.get("channel_values"), dict):
        raise NotPlain("shape")
    previous = {"id": checkpoint_id, "checkpoint": checkpoint, "metadata": meta}
    return dict(checkpoint["channel_values"]), previous


def save(
    conn: sqlite3.Connection, thread_id: str, state: dict[str, Any], previous: dict[str, Any] | None
) -> None:
    """The turn's final state as the thread's next checkpoint (see ``agent.threads.save_state``)."""
    versions: dict[str, Any] = {}
    seen: dict[str, Any] = {}
    step = NODES_PER_TURN - 1
    parent = None
    if previous is not None:
        versions = dict(previous["checkpoint"].get("channel_versions") or {})
        seen = dict(previous["checkpoint"].get("versions_seen") or {})
        step = int(previous["metadata"].get("step", -1)) + 1 + NODES_PER_TURN
        parent = previous["id"]
    current = max((int(str(v).split(".")[0]) for v in versions.values()), default=0)
    version = f"{current + 1:032}.{random.random():016}"
    keys = [k for k in QAState.__annotations__ if k in state]
    checkpoint = {
        "v": CHECKPOINT_VERSION,
        "id": uuid6(),
        "ts": datetime.now(UTC).isoformat(),
        "channel_values": {k: state[k] for k in keys},
        "channel_versions": {**versions, **dict.fromkeys(keys, version)},
        "versions_seen": seen,
        "pending_sends": [],
        "updated_channels": keys,
    }
    try:
        blob = ormsgpack.packb(checkpoint, default=_not_plain, option=_PACK)
    except (TypeError, ormsgpack.MsgpackEncodeError) as exc:
        raise NotPlain(str(exc)) from None
    metadata = json.dumps({"source": "loop", "step": step, "parents": {}}).encode()
    with conn:
        conn.execute(
            "INSERT INTO checkpoints (thread_id, checkpoint_ns, checkpoint_id, parent_checkpoint_id, type, "
            "checkpoint, metadata) VALUES (?, '', ?, ?, 'msgpack', ?, ?)",
            (thread_id, checkpoint["id"], parent, blob, metadata),
        )
