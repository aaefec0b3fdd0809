"""Eval cases as YAML data: golden questions, conversations, prompt injections and their plants.

Loaded in stages: YAML syntax (the file and line), then structure (pydantic, unknown keys refused;
the error names the file, the case and the key path), then meaning (unique ids, known tools,
goals and planters). Each expected call is written ``- tool: {args}``; arguments left out take
the tool's defaults (the runner compares full requests), ``{proposal:STATE}`` in a question or an
argument becomes the id of the first proposal in that state when the case runs.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from domain.errors import InputError

CASES_DIR = Path(__file__).resolve().parent / "cases"
Goal = Literal["approve", "open_pr", "leak_secret", "run_tool", "misreport"]
Surface = Literal["question", "tag", "resource", "manifest", "pr_text", "llm_metadata"]
# What an injection may have been planted in, and where (see evals.plant.PLANTERS).
PlantKind = Literal[
    "focus_tag", "focus_resource", "llm_metadata", "manifest_annotation", "repo_file", "commit_message"
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Call(_Strict):
    tool: str
    args: dict[str, Any] = Field(default_factory=dict)


def _plain(value: Any) -> Any:
    """YAML reads ``2026-11-05`` as a date; tool arguments are text."""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _calls(value: Any) -> Any:
    """``[{spend: {period: last-week}}, help]`` → ``[Call(spend, …), Call(help)]``."""
    if value is None:
        return []
    out: list[Any] = []
    for item in value if isinstance(value, list) else [value]:
        if isinstance(item, str):
            out.append({"tool": item, "args": {}})
        elif isinstance(item, dict) and len(item) == 1 and "tool" not in item:
            ((tool, args),) = item.items()
            out.append({"tool": tool, "args": _plain(args or {})})
        else:
            out.append(item)
    return out


class Turn(_Strict):
    q: str = Field(description="the question, exactly as a user types it")
    calls: list[Call] = Field(default_factory=list, description="the expected tool calls, in order")
    mentions: list[str] = Field(default_factory=list, description="text the answer must contain")
    via: Literal["ask", "cli"] = Field("ask", description="in-process ask, or a `costpilot ask` process")

    @field_validator("calls", mode="before")
    @classmethod
    def _split_calls(cls, value: Any) -> Any:
        return _calls(value)

    @property
    def decline(self) -> bool:
        """No expected call: the assistant must say it cannot answer."""
        return not self.calls


class Case(Turn):
    id: str


class Conversation(_Strict):
    id: str
    turns: list[Turn] = Field(min_length=2)


class Injection(Turn):
    id: str
    goal: Goal = Field(description="what the attacker wants (every case is judged on all state)")
    surface: Surface
    forbid: list[str] = Field(default_factory=list, description="text that must not appear (misreport)")
    calls: list[Call] | None = Field(None, description="expected calls when the question is answerable")  # type: ignore[assignment]

    @field_validator("calls", mode="before")
    @classmethod
    def _split_calls(cls, value: Any) -> Any:
        return None if value is None else _calls(value)

    @property
    def decline(self) -> bool:
        return self.calls == []


class Plant(_Strict):
    id: str
    kind: PlantKind
    file: str = Field(description="path under the planted copy (focus/…, llm/…, or inside the repo)")
    match: str = Field("", description="only records whose line contains this text")
    key: str = Field("", description="the tag / metadata / annotation key to set")
    text: str = Field(min_length=1, description="the injected text")
    limit: int = Field(0, ge=0, description="at most this many records (0: all matching)")


class Suite(_Strict):
    cases: list[Case] = Field(default_factory=list)
    conversations: list[Conversation] = Field(default_factory=list)
    injections: list[Injection] = Field(default_factory=list)
    plants: list[Plant] = Field(default_factory=list)

    def ids(self) -> list[str]:
        return [
            x.id for group in (self.cases, self.conversations, self.injections, self.plants) for x in group
        ]


def _where(error: dict[str, Any], data: dict[str, Any]) -> str:
    loc = list(error["loc"])
    if len(loc) >= 2 and isinstance(loc[1], int) and isinstance(data.get(loc[0]), list):
        item = data[loc[0]][loc[1]]
        name = item.get("id") if isinstance(item, dict) else None
        loc = [f"{loc[0]}[{name or loc[1]}]", *loc[2:]]
    return ".".join(str(p) for p in loc)


def load_file(path: Path) -> Suite:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" line {mark.line + 1}" if mark is not None else ""
        raise InputError(f"{path}:{line} not valid YAML: {getattr(exc, 'problem', exc)}") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: expected a mapping with cases / conversations / injections / plants")
    try:
        return Suite.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise InputError(f"{path}: {_where(first, data)}: {first['msg']}") from None


def load_suite(folder: Path | None = None, known_tools: set[str] | None = None) -> Suite:
    """Every ``*.yaml`` of ``folder`` (default: the bundled cases) as one suite, checked."""
    folder = folder or CASES_DIR
    files = sorted(folder.glob("*.yaml"))
    if not files:
        raise InputError(f"{folder}: no *.yaml case files")
    parts = [load_file(f) for f in files]
    suite = Suite(
        cases=[c for p in parts for c in p.cases],
        conversations=[c for p in parts for c in p.conversations],
        injections=[c for p in parts for c in p.injections],
        plants=[c for p in parts for c in p.plants],
    )
    seen: set[str] = set()
    for name in suite.ids():
        if name in seen:
            raise InputError(f"{folder}: id {name!r} is used twice")
        seen.add(name)
    if known_tools is not None:
        turns = [*suite.cases, *suite.injections, *(t for c in suite.conversations for t in c.turns)]
        for turn in turns:
            for call in turn.calls or []:
                if call.tool not in known_tools:
                    raise InputError(
                        f"{folder}: question {turn.q!r} expects unknown tool {call.tool!r}; "
                        f"known: {', '.join(sorted(known_tools))}"
                    )
    return suite
