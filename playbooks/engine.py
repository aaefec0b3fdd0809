"""From findings to planned changes (dry run: reads the repository, writes nothing).

Findings are matched to the playbook of their detector, grouped by target (one PR per
workload, namespace or feature, as the playbook says), split to respect the policy's blast
radius, and each group's edits are applied to the file texts in memory.
"""

from __future__ import annotations

import re
import subprocess
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from domain.changes import FileChange, PlannedChange
from domain.errors import InputError
from domain.findings import Finding
from domain.quantity import format_cpu, format_memory, parse_quantity
from gitops.diff import unified_diff
from gitops.repo import GitOpsRepo
from gitops.repo_files import read_repo_file
from gitops.yaml_patch import (
    FieldEdit,
    append_to_list,
    load_documents,
    new_document,
    resolve_in_repo,
    set_fields,
)
from gitops.yaml_path import MISSING, doc_selector, get_value, parse_path
from guardrails.context import finding_key
from guardrails.policy import Policy
from playbooks.actions import ACTIONS, PlannedEdit, PlanSkip
from playbooks.models import Playbook
from playbooks.steps import is_reliability, raises_any, raises_cost, reliability_reasons, step_finding


@dataclass
class PlanResult:
    """Planned changes, and each finding that produced none with the reason."""

    changes: list[PlannedChange] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (finding id, reason)


def plan_changes(
    findings: list[Finding], repo: Path, playbooks: dict[str, Playbook], policy: Policy
) -> list[PlannedChange]:
    """One ``PlannedChange`` per target group (see ``plan``); findings that cannot be planned
    are left out (``plan`` reports why)."""
    return plan(findings, repo, playbooks, policy).changes


def plan(
    findings: list[Finding],
    repo: Path,
    playbooks: dict[str, Playbook],
    policy: Policy,
    index: GitOpsRepo | None = None,
) -> PlanResult:
    result = PlanResult()
    index = index or GitOpsRepo.load(repo)
    by_kind = {pb.detector: pb for pb in sorted(playbooks.values(), key=lambda p: p.name, reverse=True)}
    groups: dict[tuple[str, str], list[tuple[Finding, list[PlannedEdit]]]] = defaultdict(list)
    for finding in sorted(findings, key=lambda f: (f.kind.value, finding_key(f), f.id)):
        pb = by_kind.get(finding.kind)
        if pb is None:
            result.skipped.append((finding.id, f"no playbook consumes {finding.kind.value} findings"))
            continue
        action = ACTIONS[pb.action]
        finding = step_finding(finding, policy)  # a cut beyond the step limit: the largest allowed step
        try:
            edits = action.plan(
                finding, index, pb, action.options.model_validate(pb.options), policy.is_production
            )
        except (PlanSkip, InputError) as exc:  # InputError: an unreadable/unsafe file in the repo
            result.skipped.append((finding.id, str(exc)))
            continue
        # An action may re-price its finding (e.g. pods an HPA or a PDB keeps off hours).
        finding = edits[0].finding if edits else finding
        key = _group_key(pb, finding)
        if pb.grouping == "namespace" and any(e.location.source.startswith("helm") for e in edits):
            # A chart's values file names no container: the guardrails could not tell which
            # workload a value belongs to in a group, so a Helm-defined workload is its own PR.
            key = f"{key}-{finding.target.get('workload', '?')}"
        groups[(pb.name, key)].append((finding, edits))
    base_sha = _head(repo)
    for (name, key), members in sorted(_cluster_qualified(groups).items()):
        for n, chunk in enumerate(_chunks(members, policy, index), start=1):
            slug = _slug(key) + (f"-{n}" if n > 1 else "")
            change = _build(repo, index, playbooks[name], slug, chunk, base_sha, result)
            if change is not None:
                result.changes.append(change)
    return result


# Separates a namespace's reliability increases from its savings: each is its own PR.
RELIABILITY_SUFFIX = "reliability"
_CLUSTER_SEP = "\x00"


def _group_key(pb: Playbook, finding: Finding) -> str:
    t = finding.target
    if pb.grouping == "feature" or "feature" in t and "workload" not in t:
        return f"feature-{t.get('feature', '?')}"
    if pb.grouping == "namespace":
        key = f"{t.get('cluster', '')}{_CLUSTER_SEP}{t.get('namespace', '?')}"
        return f"{key}-{RELIABILITY_SUFFIX}" if is_reliability(finding) else key
    return f"{t.get('namespace', '?')}-{t.get('kind', 'deployment')}-{t.get('workload', '?')}"


