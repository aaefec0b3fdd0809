"""``costpilot review``: the monthly cost delta and the policy verdicts of any change to the
GitOps repository (a human's pull request, a release), in the manner of Infracost.

Base and head are read from git exactly as committed (``gitops.refs``) and modelled by the one
repository model, so workloads are priced as each namespace deploys them. The company's Rego
policies and ``.costpilot/policy.yaml`` come from the **base**: a change cannot delete or weaken
the policy that judges it.
"""

from __future__ import annotations

import tempfile
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from domain.changes import FileChange, PlannedChange, Verdict
from domain.errors import ConfigError, InputError
from gitops.diff import unified_diff
from gitops.refs import TreeAt, changed_paths, export_tree, read_blobs, resolve_commit, tree_at
from gitops.repo import GitOpsRepo
from services.deps import Deps
from services.review_llm import model_deltas, price_evidence, routed_models
from services.review_models import ModelDelta, ModelPriceEvidence, PriceEvidence, ReviewRequest, ReviewResult
from services.review_workloads import priced_workloads, workload_deltas
from tools.manifest_costs import NodePrices

if TYPE_CHECKING:
    from gitops.forges.github_comments import CommentResult

# Built-in guardrails that judge a person's change (the rest judge costpilot's own proposals:
# declared fields, evidence, cooldown, cost must fall …). Rego policies always run.
REVIEW_RULES: tuple[str, ...] = (
    "path-inside-repo",
    "yaml-safe",
    "k8s-schema",
    "no-secrets",
    "requests-within-limits",
    "limit-request-ratio",
    "prod-min-replicas",
    "pdb-min-available",
    "no-scale-to-zero-protected",
    "model-allow-list",
    "model-context-window",
    "model-quality-tier",
)
YAML_SUFFIXES = (".yaml", ".yml")


def review(request: ReviewRequest, deps: Deps) -> ReviewResult:
    """Cost delta per workload and model route, guardrails and Rego on the changed documents."""
    repo = deps.require_checkout("costpilot review")
    base_sha = resolve_commit(repo, request.base, "--base")
    head_sha = resolve_commit(repo, request.head, "--head")
    base_tree, head_tree = tree_at(repo, base_sha), tree_at(repo, head_sha)
    with tempfile.TemporaryDirectory(prefix="costpilot-review-") as tmp:
        base_dir, head_dir = Path(tmp) / "base", Path(tmp) / "head"
        for tree, folder in ((base_tree, base_dir), (head_tree, head_dir)):
            folder.mkdir()
            export_tree(repo, tree, folder)
        return _review(request, deps, repo, (base_tree, base_dir), (head_tree, head_dir))


def _node_prices(request: ReviewRequest, deps: Deps) -> NodePrices:
    from tools.rightsizing.service import unit_prices

    unit = unit_prices(deps.warehouse_path, deps.node_prices)
    return NodePrices(
        usd_per_vcpu_hour=unit.usd_per_vcpu_hour,
        usd_per_gib_hour=unit.usd_per_gib_hour,
        usd_per_gpu_hour=request.usd_per_gpu_hour,
        source=unit.source.value,
        detail=unit.detail,
    )


def _review(
    request: ReviewRequest, deps: Deps, repo: Path, base: tuple[TreeAt, Path], head: tuple[TreeAt, Path]
) -> ReviewResult:
    from guardrails.context import ValidationContext
    from guardrails.policy import load_policy
    from guardrails.registry import RULES
    from guardrails.rego import load_policies
    from guardrails.validate import validate_with

    (base_tree, base_dir), (head_tree, head_dir) = base, head
    # The base decides: its policy.yaml and its Rego policies (a broken one is exit 2).
    policy = load_policy(base_dir)
    policies = load_policies(base_dir)
    base_index, head_index = GitOpsRepo.load(base_dir), GitOpsRepo.load(head_dir)
    notes = [*base_tree.notes, *head_tree.notes]
    changed = changed_paths(base_tree, head_tree)
    own = [p for p in changed if p.startswith(".costpilot/")]
    if own:
        notes.append(
            f"the change edits {', '.join(own)}: policies apply once merged; this review used the base's"
        )

    prices = _node_prices(request, deps)
    cost_notes: list[str] = []
    workloads = workload_deltas(
        priced_workloads(base_index, request, cost_notes),
        priced_workloads(head_index, request, cost_notes),
        prices,
    )
    notes += sorted(set(cost_notes))
    if any(w.gpus_unpriced for w in workloads):
        notes.append("GPUs are not priced: no GPU price given (--gpu-price USD per GPU-hour)")

    models, model_evidence, window = _models(request, deps, base_index, head_index)

    change = _planned_change(repo, base_tree, head_tree, changed)
    ctx = ValidationContext(policy=policy, now=deps.clock(), repo=base_dir, index=base_index)
    report = validate_with(change, ctx, [RULES[r] for r in REVIEW_RULES], policies)

    before = sum((w.monthly_before for w in workloads), Decimal(0)) + sum(
        (m.monthly_before for m in models), Decimal(0)
    )
    after = sum((w.monthly_after for w in workloads), Decimal(0)) + sum(
        (m.monthly_after for m in models), Decimal(0)
    )
    verdict = (
        "block"
        if not report.passed
        else "warn"
        if any(r.verdict is Verdict.warn for r in report.results)
        else "pass"
    )
    return ReviewResult(
        base=request.base,
        head=request.head,
        base_commit=base_tree.commit,
        head_commit=head_tree.commit,
        changed_files=changed,
        workloads=workloads,
        models=models,
        monthly_before=before,
        monthly_after=after,
        monthly_delta=after - before,
        verdict=verdict,
        report=report,
        prices=PriceEvidence(
            usd_per_vcpu_hour=prices.usd_per_vcpu_hour,
            usd_per_gib_hour=prices.usd_per_gib_hour,
            usd_per_gpu_hour=prices.usd_per_gpu_hour,
            node_source=prices.source,
            node_detail=prices.detail,
            gpu_source="--gpu-price" if prices.usd_per_gpu_hour is not None else None,
            token_window=window,
            models=model_evidence,
        ),
        notes=notes,
    )


