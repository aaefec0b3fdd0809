"""Rules on replica counts, autoscalers, disruption budgets and opted-out workloads."""

from __future__ import annotations

import math

from domain.changes import GuardrailResult, PlannedChange
from guardrails.context import ValidationContext
from guardrails.facts import ChangeFacts
from guardrails.rule import Rule, failed, not_applicable, passed


def prod_min_replicas(
    change: PlannedChange, ctx: ValidationContext, facts: ChangeFacts
) -> list[GuardrailResult]:
    rid = "prod-min-replicas"
    floor = ctx.policy.replicas.prod_min_replicas
    out: list[GuardrailResult] = []
    for rp in facts.replicas:
        wf = facts.workloads[rp.workload]
        if not wf.is_prod or rp.field == "maxReplicas" or rp.after is None:
            continue
        if rp.after < floor:
            out.append(
                failed(
                    rid,
                    f"{wf.key} is production: {rp.field} {rp.after} < minimum {floor}",
                    workload=wf.key,
                    proposed=rp.after,
                    minimum=floor,
                )
            )
        else:
            out.append(passed(rid, f"{wf.key}: {rp.field} {rp.after} ≥ {floor}"))
    return out or [not_applicable(rid, "no production replica change")]


def pdb_min_available(
    change: PlannedChange, ctx: ValidationContext, facts: ChangeFacts
) -> list[GuardrailResult]:
    rid = "pdb-min-available"
    out: list[GuardrailResult] = []
    for rp in facts.replicas:
        wf = facts.workloads[rp.workload]
        if rp.field == "maxReplicas" or rp.after is None or rp.after == 0:
            continue  # with no pods, a budget constrains nothing
        for pdb in wf.pdbs:
            raw = (pdb.data.get("spec") or {}).get("minAvailable")
            if raw is None:
                continue
            if isinstance(raw, str) and raw.endswith("%"):
                min_available = math.ceil(rp.after * float(raw[:-1]) / 100)
            else:
                min_available = int(raw)
            ev = {"workload": wf.key, "pdb": pdb.name, "min_available": min_available, "proposed": rp.after}
            if rp.after <= min_available:
                out.append(
                    failed(
                        rid,
                        f"{wf.key}: {rp.field} {rp.after} ≤ PodDisruptionBudget {pdb.name} minAvailable {raw}; no pod could ever be evicted",
                        **ev,
                    )
                )
            else:
                out.append(
                    passed(rid, f"{wf.key}: {rp.field} {rp.after} > PDB {pdb.name} minAvailable {raw}", **ev)
                )
    return out or [not_applicable(rid, "no PodDisruptionBudget on a changed replica count")]


def no_scale_to_zero_protected(
    change: PlannedChange, ctx: ValidationContext, facts: ChangeFacts
) -> list[GuardrailResult]:
    rid = "no-scale-to-zero-protected"
    out: list[GuardrailResult] = []
    for rp in facts.replicas:
        if rp.after != 0:
            continue
        wf = facts.workloads[rp.workload]
        if wf.protected or wf.is_prod:
            why = "protected namespace" if wf.protected else "production"
            out.append(
                failed(
                    rid,
                    f"{wf.key}: scale to zero in a {why} ({wf.namespace})",
                    workload=wf.key,
                    namespace=wf.namespace,
                )
            )
        else:
            out.append(passed(rid, f"{wf.key}: scale to zero in non-production namespace {wf.namespace}"))
    return out or [not_applicable(rid, "no scale to zero")]


def _opted_out(labels: object, label: str) -> bool:
    return isinstance(labels, dict) and str(labels.get(label, "")).lower() == "true"


def opt_out(change: PlannedChange, ctx: ValidationContext, facts: ChangeFacts) -> list[GuardrailResult]:
    rid = "opt-out"
    label = ctx.policy.opt_out_label
    flagged = {wf.key: wf for wf in facts.workloads.values() if _opted_out(wf.labels, label)}
    out = [
        failed(
            rid, f'{key} is labelled {label}: "true"; costpilot must not change it', workload=key, label=label
        )
        for key in sorted(flagged)
    ]
    # A changed document that carries the label itself (a workload the repo lookup missed).
    names = {f"{wf.kind}/{wf.name}" for wf in flagged.values()}
    by_file = {f.path: f for f in facts.files}
    for file, doc in sorted({(leaf.file, leaf.doc) for leaf in facts.leaves}):
        docs = by_file[file].after or []
        data = docs[doc] if doc < len(docs) else None
        meta = data.get("metadata") if isinstance(data, dict) else None
        if isinstance(meta, dict) and _opted_out(meta.get("labels"), label):
            name = f"{data.get('kind')}/{meta.get('name')}"
            if name not in names:
                out.append(failed(rid, f'{file}: {name} is labelled {label}: "true"', file=file, label=label))
    return out or [
        passed(rid, f'no touched workload carries {label}: "true"', workloads=sorted(facts.workloads))
    ]


def hpa_min_replicas_only(
    change: PlannedChange, ctx: ValidationContext, facts: ChangeFacts
) -> list[GuardrailResult]:
    rid = "hpa-min-replicas-only"
    out: list[GuardrailResult] = []
    for rp in facts.replicas:
        wf = facts.workloads[rp.workload]
        if rp.field == "replicas" and wf.hpas:
            names = [h.name for h in wf.hpas]
            out.append(
                failed(
                    rid,
                    f"{wf.key} is scaled by HPA {', '.join(names)}: change its minReplicas, never spec.replicas",
                    workload=wf.key,
                    hpa=names,
                )
            )
        elif rp.field == "replicas":
            out.append(passed(rid, f"{wf.key}: no HorizontalPodAutoscaler targets it"))
    return out or [not_applicable(rid, "no spec.replicas change")]


RULES = (
    Rule("prod-min-replicas", "production keeps at least the minimum replicas", prod_min_replicas),
    Rule(
        "pdb-min-available", "replicas stay above the PodDisruptionBudget's minAvailable", pdb_min_available
    ),
    Rule(
        "no-scale-to-zero-protected",
        "no scale to zero in protected or production namespaces",
        no_scale_to_zero_protected,
    ),
    Rule("opt-out", 'workloads labelled costpilot.io/opt-out: "true" are never changed', opt_out, True),
    Rule(
        "hpa-min-replicas-only",
        "HPA-targeted workloads: change minReplicas, never replicas",
        hpa_min_replicas_only,
    ),
)
