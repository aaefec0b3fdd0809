"""The real Bolt app served by uvicorn on a loopback port, a Slack Web API stand-in on another,
and requests signed with the signing secret, as Slack sends them."""

from __future__ import annotations

import dataclasses
import json
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from tests.app.slack.slack_standin import TEAM, SlackStandin

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
TOKEN = "xoxb-test"
APPROVALS, DIGEST, ALERTS, GENERAL = "CAPPROVALS", "CDIGEST", "CALERTS", "CGENERAL"


@pytest.fixture
def standin() -> Iterator[SlackStandin]:
    with SlackStandin() as server:
        yield server


@pytest.fixture
def slack_env(workspace: Path, standin: SlackStandin, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The Slack settings of the environment (each test restores it: monkeypatch)."""
    workspace.mkdir(parents=True, exist_ok=True)
    monkeypatch.setenv("SLACK_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("SLACK_SIGNING_SECRET", SECRET)
    monkeypatch.delenv("SLACK_APP_TOKEN", raising=False)
    monkeypatch.setenv("COSTPILOT_SLACK_API_BASE_URL", standin.base_url)
    return workspace


class Clock:
    """A settable UTC clock (button expiry, "decided at")."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def make_runtime(
    home: Path, *, token: str | None = None, clock: Clock | None = None, sleep: Any = None
) -> Any:
    from app.slack.client import web_client
    from app.slack.config import slack_config
    from app.slack.runtime import SlackRuntime
    from services.deps import Deps
    from services.settings import load_settings

    settings = load_settings(home)
    config = dataclasses.replace(
        slack_config(settings), approvals_channel=APPROVALS, digest_channel=DIGEST, alerts_channel=ALERTS
    )
    if token:
        config = dataclasses.replace(config, bot_token=token)
    clock = clock or Clock(datetime.now(UTC))
    client = web_client(config, **({"sleep": sleep} if sleep else {}))
    return SlackRuntime(
        config=config, client=client, make_deps=lambda: Deps(settings, clock=clock), clock=clock
    )


