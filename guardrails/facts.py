"""What a change really does, computed from the parsed files before and after it.

Validators judge these facts, never the playbook's own account of the change: the changed
fields come from comparing parsed documents (``guardrails.parse_diff``), their meaning from the
classifiers by name (``guardrails.classify``), and each workload's context — labels, HPAs, PDBs,
environment — from the one repository model (``guardrails.workload_context``).
"""

from __future__ import annotations

from domain.changes import PlannedChange
from guardrails.classify import CLASSIFIERS, LeafContext, classify
from guardrails.context import ValidationContext
from guardrails.fact_types import (
    ChangeFacts,
    FileFacts,
    Leaf,
    ModelChange,
    ReplicaChange,
    ResourceChange,
    WorkloadFacts,
)
from guardrails.parse_diff import changed_leaves, parse_files
from guardrails.workload_context import finding_workloads

__all__ = [
    "CLASSIFIERS",
    "ChangeFacts",
    "FileFacts",
    "Leaf",
    "ModelChange",
    "ReplicaChange",
    "ResourceChange",
    "WorkloadFacts",
    "build_facts",
]


def build_facts(change: PlannedChange, ctx: ValidationContext) -> ChangeFacts:
    """Parse, diff and classify ``change``; every workload its findings name is in ``workloads``."""
    facts = ChangeFacts(files=parse_files(change, ctx))
    facts.leaves = changed_leaves(facts.files)
    finding_workloads(facts, ctx, change)
    by_file = {ff.path: ff for ff in facts.files}
    for leaf in facts.leaves:
        ff = by_file[leaf.file]
        before = ff.before[leaf.doc] if ff.before and leaf.doc < len(ff.before) else None
        after = ff.after[leaf.doc] if ff.after and leaf.doc < len(ff.after) else None
        classify(LeafContext(facts, ctx, change, leaf, before, after))
    return facts