def _cluster_qualified(groups: dict[tuple[str, str], Any]) -> dict[tuple[str, str], Any]:
    """Namespace groups keyed by the namespace alone (branch ``costpilot/<playbook>/<namespace>``);
    the cluster is kept in front only when one playbook sees the namespace in several clusters."""
    clusters: dict[tuple[str, str], set[str]] = defaultdict(set)
    for name, key in groups:
        if _CLUSTER_SEP in key:
            cluster, _, ns = key.partition(_CLUSTER_SEP)
            clusters[(name, ns.removesuffix(f"-{RELIABILITY_SUFFIX}"))].add(cluster)
    out: dict[tuple[str, str], Any] = {}
    for (name, key), members in groups.items():
        if _CLUSTER_SEP in key:
            cluster, _, ns = key.partition(_CLUSTER_SEP)
            several = len(clusters[(name, ns.removesuffix(f"-{RELIABILITY_SUFFIX}"))]) > 1
            key = f"{cluster}-{ns}" if several and cluster else ns
        out[(name, key)] = members
    return out


def _chunks(
    members: list[tuple[Finding, list[PlannedEdit]]], policy: Policy, index: GitOpsRepo
) -> list[list[tuple[Finding, list[PlannedEdit]]]]:
    """Split a group so no PR exceeds the blast radius (workloads and files), counting workloads
    the way the blast-radius guardrail does: a shared base edits every overlay that renders it."""
    limit = policy.blast_radius
    out: list[list[tuple[Finding, list[PlannedEdit]]]] = []
    current: list[tuple[Finding, list[PlannedEdit]]] = []
    for member in members:
        trial = [*current, member]
        files = {e.location.path for _, edits in trial for e in edits}
        workloads = len({finding_key(f) for f, _ in trial}) + sum(
            max(len(index.renderings_of(path)) - 1, 0) for path in files
        )
        if current and (workloads > limit.max_workloads_per_pr or len(files) > limit.max_files_per_pr):
            out.append(current)
            trial = [member]
        current = trial
    if current:
        out.append(current)
    return out


def _build(
    repo: Path,
    index: GitOpsRepo,
    pb: Playbook,
    slug: str,
    members: list[tuple[Finding, list[PlannedEdit]]],
    base_sha: str | None,
    result: PlanResult,
) -> PlannedChange | None:
    per_file: dict[str, list[PlannedEdit]] = defaultdict(list)
    for _, edits in members:
        for edit in edits:
            per_file[edit.location.path].append(edit)
    files: list[FileChange] = []
    listed: dict[str, list[str]] = defaultdict(list)  # kustomization file → new patch files to list
    try:
        for path, edits in sorted(per_file.items()):
            target = resolve_in_repo(repo, path)
            if edits[0].location.new_patch_of and not target.exists():
                files.append(_new_patch(index, path, edits))
                kustomization = edits[0].location.kustomization
                if kustomization:
                    listed[kustomization].append(path)
                continue
            # The text the model read (and safety-checked); a file it skipped is read (and
            # refused) through the same guards.
            before = index.text_of(path)
            before = before if before is not None else read_repo_file(repo, path)
            known = index.parsed(path, before)  # parsed and safety-checked when indexed
            docs = known if known is not None else load_documents(before, path)
            field_edits = [fe for fe in (_field_edit(e, docs) for e in edits) if fe is not None]
            if not field_edits:
                continue
            after = set_fields(before, field_edits, path, checked=True)
            changed = [_changed_name(docs, fe) for fe in field_edits]
            files.append(FileChange(path=path, before=before, after=after, changed_fields=changed))
        for kustomization, new_files in sorted(listed.items()):
            files.append(_list_patches(repo, kustomization, new_files))
    except (InputError, OSError, UnicodeDecodeError) as exc:
        for finding, _ in members:
            result.skipped.append((finding.id, str(exc)))
        return None
    findings = [f for f, _ in members]
    if not files:
        result.skipped.extend((f.id, "already at the proposed values") for f in findings)
        return None
    now = sum((f.monthly_cost_now for f in findings), Decimal(0))
    after_cost = sum((f.monthly_cost_after for f in findings), Decimal(0))
    reliability = after_cost > now or any(is_reliability(f) for f in findings)
    return PlannedChange(
        playbook=pb.name,
        target_slug=slug,
        title=_title(pb, findings, increase=reliability),
        cost_increase_reason=_increase_reason(findings) if reliability else None,
        findings=findings,
        files=files,
        diff=unified_diff(files),
        allowed_fields=list(pb.fields),
        monthly_cost_now=now,
        monthly_cost_after=after_cost,
        base_sha=base_sha,
    )


