"""Drive a preset over streamed samples and price the result.

``recommend`` is the one entry point: chunks in (from the warehouse table or a Parquet file),
a RightsizeResult out. What the GitOps repository declares (current requests and limits,
container types, HPA-scaled resources) comes in as ``domain.manifests.ManifestFacts``, made by
the repository model; this module never reads the repository.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import Any

from domain.errors import DataError
from domain.findings import Severity
from domain.manifests import ContainerRef, ManifestContainer, ManifestFacts, WorkloadRef
from domain.money import round_cents
from domain.provenance import Provenance
from tools.rightsizing.accumulate import CommonStats
from tools.rightsizing.common import PresetEngine, Proposal, ResourceProposal
from tools.rightsizing.models import Recommendation, Resources, RightsizeResult, UnitPrices, proposed_values
from tools.rightsizing.registry import build_settings, get_preset
from warehouse.utilization_series import ChunkSource, NotContiguous, SeriesChunk

HOURS_PER_MONTH = Decimal(730)
GIB = Decimal(1024**3)
# Gap → severity (KRR grades by absolute difference): CPU in cores, memory in GiB.
SEVERITY_STEPS: tuple[tuple[Decimal, Severity], ...] = (
    (Decimal("1"), Severity.critical),
    (Decimal("0.5"), Severity.high),
    (Decimal("0.25"), Severity.medium),
    (Decimal("0.1"), Severity.low),
)


__all__ = ["ContainerRef", "ManifestContainer", "ManifestFacts", "WorkloadRef", "monthly_cost", "recommend"]


def _fold(source: ChunkSource, engine: PresetEngine) -> CommonStats:
    common = CommonStats()
    chunks: Iterator[SeriesChunk] = source(False)
    for chunk in chunks:
        cidx = common.add(chunk)
        engine.add(chunk, cidx, common)
    return common


def _dec(value: float) -> Decimal | None:
    return None if math.isnan(value) else Decimal(repr(round(float(value), 9))).normalize()


def _current(common: CommonStats, row: int, manifest: ManifestContainer | None) -> Resources:
    t = common.t
    cpu_req, cpu_lim = _dec(t["cpu_request"][row]), _dec(t["cpu_limit"][row])
    mem_req = None if math.isnan(t["memory_request"][row]) else int(t["memory_request"][row])
    mem_lim = None if math.isnan(t["memory_limit"][row]) else int(t["memory_limit"][row])
    if manifest is not None:  # samples win; the manifest fills what they lack
        cpu_req = cpu_req if cpu_req is not None else manifest.cpu_request
        cpu_lim = cpu_lim if cpu_lim is not None else manifest.cpu_limit
        mem_req = mem_req if mem_req is not None else manifest.memory_request
        mem_lim = mem_lim if mem_lim is not None else manifest.memory_limit
    return Resources(cpu_request=cpu_req, cpu_limit=cpu_lim, memory_request=mem_req, memory_limit=mem_lim)


def monthly_cost(
    cpu_cores: Decimal | None, memory_bytes: int | None, replicas: float, prices: UnitPrices
) -> Decimal:
    """USD per month of reserved requests: replicas × (cores × $/vCPU-h + GiB × $/GiB-h) × 730 h."""
    cpu = (cpu_cores or Decimal(0)) * prices.usd_per_vcpu_hour
    mem = Decimal(memory_bytes or 0) / GIB * prices.usd_per_gib_hour
    return round_cents((cpu + mem) * HOURS_PER_MONTH * Decimal(repr(round(float(replicas), 4))))


def severity_for(current: Resources, proposed: Mapping[str, Any]) -> Severity:
    """Largest of the CPU gap (cores) and the memory gap (GiB), graded by SEVERITY_STEPS."""
    gaps: list[Decimal] = []
    if proposed.get("cpu_request") is not None:
        gaps.append(abs(Decimal(proposed["cpu_request"]) - (current.cpu_request or Decimal(0))))
    if proposed.get("memory_request") is not None:
        gaps.append(abs(Decimal(proposed["memory_request"]) - Decimal(current.memory_request or 0)) / GIB)
    gap = max(gaps, default=Decimal(0))
    for threshold, severity in SEVERITY_STEPS:
        if gap >= threshold:
            return severity
    return Severity.info


def _recommended(p: Proposal) -> Resources:
    def dec(rp: ResourceProposal, attr: str) -> Decimal | None:
        return getattr(rp, attr)

    def mem(rp: ResourceProposal, attr: str) -> int | None:
        value = getattr(rp, attr)
        return None if value is None else int(value)

    return Resources(
        cpu_request=dec(p.cpu, "request"),
        cpu_limit=dec(p.cpu, "limit"),
        memory_request=mem(p.memory, "request"),
        memory_limit=mem(p.memory, "limit"),
    )


def recommend(
    source: ChunkSource,
    preset_name: str,
    prices: UnitPrices,
    overrides: dict[str, Any] | None = None,
    hpa: Mapping[WorkloadRef, frozenset[str]] | None = None,
    manifests: ManifestFacts | None = None,
    window: tuple[str | None, str | None] = (None, None),
    source_label: str = "utilization_samples",
) -> RightsizeResult:
    """Recommendations of one preset for every (non-init) container in the source.

    ``manifests``: what the GitOps repository declares — values the samples lack, container
    types, and the resources each workload's HPAs scale on. ``hpa`` adds HPA-scaled resources
    per (namespace, kind, workload), e.g. for a workload outside the repository.
    """
    preset = get_preset(preset_name)
    settings = build_settings(preset, overrides)
    engine = preset.factory(settings)
    try:
        common = _fold(source, engine)
    except NotContiguous:  # the source is not grouped by series: start over on a sorted copy
        engine = preset.factory(settings)
        common = CommonStats()
        for chunk in source(True):
            engine.add(chunk, common.add(chunk), common)
    if common.samples_read == 0:
        raise DataError("no utilization samples in the window; run `costpilot ingest utilization PATH` first")
    declared = manifests.container_map() if manifests is not None else {}
    scaled = manifests.hpa_resources() if manifests is not None else {}
    for ref, resources in (hpa or {}).items():
        scaled[ref] = scaled.get(ref, frozenset()) | resources
    keys, types = common.index.keys, common.index.types
    per_workload = Counter(k[:4] for k, ctype in zip(keys, types, strict=True) if ctype != "init")
    provenance = Provenance(
        tool=f"rightsizing.{preset.name}",
        engine="numpy",
        query=f"{preset.description}; samples from {source_label}; prices: {prices.source.value} ({prices.detail})",
        rows_scanned=common.samples_read,
        filters={k: v for k, v in (("window_start", window[0]), ("window_end", window[1])) if v},
    )
    recs: list[Recommendation] = []
    excluded = 0
    for row, key in enumerate(keys):
        cluster, ns, kind, workload, container = key
        manifest = declared.get((ns, kind, workload, container))
        ctype = types[row] if types[row] != "regular" or manifest is None else manifest.container_type
        if ctype == "init":  # init containers run before the pod starts; their requests overlap
            excluded += 1
            continue
        scaled_on = scaled.get((ns, kind, workload), frozenset())
        proposal = engine.propose(row, common, scaled_on, per_workload[key[:4]])
        recs.append(
            _recommendation(common, row, key, ctype, proposal, manifest, prices, scaled_on, provenance)
        )
    recs.sort(key=lambda r: (-r.monthly_savings, r.namespace, r.kind, r.workload, r.container))
    return RightsizeResult(
        preset=preset.name,
        settings=settings.model_dump(mode="json"),
        recommendations=recs,
        prices=prices,
        samples_read=common.samples_read,
        window_start=window[0],
        window_end=window[1],
        init_containers_excluded=excluded,
        provenance=provenance,
    )


def _recommendation(
    common: CommonStats,
    row: int,
    key: tuple[str, ...],
    ctype: str,
    proposal: Proposal,
    manifest: ManifestContainer | None,
    prices: UnitPrices,
    hpa: frozenset[str],
    provenance: Provenance,
) -> Recommendation:
    t = common.t
    current = _current(common, row, manifest)
    recommended = _recommended(proposal)
    skipped = [r for r, p in (("cpu", proposal.cpu), ("memory", proposal.memory)) if p.skipped]
    replicas = common.replicas(row)
    evidence: dict[str, Any] = {
        "samples": int(t["n_rows"][row]),
        "cpu_samples": int(t["n_cpu"][row]),
        "memory_samples": int(t["n_mem"][row]),
        "days": round((int(t["last"][row]) - int(t["first"][row])) / 86400, 2),
        "pods": int(t["pods"][row]),
        "replicas": round(replicas, 2),
        "oom_kills": int(t["oom_kills"][row]),
        "hpa_resources": sorted(hpa),
        **proposal.evidence,
        "skipped_resources": skipped,
    }
    skip_reason = "; ".join(p.skip_reason for p in (proposal.cpu, proposal.memory) if p.skip_reason) or None
    proposed = proposed_values(current, recommended, skipped)
    now = monthly_cost(current.cpu_request, current.memory_request, replicas, prices)
    after = monthly_cost(
        None if proposed["cpu_request"] is None else Decimal(proposed["cpu_request"]),
        proposed["memory_request"],
        replicas,
        prices,
    )
    actionable = proposed != current.as_dict()
    # Built once, from values this module computed and typed: no re-validation per container.
    return Recommendation.model_construct(
        cluster=key[0],
        namespace=key[1],
        kind=key[2],
        workload=key[3],
        container=key[4],
        container_type=ctype,
        current=current,
        recommended=recommended,
        evidence=evidence,
        monthly_cost_now=now,
        monthly_cost_after=after,
        monthly_savings=now - after,
        severity=severity_for(current, proposed) if actionable else Severity.info,
        skip_reason=skip_reason,
        provenance=provenance,
    )
