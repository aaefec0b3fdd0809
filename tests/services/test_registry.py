"""``TOOLS``: names pinned, schemas valid, validation one line, nothing dangerous offered to an LLM."""

from __future__ import annotations

import json

import pytest
from jsonschema import Draft202012Validator
from pydantic import BaseModel

from domain.errors import InputError
from services.registry import AGENT_TOOLS, TOOLS, get_tool

EXPECTED = [
    "anomalies",
    "audit_verify",
    "budget_list",
    "budget_set",
    "budget_status",
    "decide",
    "digest",
    "forecast",
    "idle",
    "ingest_focus",
    "ingest_llm_usage",
    "ingest_prometheus",
    "ingest_utilization",
    "models",
    "movers",
    "open_pr",
    "pr_status",
    "proposal_show",
    "proposals_list",
    "proposals_sync",
    "request_approval",
    "review",
    "rightsize",
    "savings",
    "scan",
    "spend",
    "unit_costs",
    "untagged",
]


def test_registry_names_are_pinned() -> None:
    assert sorted(TOOLS) == EXPECTED


@pytest.mark.parametrize("name", EXPECTED)
def test_each_request_schema_is_valid_json_schema_and_each_entry_resolves(name: str) -> None:
    spec = TOOLS[name]
    schema = spec.request.model_json_schema()
    Draft202012Validator.check_schema(schema)
    json.dumps(schema)  # what an LLM and an MCP client receive
    assert schema.get("additionalProperties") is False
    assert spec.description and len(spec.description) < 120
    assert callable(spec.load_handler())
    assert issubclass(spec.result_model(), BaseModel)
    for field, prop in schema.get("properties", {}).items():
        assert "description" in prop, f"{name}.{field} has no description"


def test_an_unknown_name_lists_the_valid_ones() -> None:
    with pytest.raises(InputError) as info:
        get_tool("spnd")
    assert str(info.value).startswith(
        "unknown tool 'spnd'; valid tools: anomalies, audit_verify, budget_list"
    )


@pytest.mark.parametrize(
    ("tool", "args", "message"),
    [
        ("spend", {"period": "someday"}, "spend: period: unknown period 'someday'"),
        ("spend", {"colour": "red"}, "spend: colour: unknown argument"),
        ("spend", {"measure": "Price"}, "spend: measure 'Price': Input should be 'EffectiveCost'"),
        ("spend", {"by": "team,team"}, "spend: by: a dimension is listed twice"),
        ("spend", {"filters": ["team"]}, "spend: filters: filter 'team': expected KEY=VALUE"),
        ("movers", {"by": []}, "movers: by: List should have at least 1 item"),
        ("forecast", {"horizon": 0}, "forecast: horizon 0: Input should be greater than or equal to 1"),
        ("decide", {"proposal_id": "p1", "user": "U1", "decision": "merge"}, "decide: decision 'merge'"),
        ("rightsize", {"preset": "goldilocks"}, "rightsize: preset 'goldilocks'"),
    ],
)
def test_bad_arguments_are_one_line_naming_the_tool_and_argument(tool: str, args: dict, message: str) -> None:
    with pytest.raises(InputError) as info:
        TOOLS[tool].parse(args)
    text = str(info.value)
    assert text.startswith(message) and "\n" not in text
    assert "--" not in text  # the argument's name, not a CLI flag: Slack and MCP show this too


def test_dimensions_and_filters_accept_every_surface_s_shape() -> None:
    spend = TOOLS["spend"]
    a = spend.parse({"by": "team,env", "filters": ["team=payments", "env=prod,staging"]})
    b = spend.parse({"by": ["team", "env"], "filters": {"team": "payments", "env": ["prod", "staging"]}})
    assert a == b
    assert a.filters == {"team": ["payments"], "env": ["prod", "staging"]}


def test_the_llm_is_never_offered_deciding_opening_or_changing_state() -> None:
    assert set(AGENT_TOOLS).isdisjoint({"decide", "open_pr", "budget_set", "scan", "ingest_focus"})
    assert "request_approval" in AGENT_TOOLS and "spend" in AGENT_TOOLS
    assert all(TOOLS[name].read_only for name in AGENT_TOOLS)
    assert TOOLS["decide"].destructive and TOOLS["open_pr"].destructive
