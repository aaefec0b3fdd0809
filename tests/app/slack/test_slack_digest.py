"""The weekly digest: the tools' own numbers, posted once per week with a real PNG, skipped when the
week has no data, and written as Markdown + PNG by ``costpilot digest --out``."""

from __future__ import annotations

import io
import threading
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from app.slack.chart import CHART_SIZE, png_size
from app.slack.digest_post import compute_digest, post_digest
from services.registry import call_tool
from store import slack_state
from tests.app.slack.conftest import DIGEST, DIGEST_AS_OF, SlackApp, as_of_clock, make_runtime, serve
from tests.app.slack.slack_standin import SlackStandin

WEEK, PREVIOUS = "2026-04-06..2026-04-12", "2026-03-30..2026-04-05"


@pytest.fixture(scope="module")
def week_digest(digest_warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The digest of 2026-W15, computed once (the posting tests post this result)."""
    import shutil

    from services.deps import Deps
    from services.settings import load_settings

    home = tmp_path_factory.mktemp("digest-once")
    shutil.copy(digest_warehouse, home / "warehouse.duckdb")
    deps = Deps(load_settings(home, as_of=DIGEST_AS_OF))
    try:
        return compute_digest(deps)
    finally:
        deps.close()


@pytest.fixture
def runtime(with_warehouse: Path) -> Any:
    runtime = make_runtime(with_warehouse, clock=as_of_clock())
    yield runtime
    runtime.close()


def test_the_digest_is_built_from_the_tools_numbers(runtime: Any, week_digest: Any) -> None:
    deps = runtime.deps()
    result = week_digest
    assert (result.status, result.week, result.period.label(), result.compare.label()) == (
        "ok",
        "2026-W15",
        WEEK,
        PREVIOUS,
    )
    movers: Any = call_tool(
        "movers", {"period": WEEK, "compare": PREVIOUS, "by": ["team", "service"], "top": 5}, deps
    )
    assert (result.total.current, result.total.previous, result.total.delta) == (
        movers.current_total, movers.previous_total, movers.delta
    )  # fmt: skip
    assert [(m.dims, m.delta, m.share_of_delta) for m in result.movers] == [
        (m.dims, m.delta, m.share_of_delta) for m in movers.movers
    ]
    assert len(result.movers) == 5 and result.movers[0].dims == {"team": "payments", "service": "Amazon EC2"}
    assert [b.dimension for b in result.breakdowns] == ["team", "env", "service", "model"]
    by_model = next(b for b in result.breakdowns if b.dimension == "model")
    assert {line.dims["model"] for line in by_model.lines} == {"gpt-4o", "gpt-4o-mini"}  # AI spend only
    [spike] = [a for a in result.anomalies if a.series == {"team": "payments", "service": "Amazon EC2"}]
    assert (spike.start, spike.end) == ("2026-04-10", "2026-04-11")
    assert spike.impact == spike.actual - spike.expected and spike.impact > Decimal(1000)
    assert (spike.root_causes[0].dimension, spike.root_causes[0].value) == ("region", "us-east-1")
    units: Any = call_tool("unit_costs", {"period": WEEK}, deps)
    assert result.ai is not None and result.ai.total == units.total > 0
    assert result.month is not None and result.month.month.label() == "2026-04-01..2026-04-30"
    assert result.month.budget is None  # no budget set
    assert result.savings is not None and result.savings.open.count == 0
    assert result.savings.realised is None and result.savings.realised_note == "nothing merged yet"
    assert len(result.daily) == 28 and sum(d.in_week for d in result.daily) == 7
    assert sum(d.cost for d in result.daily if d.in_week) == result.total.current
    assert {c.tool for c in result.calls} == {
        "spend",
        "movers",
        "anomalies",
        "budget_status",
        "forecast",
        "unit_costs",
        "proposals_list",
        "savings",  # estimate vs realised and what waits (the savings pipeline)
    }


def test_the_digest_is_posted_once_per_week_with_a_png_chart(
    runtime: Any, standin: SlackStandin, with_warehouse: Path, week_digest: Any
) -> None:
    deps = runtime.deps()
    result = week_digest
    posted = post_digest(deps, runtime.client, runtime.config, now=runtime.now(), result=result)
    assert (posted.state, posted.channel, posted.note) == ("posted", DIGEST, None)
    [message] = standin.of("chat.postMessage")
    blocks = message.args["blocks"]
    assert blocks[0]["text"]["text"] == "Cost digest 2026-W15 (Apr 06 – Apr 12, 2026)"
    total = next(b["text"]["text"] for b in blocks if b.get("text", {}).get("text", "").startswith("*Total*"))
    assert total.startswith(f"*Total*: {result.total.current.quantize(Decimal('0.01')):,.2f} USD (")
    text = str(blocks)
    assert "*Anomalies this week*" in text and "region=us-east-1" in text and "*Savings pipeline*" in text
    [ask_url] = standin.of("files.getUploadURLExternal")
    [upload] = standin.of("upload")
    [complete] = standin.of("files.completeUploadExternal")
    assert ask_url.args["filename"] == "costpilot-digest-2026-W15.png"
    assert complete.args["channel_id"] == DIGEST and complete.args["files"][0]["id"] == upload.args["file_id"]
    png = standin.uploads[upload.args["file_id"]]
    assert int(ask_url.args["length"]) == len(png)
    assert png_size(png) == CHART_SIZE and CHART_SIZE[0] >= 1200 and CHART_SIZE[1] >= 600
    image = Image.open(io.BytesIO(png))
    image.verify()
    assert (image.format, image.size) == ("PNG", CHART_SIZE)
    # Another replica (its own runtime and DB handles) finds the week taken.
    other = make_runtime(with_warehouse, clock=as_of_clock())
    try:
        again = post_digest(other.deps(), other.client, other.config, now=other.now(), result=result)
    finally:
        other.close()
    assert again.state == "already" and len(standin.of("chat.postMessage")) == 1
    row = slack_state.get_posting(deps.engine, "digest", "2026-W15")
    assert row is not None and (row.state, row.ts) == ("posted", message_ts(standin))


def message_ts(standin: SlackStandin) -> str:
    return "1700000000.000001"


def test_replicas_racing_post_one_digest(
    with_warehouse: Path, standin: SlackStandin, week_digest: Any
) -> None:
    runtimes = [make_runtime(with_warehouse, clock=as_of_clock()) for _ in range(3)]
    results = [week_digest] * len(runtimes)
    barrier = threading.Barrier(len(runtimes))
    states: list[str] = []

    def post(i: int) -> None:
        barrier.wait()
        r = runtimes[i]
        states.append(post_digest(r.deps(), r.client, r.config, now=r.now(), result=results[i]).state)

    threads = [threading.Thread(target=post, args=(i,)) for i in range(len(runtimes))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for r in runtimes:
        r.close()
    assert sorted(states) == ["already", "already", "posted"]
    assert len(standin.of("chat.postMessage")) == 1 and len(standin.of("files.completeUploadExternal")) == 1


def test_a_week_without_data_is_skipped_with_a_note_and_nothing_posted(
    runtime: Any, standin: SlackStandin
) -> None:
    deps = runtime.deps()
    result = compute_digest(deps, week="2025-W01")
    assert result.status == "skipped" and result.total is None and result.movers == []
    assert result.notes == [
        "no cost data for 2025-W01 (2024-12-30..2025-01-05): digest skipped, nothing posted"
    ]
    posted = post_digest(deps, runtime.client, runtime.config, now=runtime.now(), result=result)
    assert (posted.state, posted.note) == ("skipped", result.notes[0])
    assert not standin.of("chat.postMessage") and not standin.of("files.getUploadURLExternal")
    assert slack_state.get_posting(deps.engine, "digest", "2025-W01").state == "skipped"  # type: ignore[union-attr]


def test_cli_digest_writes_markdown_and_the_png_beside_it(
    run_cli, with_warehouse: Path, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "reports" / "week.md"
    result = run_cli("digest", "--out", str(out), "--json")
    assert result.code == 0, result.err
    doc = result.json()  # stdout stays one JSON document; the files are written too
    assert (doc["status"], doc["week"]) == ("ok", "2026-W15")
    assert isinstance(doc["total"]["delta"], str)  # money as decimal strings
    week_days = [Decimal(d["cost"]) for d in doc["daily"] if d["in_week"]]
    assert len(week_days) == 7 and sum(week_days) == Decimal(doc["total"]["current"])
    markdown = out.read_text()
    assert markdown.startswith("# Cost digest 2026-W15 (Apr 06 – Apr 12, 2026)\n")
    assert "![Daily spend and top movers](week.png)" in markdown and "## Anomalies this week" in markdown
    assert "| team=payments · service=Amazon EC2 |" in markdown
    total = Decimal(doc["total"]["current"]).quantize(Decimal("0.01"))
    assert f"**Total**: {total:,.2f} USD (" in markdown
    assert png_size(out.with_suffix(".png").read_bytes()) == CHART_SIZE


def test_cli_digest_skips_a_week_without_data_and_post_needs_the_channel(
    run_cli, with_warehouse: Path
) -> None:  # type: ignore[no-untyped-def]
    skipped = run_cli("digest", "--week", "2025-W01")
    assert skipped.code == 0 and skipped.out.splitlines() == [
        "digest 2025-W01: skipped",
        "note: no cost data for 2025-W01 (2024-12-30..2025-01-05): digest skipped, nothing posted",
    ]
    bad = run_cli("digest", "--week", "2025-W60")
    assert bad.code == 2 and bad.err == "costpilot: error: week '2025-W60': no such ISO week\n"
    no_channel = run_cli("digest", "--post")  # COSTPILOT_SLACK_DIGEST_CHANNEL is not set here
    assert (no_channel.code, no_channel.out) == (2, "")
    assert no_channel.err == (
        "costpilot: error: COSTPILOT_SLACK_DIGEST_CHANNEL is not set: the Slack channel id for digest "
        "(e.g. C0123ABCD)\n"
    )


@pytest.fixture
def digest_app(with_warehouse: Path) -> Any:
    yield from serve(make_runtime(with_warehouse, clock=as_of_clock()))


def test_slash_digest_shows_it_to_the_user_only(digest_app: SlackApp, standin: SlackStandin) -> None:
    digest_app.command("digest")
    [told] = standin.wait_calls("chat.postEphemeral")
    assert told.args["user"] == "U_ALICE" and told.args["text"] == "Cost digest 2026-W15"
    assert told.args["blocks"][0]["text"]["text"] == "Cost digest 2026-W15 (Apr 06 – Apr 12, 2026)"
    assert not standin.of("chat.postMessage")


def test_the_savings_pipeline_shows_realised_beside_estimated_and_what_waits() -> None:
    from decimal import Decimal

    from app.slack.digest_render import savings_lines
    from services.digest import SavingsPipeline, Stage

    def stage(n: int, amount: str) -> Stage:
        return Stage(count=n, monthly_savings=Decimal(amount), proposals=[f"b{i}" for i in range(n)])

    pipeline = SavingsPipeline(
        open=stage(2, "40"), approved=stage(1, "30"), merged=stage(1, "30"), realised=Decimal("18.25"),
        realised_note="1 of 1 merged change(s) measured", blocked=[], waiting=stage(3, "1970.95"),
        estimated_of_measured=Decimal("30"),
    )  # fmt: skip
    lines = savings_lines(pipeline, "USD")
    assert lines[1] == "realised: 18.25 USD/month measured vs 30.00 USD/month estimated"
    assert lines[2] == "waiting: 3 (1,970.95 USD/month)"
    nothing_waits = savings_lines(pipeline.model_copy(update={"waiting": stage(0, "0")}), "USD")
    assert not any(line.startswith("waiting") for line in nothing_waits)
