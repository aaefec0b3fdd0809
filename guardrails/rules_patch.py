"""Rules on the patch itself: where it writes, that it parses and validates, what it touches."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from domain.changes import GuardrailResult, PlannedChange
from gitops.targets import ROUTING_FILE
from gitops.yaml_path import pattern_matches
from guardrails.context import ValidationContext
from guardrails.facts import ChangeFacts
from guardrails.k8s_schema import has_schema, validate_object
from guardrails.rule import Rule, failed, passed
from guardrails.secrets import scan_diff


def path_inside_repo(
    change: PlannedChange, ctx: ValidationContext, facts: ChangeFacts
) -> list[GuardrailResult]:
    bad = [f for f in facts.files if f.path_error]
    if bad:
        return [failed("path-inside-repo", f.path_error or "", file=f.path) for f in bad]
    return [
        passed(
            "path-inside-repo",
            f"{len(facts.files)} file(s) inside the repository",
            files=[f.path for f in facts.files],
        )
    ]


def yaml_safe(change: PlannedChange, ctx: ValidationContext, facts: ChangeFacts) -> list[GuardrailResult]:
    bad = [f for f in facts.files if f.unsafe]
    if bad:
        return [failed("yaml-safe", f.unsafe or "", file=f.path) for f in bad]
    return [passed("yaml-safe", "no anchors, aliases or merge keys; sizes within limits")]


def patch_parses(change: PlannedChange, ctx: ValidationContext, facts: ChangeFacts) -> list[GuardrailResult]:
    out = [failed("patch-parses", f.parse_error or "", file=f.path) for f in facts.files if f.parse_error]
    for f in facts.files:
        if f.before is not None and f.after is not None and len(f.before) != len(f.after):
            out.append(
                failed(
                    "patch-parses",
                    f"{f.path}: document count changed {len(f.before)} → {len(f.after)}",
                    file=f.path,
                )
            )
    if not change.files:
        out.append(failed("patch-parses", "the change has no files"))
    return out or [passed("patch-parses", "every file parses before and after; document count kept")]


class _RoutingModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    tier: str | int
    context_window: int


class _RoutingFeature(BaseModel):
    model_config = ConfigDict(extra="forbid")
    model: str
    min_tier: str | int | None = None
    min_context: int | None = None
    team: str | None = None


class _Routing(BaseModel):
    model_config = ConfigDict(extra="forbid")
    models: dict[str, _RoutingModel]
    features: dict[str, _RoutingFeature]


def k8s_schema(change: PlannedChange, ctx: ValidationContext, facts: ChangeFacts) -> list[GuardrailResult]:
    version = ctx.policy.kubernetes_version
    index = ctx.repo_index()
    patch_files = index.patch_files | new_patch_files(change, facts)
    out: list[GuardrailResult] = []
    checked, unchecked = 0, []
    for f in facts.files:
        if f.after is None:
            continue
        if f.path == ROUTING_FILE:
            try:
                _Routing.model_validate(f.after[0] if f.after else None)
                checked += 1
            except ValidationError as exc:
                err = exc.errors()[0]
                where = ".".join(str(p) for p in err["loc"])
                out.append(failed("k8s-schema", f"{f.path}: {where}: {err['msg']}", file=f.path))
            continue
        for i, doc in enumerate(f.after):
            if doc is None:
                continue
            errors = validate_object(doc, version, partial=f.path in patch_files)
            if has_schema(doc, version):
                checked += 1
            elif isinstance(doc, dict) and "kind" in doc:
                unchecked.append(f"{f.path}#{i} {doc.get('apiVersion')}/{doc.get('kind')}")
            for e in errors:
                out.append(failed("k8s-schema", f"{f.path} document #{i}: {e}", file=f.path, doc=i))
    if out:
        return out
    return [
        passed(
            "k8s-schema",
            f"{checked} document(s) valid against the Kubernetes {version} schema",
            validated=checked,
            no_schema=unchecked,
        )
    ]


def declared_fields_only(
    change: PlannedChange, ctx: ValidationContext, facts: ChangeFacts
) -> list[GuardrailResult]:
    if not facts.parsed:
        return [failed("declared-fields-only", "cannot compare: a file does not parse")]
    new_files = {f.path for f in change.files if f.before == ""}
    listing = _patch_listings(change, facts, new_files)
    stray = [
        f"{leaf.file}: {leaf.selector + ':' if leaf.selector else ''}{leaf.path}"
        for leaf in facts.leaves
        if (leaf.file, leaf.path) not in listing
        and (
            not any(pattern_matches(p, leaf.selector, leaf.path) for p in change.allowed_fields)
            or leaf.path.startswith("#")
        )
    ]
    out = [failed("declared-fields-only", f"changes an undeclared field: {s}", field=s) for s in stray]
    by_path = {fc.path: fc for fc in change.files}
    for f in facts.files:
        fc = by_path[f.path]
        lost = _comments(fc.before) - _comments(fc.after)
        if lost:
            out.append(
                failed(
                    "declared-fields-only", f"{f.path}: the patch drops comments", comments=sorted(lost)[:5]
                )
            )
    if not facts.leaves and change.files:
        out.append(failed("declared-fields-only", "the patch changes no field (formatting or comments only)"))
    if out:
        return out
    return [
        passed(
            "declared-fields-only",
            f"{len(facts.leaves)} changed field(s), all declared by the playbook",
            fields=[f"{leaf.file}: {leaf.path}" for leaf in facts.leaves],
        )
    ]


_LISTS = ("patches", "patchesStrategicMerge")


def _patch_listings(change: PlannedChange, facts: ChangeFacts, new_files: set[str]) -> set[tuple[str, str]]:
    """Kustomization ``patches`` changes that only append entries naming patch files this change
    creates: implied by a new overlay patch, so allowed without being declared."""
    ok: set[tuple[str, str]] = set()
    for f in facts.files:
        if (
            Path(f.path).name not in ("kustomization.yaml", "kustomization.yml")
            or not f.before
            or not f.after
        ):
            continue
        for key in _LISTS:
            old = (f.before[0] or {}).get(key) or [] if isinstance(f.before[0], dict) else []
            new = (f.after[0] or {}).get(key) or [] if isinstance(f.after[0], dict) else []
            if old == new or new[: len(old)] != old:
                continue
            added = [e.get("path") if isinstance(e, dict) else e for e in new[len(old) :]]
            folder = Path(f.path).parent
            if all(isinstance(a, str) and (folder / a).as_posix() in new_files for a in added):
                ok.add((f.path, key))
    return ok


def new_patch_files(change: PlannedChange, facts: ChangeFacts) -> set[str]:
    """New files that a changed kustomization lists as patches (partial objects)."""
    new_files = {f.path for f in change.files if f.before == ""}
    listed = {
        (Path(file).parent / "x").parent.as_posix() + "/"
        for file, _ in _patch_listings(change, facts, new_files)
    }
    return {n for n in new_files if any(n.startswith(folder) for folder in listed)}


def _comments(text: str) -> set[str]:
    return {m.group(0).strip() for m in re.finditer(r"(?m)(?:^|\s)#.*$", text)}


def no_secrets(change: PlannedChange, ctx: ValidationContext, facts: ChangeFacts) -> list[GuardrailResult]:
    hits = scan_diff(change.diff, ctx.policy.secrets)
    if hits:
        return [
            failed(
                "no-secrets",
                f"{h.file}:{h.line}: looks like a secret ({h.kind}): {h.preview}",
                file=h.file,
                line=h.line,
                kind=h.kind,
            )
            for h in hits
        ]
    added = sum(1 for line in change.diff.splitlines() if line.startswith("+") and not line.startswith("+++"))
    return [passed("no-secrets", f"{added} added line(s) scanned; no token shapes or high-entropy strings")]


RULES = (
    Rule(
        "path-inside-repo",
        "every target path stays inside the repository (no ../, no symlink escape)",
        path_inside_repo,
        True,
    ),
    Rule("yaml-safe", "no YAML anchors/aliases/merge keys (alias bombs), bounded size", yaml_safe, True),
    Rule("patch-parses", "every patched file parses; no document added or removed", patch_parses, True),
    Rule("k8s-schema", "every Kubernetes document validates against the offline schema", k8s_schema, True),
    Rule(
        "declared-fields-only",
        "the parsed diff touches only the playbook's declared fields; comments kept",
        declared_fields_only,
        True,
    ),
    Rule("no-secrets", "no token patterns or high-entropy strings in added lines", no_secrets, True),
)
