"""``costpilot savings``: a merged right-sizing measured from the samples after the merge, beside
its estimate; the digest's savings pipeline shows both and what waits."""

from __future__ import annotations

import subprocess
from datetime import UTC, timedelta
from decimal import Decimal
from pathlib import Path

from tests.app.test_cli_remediation import env, finding, found, git, gitops, scan_json  # noqa: F401

PRICES = {"usd_per_vcpu_hour": "0.04", "usd_per_gib_hour": "0.005", "replicas": 1}
GIB = 1024**3


def _samples(path: Path, start, hours: int, cpu: float, memory: int) -> list[str]:  # type: ignore[no-untyped-def]
    return [
        f"{(start + timedelta(hours=h)).strftime('%Y-%m-%dT%H:%M:%SZ')},c1,shop,Deployment,api,api,api-1,"
        f"0.5,1073741824,{cpu},{memory}"
        for h in range(hours)
    ]


def test_savings_measures_a_merged_change_from_the_samples_after_the_merge(  # type: ignore[no-untyped-def]
    env: Path,  # noqa: F811
    gitops: Path,  # noqa: F811
    found,  # noqa: F811
    run_cli,
) -> None:
    found[:] = [finding("api").model_copy(update={"evidence": {**finding("api").evidence, **PRICES}})]
    data = scan_json(run_cli)
    [item] = [p for p in data["proposals"] if p["state"] == "awaiting_approval"]
    assert run_cli("approve", item["id"], "--as", "U_ALICE").code == 0
    assert run_cli("savings", "--json").json()["merged"] == 0
    subprocess.run(
        ["git", "-C", str(gitops), "-c", "user.name=t", "-c", "user.email=t@t", "merge", "-q", "--no-ff", "-m", "m",
         item["branch"]],
        check=True,
    )  # fmt: skip
    synced = run_cli("proposals", "sync", "--json").json()
    assert synced["merged"] == [item["id"]]
    shown = run_cli("proposals", "show", item["id"], "--json").json()
    assert shown["state"] == "merged"

    # Before the merge the pod reserved 2 cores / 4 GiB, after it 1.5 cores / 3 GiB (36 h each).
    from services.deps import build_deps
    from services.settings import load_settings
    from store import proposals as store

    deps = build_deps(load_settings(env))
    merged_at = store.get(deps.engine, item["id"]).merged_at
    deps.close()
    assert merged_at is not None
    m = merged_at.astimezone(UTC).replace(tzinfo=None)
    rows = [
        "timestamp,cluster,namespace,workload_kind,workload,container,pod,cpu_cores,memory_bytes,cpu_request,memory_request"
    ]
    rows += _samples(env, m - timedelta(hours=36) + timedelta(minutes=30), 36, 2.0, 4 * GIB)
    rows += _samples(env, m + timedelta(minutes=30), 36, 1.5, 3 * GIB)
    csv = env / "samples.csv"
    csv.write_text("\n".join(rows) + "\n")
    assert run_cli("ingest", "utilization", str(csv)).code == 0

    result = run_cli("savings", "--json").json()
    [line] = result["lines"]
    assert (line["proposal_id"], line["status"]) == (item["id"], "measured")
    assert Decimal(line["estimated_monthly_saving"]) == Decimal(30)
    # (0.5 core × $0.04 + 1 GiB × $0.005) × 730 h = $18.25/month, within the sampling's edges.
    realised = Decimal(line["realised_monthly_saving"])
    assert abs(realised - Decimal("18.25")) <= Decimal("0.6"), realised
    assert (result["merged"], result["measured"]) == (1, 1)
    assert Decimal(result["estimated_of_measured"]) == Decimal(30)

    text = run_cli("savings")
    assert text.code == 0
    assert text.out.splitlines()[0].startswith("merged: 1, measured: 1; estimated $30.00/month, realised $")
    assert f"{item['id']}  costpilot/rightsize-requests/shop  merged " in text.out


def test_savings_with_nothing_merged_says_so(env: Path, run_cli) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    result = run_cli("savings", "--json")
    assert result.code == 0
    assert result.json()["lines"] == [] and result.json()["notes"] == [
        "no merged proposals yet: nothing to measure"
    ]
    assert run_cli("savings").out.splitlines()[-1] == "note: no merged proposals yet: nothing to measure"
