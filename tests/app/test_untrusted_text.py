"""Issue #14 item 5: untrusted text reaches terminals and Slack escaped.

Hostile values are ingested the way real ones are (a FOCUS export's tags and resource names, an
LLM gateway log's metadata), then shown by the CLI and turned into Slack blocks."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest

from app.render import SafeConsole
from app.slack.blocks import esc, result_table, section
from app.slack.digest_render import _md

OSC_LINK = "pay\x1b]8;;http://evil\x07click\x1b]8;;\x07"
CLEAR = "clear\x1b[2Jme\x1bc"
CHANNEL = "<!channel> ping <https://evil|docs>"
BOLD = "*bold* [/x] [link=http://evil]y[/link]"
HOSTILE = (OSC_LINK, CLEAR, CHANNEL, BOLD)
CONTROLS = ("\x1b", "\x07", "\x9b")


def _hostile_focus(src: Path, out: Path) -> Path:
    rows = list(csv.DictReader(src.open(newline="")))
    for i, row in enumerate(rows[:400]):
        row["Tags"] = json.dumps({"team": HOSTILE[i % 4], "environment": "prod"})
        row["ResourceName"] = HOSTILE[(i + 1) % 4]
    with out.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return out


def _hostile_llm(out: Path) -> Path:
    lines = []
    for i, feature in enumerate(HOSTILE):
        lines.append(
            {
                "request_id": f"req-{i}",
                "startTime": f"2024-09-1{i}T10:00:00Z",
                "model": "gpt-4o",
                "custom_llm_provider": "openai",
                "prompt_tokens": 1000,
                "completion_tokens": 100,
                "spend": 1.5,
                "team_id": "t1",
                "request_tags": [f"feature:{feature}"],
                "metadata": {"feature": feature, "user_api_key_team_alias": feature},
            }
        )
    out.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return out


@pytest.fixture
def hostile_workspace(run_cli: Any, workspace: Path, focus_sample: Path, tmp_path: Path) -> Path:
    focus = run_cli("ingest", "focus", str(_hostile_focus(focus_sample, tmp_path / "hostile.csv")))
    assert focus.code == 0, focus.err
    llm = run_cli("ingest", "llm-usage", str(_hostile_llm(tmp_path / "hostile.jsonl")))
    assert llm.code == 0, llm.err
    return workspace


def _no_controls(text: str) -> None:
    for char in CONTROLS:
        assert char not in text, f"{char!r} reached the terminal"


@pytest.mark.parametrize("by", ["team", "team,resource", "feature"])
def test_cli_tables_strip_escape_sequences_and_markup(run_cli: Any, hostile_workspace: Path, by: str) -> None:
    result = run_cli("spend", "--period", "2024-09", "--by", by)
    assert result.code == 0, result.err
    _no_controls(result.out + result.err)
    # The values are shown (controls replaced), not hidden, and rich markup in them is text.
    assert "[link=http://evil]y[/link]" in result.out and "*bold* [/x]" in result.out
    assert "<!channel> ping" in result.out
    assert "\ufffd]8;;http://evil\ufffdclick" in result.out
    assert "clear\ufffd[2Jme" in result.out


def test_unit_costs_feature_names_from_llm_metadata_are_stripped(
    run_cli: Any, hostile_workspace: Path
) -> None:
    result = run_cli("unit-costs", "--period", "2024-09")
    assert result.code == 0, result.err
    _no_controls(result.out + result.err)
    assert "[link=http://evil]" in result.out


def test_csv_and_markdown_tables_carry_the_values_literally(run_cli: Any, hostile_workspace: Path) -> None:
    out = run_cli("spend", "--period", "2024-09", "--by", "team", "--format", "csv")
    assert out.code == 0, out.err
    _no_controls(out.out)
    rows = list(csv.reader(io.StringIO(out.out)))
    assert rows[0] == ["team", "cost (USD)", "share"]
    teams = {r[0] for r in rows[1:]}
    assert (
        "<!channel> ping <https://evil|docs>" in teams and "*bold* [/x] [link=http://evil]y[/link]" in teams
    )
    md = run_cli("spend", "--period", "2024-09", "--by", "team", "--format", "markdown").out
    _no_controls(md)
    assert "| \\<!channel\\> ping \\<https://evil\\|docs\\> |" in md
    assert "\\*bold\\* \\[/x\\] \\[link=http://evil\\]y\\[/link\\]" in md and "<!channel>" not in md


def test_lines_printed_without_markup_are_stripped_too() -> None:
    """Scan notes, ``proposals show`` (diff, guardrail messages, PR body) and ``ask`` print
    lines with ``markup=False``: the same console strips them."""
    buffer = io.StringIO()
    console = SafeConsole(file=buffer, force_terminal=True, width=200)
    console.print(f"note: workload {OSC_LINK} {CLEAR}", markup=False, highlight=False)
    console.print(f"note: [link=http://evil]{BOLD}[/link]")  # markup on: no hyperlink either
    text = buffer.getvalue()
    assert "]8;;http://evil" not in text.replace("\ufffd]8;;http://evil", "")
    assert "\x1b[2J" not in text and "\x1bc" not in text and "\x07" not in text
    assert "\x1b]8" not in text  # rich's own hyperlinks are off for data


def test_slack_blocks_escape_mentions_links_and_controls(run_cli: Any, hostile_workspace: Path) -> None:
    doc = run_cli("spend", "--period", "2024-09", "--by", "team", "--json").json()
    blocks = result_table("spend", doc)
    text = json.dumps(blocks, ensure_ascii=False)
    _no_controls(text)
    assert "<!channel>" not in text and "<https://evil" not in text
    assert "&lt;!channel&gt; ping &lt;https://evil|docs&gt;" in text
    assert "team=*bold* [/x] [link=http://evil]y[/link]" in text  # Slack has no escape for *; no link forms
    assert esc("a & b <@U123>\x1b[2J") == "a &amp; b &lt;@U123&gt;[2J"
    assert section(esc(CHANNEL))["text"]["text"].startswith("&lt;!channel&gt;")


def test_digest_markdown_lines_are_literal() -> None:
    line = _md("team=**APPROVED by SecOps - merge now** <!-- x --> <img onerror=alert(1)> | cell")
    assert line == (
        "team=\\*\\*APPROVED by SecOps - merge now\\*\\* \\<!-- x --\\> \\<img onerror=alert(1)\\> \\| cell"
    )