def _new_patch(index: GitOpsRepo, path: str, edits: list[PlannedEdit]) -> FileChange:
    """A new strategic-merge patch file setting the edited fields of one workload."""
    kind, _, name = (edits[0].location.new_patch_of or "/").partition("/")
    obj = next((o for o in index.objects_of(kind) if o.name == name), None)
    api_version = obj.data.get("apiVersion", "apps/v1") if obj else "apps/v1"
    values = [(e.location.field, fe.value) for e in edits if (fe := _field_edit(e, [])) is not None]
    header = {"apiVersion": api_version, "kind": kind, "metadata": {"name": name}}
    after = "# costpilot: overrides for this overlay only (the base is shared with production)\n"
    after += new_document(header, values)
    changed = [f"{kind}/{name}:{field}" for field, _ in values]
    return FileChange(path=path, before="", after=after, changed_fields=changed)


def _list_patches(repo: Path, kustomization: str, new_files: list[str]) -> FileChange:
    """The overlay's kustomization with the new patch files appended to ``patches``."""
    before = read_repo_file(repo, kustomization)
    data = (load_documents(before, kustomization) or [None])[0] or {}
    folder = Path(kustomization).parent
    after = before
    for new in new_files:
        rel = Path(new).relative_to(folder).as_posix()
        if "patchesStrategicMerge" in data and "patches" not in data:
            after = append_to_list(after, 0, "patchesStrategicMerge", rel, kustomization)
        else:
            after = append_to_list(after, 0, "patches", {"path": rel}, kustomization)
    return FileChange(path=kustomization, before=before, after=after, changed_fields=["patches"])


def _field_edit(edit: PlannedEdit, docs: list[Any]) -> FieldEdit | None:
    """The text value for an edit, formatted like the value it replaces; None when unchanged."""
    loc = edit.location
    current = get_value(docs[loc.doc], parse_path(loc.field)) if loc.doc < len(docs) else MISSING
    like = None if current is MISSING else current
    value: Any
    if edit.unit == "cpu":
        value = format_cpu(Decimal(str(edit.value)), like)
        same = like is not None and _quantity_equal(like, value)
    elif edit.unit == "memory":
        value = format_memory(int(edit.value), like)
        same = like is not None and _quantity_equal(like, value)
    else:
        value = edit.value
        same = like == value
    return None if same else FieldEdit(loc.doc, loc.field, value)


def _quantity_equal(a: Any, b: Any) -> bool:
    try:
        return parse_quantity(a) == parse_quantity(b)
    except InputError:
        return False


def _changed_name(docs: list[Any], fe: FieldEdit) -> str:
    selector = doc_selector(docs[fe.doc]) if fe.doc < len(docs) else None
    return f"{selector}:{fe.path}" if selector else fe.path


def _title(pb: Playbook, findings: list[Finding], *, increase: bool = False) -> str:
    first = findings[0].target
    values = {
        k: first.get(k, "") for k in ("namespace", "kind", "workload", "container", "feature", "cluster")
    }
    workloads = sorted({finding_key(f) for f in findings})
    values |= {
        "playbook": pb.name,
        "count": str(len(findings)),
        "workloads": str(len(workloads)),
        "subject": first.get("workload", "") if len(workloads) == 1 else f"{len(workloads)} workloads",
        "model": str(findings[0].proposed.get("model", "")),
    }
    template = pb.pr.increase_title if increase and pb.pr.increase_title else pb.pr.title
    return template.format(**values)


def _increase_reason(findings: list[Finding]) -> str | None:
    """The label of a cost increase: each raising workload's reliability evidence; None when
    any raise lacks one (an unexplained increase stays blocked by ``lowers-cost``)."""
    parts = []
    for f in findings:
        if not raises_cost(f) and not raises_any(f):
            continue
        reasons = reliability_reasons(f)
        if not reasons:
            return None
        t = f.target
        parts.append(f"{t.get('workload', '?')}/{t.get('container', '?')}: {', '.join(reasons)}")
    return "reliability: " + "; ".join(parts) if parts else None


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60] or "target"


def _head(repo: Path) -> str | None:
    """The commit the patch is made on, when the repo is a git checkout."""
    if not (repo / ".git").exists():
        return None
    try:
        out = subprocess.run(
            ["git", "-C", str(repo), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    sha = out.stdout.strip()
    return sha if out.returncode == 0 and re.fullmatch(r"[0-9a-f]{40}", sha) else None
