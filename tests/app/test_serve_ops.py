# ruff: noqa: F811  (fixtures imported by name)
"""``serve`` for an operator: ``/healthz``, ``/readyz`` (503 with one line when the state DB or the
warehouse is unreachable, also when the database goes away mid-run and comes back), ``/metrics``
in the Prometheus text format, JSON logs; and the CLI with a database unavailable: one line, exit 2.

Every server here is a real ``costpilot serve`` process on a free loopback port."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.app.serve_process import FreshDatabase, ServeProcess, TcpProxy, free_port
from tests.app.slack.conftest import (  # noqa: F401 - fixtures used by name
    SlackApp,
    digest_warehouse,
    slack_env,
    standin,
    with_warehouse,
)
from tests.app.slack.slack_standin import SlackStandin
from tests.app.test_cli_remediation import env, finding, found, gitops, scan_json  # noqa: F401


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a scrape, keyed by (name, sorted labels)."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_healthz_readyz_and_metrics_of_a_working_serve(
    env: Path, with_warehouse: Path, standin: SlackStandin, run_cli
) -> None:  # type: ignore[no-untyped-def]
    with ServeProcess({}) as serve:
        serve.wait_listening()
        health = serve.get("/healthz")
        assert (health.status_code, health.text) == (200, "ok")
        ready = serve.get("/readyz")
        assert (ready.status_code, ready.text) == (200, "ready: state database ok; warehouse ok\n")
        assert serve.get("/nope").status_code == 404

        # A proposal approved into a PR (the CLI, sharing the state DB).
        scanned = scan_json(run_cli)
        pid = next((p["id"] for p in scanned["proposals"] if p["state"] == "awaiting_approval"), scanned)
        assert run_cli("approve", pid, "--as", "U_ALICE").code == 0
        # One question through Slack, answered by the agent in the serve process.
        with httpx.Client(timeout=20) as http:
            app = SlackApp(serve.events_url, None, http)
            ts = "1712000000.000100"
            event = {"type": "app_mention", "user": "U_ALICE", "channel": "CQ", "ts": ts, "event_ts": ts,
                     "text": "<@UBOT> what did we spend last week?"}  # fmt: skip
            assert app.event(event, "EvOps1").status_code == 200
            assert app.post("{}", "application/json", signature="v0=bad").status_code == 401
        [answer] = standin.wait_calls("chat.postMessage", 1, timeout=60)
        assert answer.args["thread_ts"] == ts

        scrape = serve.get("/metrics")
        assert scrape.status_code == 200 and scrape.headers["content-type"].startswith(
            "text/plain; version=0.0.4"
        )
        got = samples(scrape.text)

    def one(name: str, **labels: str) -> float:
        return got[(name, tuple(sorted(labels.items())))]

    assert one("costpilot_http_requests_total", method="POST", path="/slack/events", status="200") == 1
    assert one("costpilot_http_requests_total", method="POST", path="/slack/events", status="401") == 1
    assert one("costpilot_http_requests_total", method="GET", path="/readyz", status="200") == 1
    assert one("costpilot_http_requests_total", method="GET", path="other", status="404") == 1
    assert one("costpilot_http_request_duration_seconds_count", path="/slack/events") == 2
    answers = {k: one("costpilot_answers_total", grounded=k) for k in ("true", "false") if
               ("costpilot_answers_total", (("grounded", k),)) in got}  # fmt: skip
    assert sum(answers.values()) == 1
    assert one("costpilot_answers_ungrounded_total") == answers.get("false", 0)
    assert one("costpilot_answer_duration_seconds_count") == 1
    # From the state DB at scrape time: the same figures the CLI shows.
    assert one("costpilot_state_db_up") == 1
    listed = run_cli("proposals", "list", "--json").json()
    by_state = {state: sum(p["state"] == state for p in listed) for state in {p["state"] for p in listed}}
    assert one("costpilot_proposals", state="pr_opened") == 1
    assert one("costpilot_proposals", state="merged") == 0  # every state has a series, zeros included
    gauges = {dict(labels)["state"]: v for (n, labels), v in got.items() if n == "costpilot_proposals"}
    assert {k: v for k, v in gauges.items() if v} == by_state
    assert one("costpilot_pull_requests_total", outcome="opened") == 1
    assert one("costpilot_pull_requests_total", outcome="updated") == 0
    assert one("costpilot_pull_requests_failed_total") == 0


@pytest.mark.parametrize("kind", ["postgres-closed-port", "sqlite-unreadable"])
def test_readyz_is_503_with_one_line_when_the_state_db_is_unreachable(
    slack_env: Path, tmp_path: Path, kind: str
) -> None:
    if kind == "postgres-closed-port":
        url = f"postgresql://postgres:s3cret@127.0.0.1:{free_port()}/state"
        reason = (
            f"not ready: cannot connect to the state database postgresql://postgres:***@{url.split('@')[1]}: "
        )
    else:
        (tmp_path / "a-file").write_text("not a folder")
        url = f"sqlite:///{tmp_path / 'a-file' / 'state.sqlite'}"
        reason = f"not ready: cannot connect to the state database {url}: "
    with ServeProcess({"COSTPILOT_DATABASE_URL": url}, "--log-format", "json") as serve:
        warning = serve.wait_line(lambda line: line.startswith("costpilot serve: warning: "))
        assert "/readyz answers 503 until it is reachable" in warning and "s3cret" not in warning
        serve.wait_listening()
        assert serve.get("/healthz").status_code == 200  # alive: a restart would not help
        ready = serve.get("/readyz")
        assert ready.status_code == 503
        assert ready.text.startswith(reason) and ready.text.count("\n") == 1, ready.text
        assert "s3cret" not in ready.text
        got = samples(serve.get("/metrics").text)
        assert got[("costpilot_state_db_up", ())] == 0
        assert not any(name == "costpilot_proposals" for name, _ in got)
        # --log-format json: the refusal is also logged, one JSON object per line on stderr.
        logged = json.loads(serve.wait_line(lambda line: line.startswith("{") and "readyz" in line))
        assert logged["level"] == "warning" and logged["logger"] == "costpilot.slack.server"
        assert logged["message"] == "readyz: " + ready.text.strip()
        assert set(logged) == {"ts", "level", "logger", "message"}


def test_readyz_is_503_when_the_warehouse_is_unreachable(slack_env: Path) -> None:
    url = f"postgresql://reader:pw@127.0.0.1:{free_port()}/costs"
    with ServeProcess({"COSTPILOT_WAREHOUSE_URL": url}) as serve:
        serve.wait_listening()
        ready = serve.get("/readyz")
    assert ready.status_code == 503
    assert ready.text.startswith(
        f"not ready: cannot reach the warehouse postgresql://reader:***@127.0.0.1:{url.split(':')[-1].split('/')[0]}/costs: "
    )
    assert "Connection refused" in ready.text and "pw@" not in ready.text and ready.text.count("\n") == 1


@pytest.fixture
def state_db(pg_url: str) -> Iterator[FreshDatabase]:
    db = FreshDatabase(pg_url)
    yield db
    db.drop()


@pytest.mark.postgres
def test_readyz_follows_the_state_db_going_away_and_coming_back(
    slack_env: Path, state_db: FreshDatabase
) -> None:
    proxy = TcpProxy(("127.0.0.1", 5432)).start()
    url = f"postgresql://postgres@127.0.0.1:{proxy.port}/{state_db.name}?connect_timeout=2"
    try:
        with ServeProcess({"COSTPILOT_DATABASE_URL": url}) as serve:
            serve.wait_listening()
            assert serve.get("/readyz").status_code == 200
            proxy.cut()  # mid-run: open connections dropped, the port refuses
            down = serve.get("/readyz")
            assert down.status_code == 503 and down.text.startswith(
                f"not ready: cannot connect to the state database postgresql://postgres@127.0.0.1:{proxy.port}/"
            ), down.text
            assert samples(serve.get("/metrics").text)[("costpilot_state_db_up", ())] == 0
            proxy.start()  # back on the same port: the pool reconnects, no restart needed
            assert serve.get("/readyz").status_code == 200
            assert samples(serve.get("/metrics").text)[("costpilot_state_db_up", ())] == 1
    finally:
        proxy.cut()


# ----- the CLI with a database unavailable -----


@pytest.mark.parametrize(
    ("setting", "args", "start"),
    [
        ("COSTPILOT_DATABASE_URL=postgresql://postgres:s3cret@127.0.0.1:{port}/state", ("proposals", "list"),
         "costpilot: error: cannot connect to the state database postgresql://postgres:***@127.0.0.1:{port}/state: "),
        ("COSTPILOT_DATABASE_URL=sqlite:///{file}/state.sqlite", ("scan",),
         "costpilot: error: cannot connect to the state database sqlite:///{file}/state.sqlite: "),
        pytest.param(
            "COSTPILOT_WAREHOUSE_URL=postgresql://reader:s3cret@127.0.0.1:{port}/costs", ("spend", "--period", "last-week"),
            "costpilot: error: cannot connect to the warehouse postgresql://reader:***@127.0.0.1:{port}/costs: ",
        ),
    ],
)  # fmt: skip
def test_cli_with_a_database_unavailable_is_one_line_and_exit_2(
    run_cli, workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, setting: str,
    args: tuple[str, ...], start: str,
) -> None:  # type: ignore[no-untyped-def]  # fmt: skip
    (tmp_path / "a-file").write_text("not a folder")
    values = {"port": str(free_port()), "file": str(tmp_path / "a-file")}
    name, value = setting.format(**values).split("=", 1)
    monkeypatch.setenv(name, value)
    result = run_cli(*args)
    assert result.code == 2 and result.out == ""
    assert result.err.startswith(start.format(**values)) and result.err.count("\n") == 1, result.err
    assert "s3cret" not in result.err and "Traceback" not in result.err


def test_metrics_count_a_failed_pr_and_its_retry_from_the_state_db(
    env: Path, gitops: Path, tmp_path: Path
) -> None:
    """The collector reads what the remediation service recorded: a forge failure (GitHub stand-in
    answering 502) is one failed attempt and a proposal in ``pr_failed``; the retry opens the PR."""
    import subprocess
    import sys

    from pydantic import SecretStr

    from app.ops.metrics import ServeMetrics
    from domain.errors import ExternalError
    from gitops.forges import ForgeConfig, get_forge
    from tests.services.test_hardening_approval import fresh, scan

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "gitops"))
    from github_faults import FaultyStandin

    token = "ghp_" + "M3" * 18
    bare = tmp_path / "remote.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(gitops), str(bare)], check=True)
    server = FaultyStandin(repo_path=bare, tokens={token}).start()
    try:
        config = ForgeConfig(
            repo="acme/gitops", github_base_url=server.base_url, token=SecretStr(token), publish_attempts=1,
            backoff_seconds=0.01, seconds_between_requests=0, seconds_between_writes=0,
        )  # fmt: skip
        (pid,) = scan(env, [finding("api")])
        service, pipeline = fresh(env)
        service.forge = lambda: get_forge("github", config)  # type: ignore[assignment]
        metrics = ServeMetrics(lambda: service.engine)
        server.fail_with("POST", r"/pulls$", 502, times=5, message="bad gateway")
        with pytest.raises(ExternalError):
            service.approve(pid, "U_ALICE", plan=pipeline.plan, validate=pipeline.validate)
        failed = samples(metrics.render().decode())
        server.faults.clear()
        service.resume_pending(pipeline.plan, pipeline.validate)
        opened = samples(metrics.render().decode())
    finally:
        server.stop()
    assert failed[("costpilot_proposals", (("state", "pr_failed"),))] == 1
    assert failed[("costpilot_pull_requests_failed_total", ())] == 1
    assert failed[("costpilot_pull_requests_total", (("outcome", "opened"),))] == 0
    assert opened[("costpilot_proposals", (("state", "pr_opened"),))] == 1
    assert opened[("costpilot_proposals", (("state", "pr_failed"),))] == 0
    assert opened[("costpilot_pull_requests_failed_total", ())] == 1  # a counter: the failure stays counted
    assert opened[("costpilot_pull_requests_total", (("outcome", "opened"),))] == 1