@dataclass
class SlackApp:
    """The Bolt app behind uvicorn, and a client that signs what it sends."""

    url: str
    runtime: Any
    http: httpx.Client

    def post(self, body: str, content_type: str, *, timestamp: int | None = None, signature: str | None = "sign",
             headers: dict[str, str] | None = None) -> httpx.Response:  # fmt: skip
        from slack_sdk.signature import SignatureVerifier

        ts = str(int(time.time()) if timestamp is None else timestamp)
        sent = {"Content-Type": content_type, **(headers or {})}
        if signature == "sign":
            sent["X-Slack-Request-Timestamp"] = ts
            sent["X-Slack-Signature"] = SignatureVerifier(SECRET).generate_signature(timestamp=ts, body=body)
        elif signature is not None:
            sent["X-Slack-Request-Timestamp"] = ts
            sent["X-Slack-Signature"] = signature
        return self.http.post(self.url, content=body.encode(), headers=sent)

    def event(self, event: dict[str, Any], event_id: str, **kw: Any) -> httpx.Response:
        body = {
            "token": "legacy", "team_id": TEAM, "api_app_id": "A0001", "type": "event_callback",
            "event_id": event_id, "event_time": int(time.time()), "event": event,
            "authorizations": [{"team_id": TEAM, "user_id": "UBOT", "is_bot": True}],
        }  # fmt: skip
        return self.post(json.dumps(body), "application/json", **kw)

    def command(self, text: str, *, user: str = "U_ALICE", channel: str = GENERAL) -> httpx.Response:
        form = {
            "token": "legacy", "team_id": TEAM, "channel_id": channel, "user_id": user, "command": "/costpilot",
            "text": text, "trigger_id": "trig", "response_url": f"{self.runtime.config.api_base_url}response",
        }  # fmt: skip
        return self.post(urlencode(form), "application/x-www-form-urlencoded")

    def click(
        self, action_id: str, value: str, *, user: str, message: dict[str, Any], channel: str = APPROVALS
    ) -> httpx.Response:
        payload = {
            "type": "block_actions", "team": {"id": TEAM}, "user": {"id": user}, "api_app_id": "A0001",
            "container": {"type": "message", "message_ts": message["ts"], "channel_id": channel},
            "channel": {"id": channel}, "message": message, "trigger_id": "trig",
            "actions": [{"action_id": action_id, "block_id": "b", "type": "button", "value": value,
                         "action_ts": str(time.time())}],
        }  # fmt: skip
        return self.post(urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded")


def serve(runtime: Any) -> Iterator[SlackApp]:
    """uvicorn running ``asgi_app(build_app(runtime))`` in a thread until the test ends."""
    import uvicorn

    from app.slack.app import build_app
    from app.slack.server import EVENTS_PATH, asgi_app

    # The socket listens before uvicorn runs: early requests wait in its backlog (no start polling).
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    port = int(sock.getsockname()[1])
    server = uvicorn.Server(uvicorn.Config(asgi_app(build_app(runtime)), log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    with httpx.Client(timeout=20) as http:
        yield SlackApp(f"http://127.0.0.1:{port}{EVENTS_PATH}", runtime, http)
    server.should_exit = True
    thread.join(timeout=10)
    sock.close()
    runtime.close()


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 4, 13, 10, 0, tzinfo=UTC))


@pytest.fixture
def slack_app(slack_env: Path, clock: Clock) -> Iterator[SlackApp]:
    yield from serve(make_runtime(slack_env, clock=clock))


# ----- a warehouse whose week 2026-W15 (Apr 6–12) has an anomaly and LLM usage -----

DIGEST_AS_OF = date(2026, 4, 13)
LLM_WEEK_DAYS = (date(2026, 4, 7), date(2026, 4, 8), date(2026, 4, 9))


@pytest.fixture(scope="session")
def digest_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.tools.conftest import LLM_REQUESTS, ingest, synthetic_rows, write_focus

    folder = tmp_path_factory.mktemp("digest")
    bill = write_focus(folder / "bill.csv", synthetic_rows(days=103))  # Jan 1 .. Apr 13
    records = []
    for day in LLM_WEEK_DAYS:
        for n, (feature, model, prompt, completion, cached, spend) in enumerate(LLM_REQUESTS):
            records.append({
                "request_id": f"req-{day}-{n}", "startTime": f"{day}T10:00:0{n}Z", "model": model,
                "custom_llm_provider": "openai", "prompt_tokens": prompt, "completion_tokens": completion,
                "cache_read_input_tokens": cached, "spend": spend,
                "metadata": {"team": "search"} | ({"feature": feature} if feature else {}),
            })  # fmt: skip
    logs = folder / "llm.jsonl"
    logs.write_text("".join(json.dumps(r) + "\n" for r in records))
    warehouse = folder / "warehouse.duckdb"
    ingest(warehouse, [bill], folder / "rejected", [logs])
    # A few container samples, as a real workspace has (the agent's catalog reads their names).
    from warehouse.utilization import ingest_utilization_files

    samples = folder / "samples.csv"
    rows = ["timestamp,cluster,namespace,workload_kind,workload,container,pod,cpu_cores,memory_bytes"]
    rows += [f"2026-04-12T{h:02d}:00:00Z,c1,shop,Deployment,api,api,api-1,0.5,1073741824" for h in range(12)]
    samples.write_text("\n".join(rows) + "\n")
    ingest_utilization_files(warehouse, [samples], folder / "rejected")
    return warehouse


@pytest.fixture
def with_warehouse(slack_env: Path, digest_warehouse: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copy(digest_warehouse, slack_env / "warehouse.duckdb")
    monkeypatch.setenv("COSTPILOT_AS_OF", DIGEST_AS_OF.isoformat())
    return slack_env


def as_of_clock() -> Clock:
    return Clock(datetime.combine(DIGEST_AS_OF, datetime.min.time(), UTC) + timedelta(hours=10))