def _models(
    request: ReviewRequest, deps: Deps, base_index: GitOpsRepo, head_index: GitOpsRepo
) -> tuple[list[ModelDelta], list[ModelPriceEvidence], str | None]:
    """Routing changes priced from the last ``token_days`` of token volumes (the day before
    ``--as-of``, else the newest LLM row, ends the window)."""
    from warehouse.llm_volumes import TokenVolume, llm_data_end, token_volumes
    from warehouse.prices import ModelPrice, find_price

    before, after = routed_models(base_index.routing), routed_models(head_index.routing)
    if before == after:
        return [], [], None
    path = deps.warehouse_path
    end = (
        deps.today - timedelta(days=1)
        if deps.settings.as_of
        else (llm_data_end(path) if path.exists() else None)
    )
    volumes: list[TokenVolume] = []
    window = None
    if end is not None:
        start = end - timedelta(days=request.token_days - 1)
        volumes = token_volumes(path, start, end)
        window = f"{start}..{end} ({request.token_days} days)"
    overrides = deps.settings.prices

    def price_of(model: str) -> ModelPrice | None:
        return find_price(model, overrides)

    rows = model_deltas(before, after, volumes, price_of, request.token_days)
    used = [m for r in rows for m in (r.model_before, r.model_after) if m]
    return rows, price_evidence(used, price_of), window


def _planned_change(repo: Path, base: TreeAt, head: TreeAt, changed: list[str]) -> PlannedChange:
    """The change as a ``PlannedChange`` of its YAML files (text before and after; "" = absent)."""
    yaml_paths = [p for p in changed if p.endswith(YAML_SUFFIXES) and not p.startswith(".costpilot/")]
    blobs = sorted({t.entries[p].blob for t in (base, head) for p in yaml_paths if p in t.entries})
    contents = read_blobs(repo, blobs)
    files = []
    for path in yaml_paths:
        texts = []
        for tree in (base, head):
            entry = tree.entries.get(path)
            raw = contents.get(entry.blob, b"") if entry else b""
            try:
                texts.append(raw.decode("utf-8"))
            except UnicodeDecodeError:
                raise ConfigError(f"{path}: not UTF-8 text at {tree.commit[:12]}") from None
        files.append(FileChange(path=path, before=texts[0], after=texts[1]))
    return PlannedChange(
        playbook="review",
        target_slug=head.commit[:12],
        title=f"review {base.commit[:12]}..{head.commit[:12]}",
        findings=[],
        files=files,
        diff=unified_diff(files),
        base_sha=base.commit,
    )


def post_review(
    result: ReviewResult, deps: Deps, *, pr: int | None = None, only_if_cost_increases: bool = False
) -> CommentResult:
    """Write the review as the one costpilot comment of the pull request (GitHub forge only):
    created once, then edited in place, left alone when byte-identical. With
    ``only_if_cost_increases`` no comment is created unless the monthly cost goes up (an existing
    one is still updated, so it never shows stale numbers)."""
    from gitops.forges.github_comments import GitHubComments
    from services import remediation  # forge_config is looked up on the package: the seam tests replace
    from services.review_render import MARKER, render_markdown

    if deps.settings.forge != "github":
        raise InputError(
            f"--post needs the GitHub forge (COSTPILOT_FORGE=github; it is {deps.settings.forge!r})"
        )
    comments = GitHubComments(remediation.forge_config(deps.settings))
    create = not only_if_cost_increases or result.monthly_delta > 0
    return comments.upsert_comment(
        render_markdown(result), MARKER, number=pr, head=result.head, create=create
    )
