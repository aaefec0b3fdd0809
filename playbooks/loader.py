"""Load playbooks in stages: structure → schema (pydantic, extra keys forbidden) → semantics.

Every error is one line naming the file, the playbook and the key path.
"""

from __future__ import annotations

import string
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from domain.errors import ConfigError, InputError
from gitops.yaml_patch import load_documents
from gitops.yaml_path import parse_path
from guardrails.registry import RULES
from playbooks.actions import ACTIONS
from playbooks.models import TITLE_FIELDS, Playbook

BUILTIN = Path(__file__).resolve().parent


def load_playbooks(folder: Path | None = None) -> dict[str, Playbook]:
    """Every ``*.yaml`` playbook of ``folder`` (default: the bundled ones) by name."""
    folder = folder or BUILTIN
    if not folder.is_dir():
        raise ConfigError(f"{folder}: playbook folder not found")
    out: dict[str, Playbook] = {}
    for file in sorted(folder.glob("*.yaml")):
        playbook = load_playbook(file)
        if playbook.name in out:
            raise ConfigError(
                f"{file.name}: playbook {playbook.name}: name already used by {out[playbook.name].source}"
            )
        out[playbook.name] = playbook
    if not out:
        raise ConfigError(f"{folder}: no playbooks (*.yaml)")
    return out


def load_playbook(file: Path) -> Playbook:
    data = _structure(file)
    name = str(data.get("name", file.stem))
    playbook = _schema(file, name, data)
    _semantics(file, playbook)
    return playbook.model_copy(update={"source": file.name})


def _structure(file: Path) -> dict[str, Any]:
    try:
        docs = load_documents(file.read_text(), file.name)
    except (InputError, OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{file.name}: {exc}") from exc
    if len(docs) != 1 or not isinstance(docs[0], dict):
        raise ConfigError(f"{file.name}: a playbook file holds one YAML mapping")
    if "source" in docs[0]:
        raise ConfigError(
            f"{file.name}: playbook {docs[0].get('name', file.stem)}: source: not a playbook key"
        )
    return docs[0]


def _schema(file: Path, name: str, data: dict[str, Any]) -> Playbook:
    try:
        return Playbook.model_validate(data)
    except ValidationError as exc:
        # An unknown key first: a typo also makes the intended key "missing", and the typo is the news.
        first = sorted(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")[0]
        key = ".".join(str(p) for p in first["loc"]) or "<root>"
        msg = "unknown key" if first["type"] == "extra_forbidden" else first["msg"]
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise ConfigError(f"{file.name}: playbook {name}: {key}: {msg}{more}") from exc


def _semantics(file: Path, pb: Playbook) -> None:
    def fail(key: str, msg: str) -> ConfigError:
        return ConfigError(f"{file.name}: playbook {pb.name}: {key}: {msg}")

    if pb.name != file.stem:
        raise fail("name", f"must match the file name {file.stem!r}")
    action = ACTIONS.get(pb.action)
    if action is None:
        raise fail("action", f"unknown action {pb.action!r}; valid: {', '.join(sorted(ACTIONS))}")
    if pb.detector not in action.kinds:
        raise fail(
            "detector",
            f"action {pb.action} handles {', '.join(k.value for k in action.kinds)}, not {pb.detector.value}",
        )
    try:
        action.options.model_validate(pb.options)
    except ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(["options", *(str(p) for p in err["loc"])])
        raise fail(key, "unknown key" if err["type"] == "extra_forbidden" else err["msg"]) from exc
    for i, rule in enumerate(pb.guardrails):
        if rule not in RULES:
            raise fail(f"guardrails.{i}", f"unknown guardrail {rule!r}; valid: {', '.join(sorted(RULES))}")
    for i, pattern in enumerate(pb.fields):
        try:
            parse_path(pattern.partition(":")[2] if ":" in pattern else pattern.removesuffix(".**"))
        except InputError as exc:
            raise fail(f"fields.{i}", str(exc)) from exc
    for field in action.writes:
        if field not in pb.fields and not any(f.endswith(":" + field) for f in pb.fields):
            raise fail("fields", f"action {pb.action} writes {field}, which the playbook does not declare")
    for key, template in (("pr.title", pb.pr.title), ("pr.increase_title", pb.pr.increase_title)):
        for _, placeholder, _, _ in string.Formatter().parse(template):
            if placeholder is not None and placeholder not in TITLE_FIELDS:
                raise fail(key, f"unknown placeholder {{{placeholder}}}; valid: {', '.join(TITLE_FIELDS)}")
