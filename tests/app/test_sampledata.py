"""The deterministic sample data: shapes, determinism, planted anomalies, GitOps consistency."""

from __future__ import annotations

import json
import subprocess
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import pytest
from hypothesis import given
from hypothesis import strategies as st
from ruamel.yaml import YAML

from app.cli import main
from evals.sampledata import ai_catalog as ai
from evals.sampledata.catalog import TEAM_NAMES, cpu_cores, memory_bytes, workloads
from evals.sampledata.cloud import TAG_ALIASES
from evals.sampledata.focus_bulk import generate_focus_bulk
from evals.sampledata.focus_table import COLUMNS
from evals.sampledata.generate import SampleManifest, generate_sample
from evals.sampledata.gitops import render_repo
from evals.sampledata.llm import load_prices, spend_usd
from evals.sampledata.utilization import SCHEMA
from evals.sampledata.utilization_bulk import generate_utilization_bulk

REPO = Path(__file__).resolve().parents[2]
END = date(2026, 11, 22)
SHARED_PRICES = Path("/work/shared/data/prices/model_prices_litellm_1.109.1.json")


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> SampleManifest:
    return generate_sample(tmp_path_factory.mktemp("sample") / "out", END, 7)


def _focus_frame(files: list[Path]) -> dict[str, list]:
    """ChargePeriodStart (date), EffectiveCost/ListCost/BilledCost (Decimal) and Tags of every row."""
    cols = [
        "ChargePeriodStart",
        "ChargeCategory",
        "ChargeClass",
        "ChargeFrequency",
        "EffectiveCost",
        "ListCost",
        "BilledCost",
        "Tags",
        "ConsumedUnit",
        "ServiceName",
    ]
    out: dict[str, list] = {c: [] for c in cols}
    for path in files:
        if path.suffix == ".parquet":
            table = pq.read_table(path, columns=cols)
            out["ChargePeriodStart"] += [t.date() for t in table["ChargePeriodStart"].to_pylist()]
        else:
            opts = pcsv.ConvertOptions(column_types={c: pa.string() for c in cols}, include_columns=cols)
            table = pcsv.read_csv(path, convert_options=opts)
            out["ChargePeriodStart"] += [
                date.fromisoformat(t[:10]) for t in table["ChargePeriodStart"].to_pylist()
            ]
        for c in cols[1:]:
            values = table[c].to_pylist()
            out[c] += [Decimal(str(v)) for v in values] if c.endswith("Cost") else values
    return out


def _team(tags: str | None) -> str:
    parsed = json.loads(tags) if tags else {}
    return next((parsed[k] for k in TAG_ALIASES["team"] if k in parsed), "(untagged)")


def robust_flags(days: list[date], teams: list[str], cost: list[Decimal]) -> list[tuple[str, date]]:
    """The detector sketch: per team daily totals; expected = median of the same weekday over the
    previous 4 weeks; score = residual / (1.4826 × MAD of the previous 28 residuals); flag when
    score > 4 and the residual is ≥ $100."""
    d0 = min(days)
    n = (max(days) - d0).days + 1
    names = sorted(set(teams))
    m = np.zeros((len(names), n))
    np.add.at(m, ([names.index(t) for t in teams], [(d - d0).days for d in days]), [float(c) for c in cost])
    flags = []
    for i, name in enumerate(names):
        x = m[i]
        res = np.full(n, np.nan)
        for k in range(28, n):
            res[k] = x[k] - np.median(x[[k - 7, k - 14, k - 21, k - 28]])
        for k in range(35, n):
            hist = res[max(28, k - 28) : k]
            mad = np.median(np.abs(hist - np.median(hist)))
            if mad > 0 and res[k] / (1.4826 * mad) > 4 and res[k] >= 100:
                flags.append((name, d0 + timedelta(days=k)))
    return flags


# --- determinism and the CLI -----------------------------------------------------------------


def _files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".git" not in p.relative_to(root).parts
    }


def test_cli_generate_writes_identical_bytes_for_the_same_seed(sample, tmp_path, capsys):
    assert (
        main(
            [
                "sample",
                "generate",
                "--out",
                str(tmp_path / "again"),
                "--end",
                "2026-11-22",
                "--seed",
                "7",
                "--json",
            ]
        )
        == 0
    )
    manifest = SampleManifest.model_validate_json(capsys.readouterr().out)
    assert manifest.rows == sample.rows
    first, second = _files(sample.out_dir), _files(manifest.out_dir)
    assert first.keys() == second.keys() and len(first) > 30
    assert [k for k in first if first[k] != second[k]] == []

    def head(repo: Path) -> str:
        return subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True, check=True
        ).stdout

    assert head(sample.gitops_repo) == head(manifest.gitops_repo)
    log = subprocess.run(
        ["git", "log", "--format=%an <%ae> %s"], cwd=sample.gitops_repo, capture_output=True, text=True
    ).stdout
    assert log.strip() == "costpilot-sample <sample@costpilot.invalid> initial"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--focus-rows", "0"], "--focus-rows 0: must be a positive integer"),
        (["--end", "2026-02-30"], "--end '2026-02-30': not a date (YYYY-MM-DD)"),
        (["--utilization-days", "3"], "--utilization-days needs --utilization-containers"),
        (["--seed", "-1"], "--seed -1: must be ≥ 0"),
    ],
)
def test_cli_bad_arguments_exit_2_with_one_line(tmp_path, capsys, args, message):
    assert main(["sample", "generate", "--out", str(tmp_path / "x"), *args]) == 2
    err = capsys.readouterr().err
    assert err == f"costpilot: error: {message}\n"
    assert not (tmp_path / "x").exists()


def test_cli_bulk_modes_write_exact_row_counts(tmp_path, capsys):
    args = ["sample", "generate", "--out", str(tmp_path), "--focus-rows", "1234"]
    assert main([*args, "--utilization-containers", "3", "--utilization-days", "2", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["focus_rows"] == 1234 and result["utilization_rows"] == 3 * 2 * 288
    parquet, csv = (Path(p) for p in result["focus_files"])
    assert pq.ParquetFile(parquet).metadata.num_rows == 1234
    assert pcsv.read_csv(csv).num_rows == 1234
    assert pq.ParquetFile(result["utilization_file"]).metadata.num_rows == 1728


def test_cli_gitops_writes_the_repo_files(tmp_path, capsys):
    assert main(["sample", "gitops", "--out", str(tmp_path), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert "ai/routing.yaml" in result["files"] and "overlays/prod/payments/hpa.yaml" in result["files"]
    assert (
        (tmp_path / "base" / "payments" / "ledger.yaml")
        .read_text()
        .startswith("# ledger — owned by team payments")
    )


# --- FOCUS --------------------------------------------------------------------------------------


def test_focus_files_one_per_provider_and_month_with_focus_columns(sample):
    names = sorted(p.name for p in sample.focus_files)
    months = ["2026-07", "2026-08", "2026-09", "2026-10", "2026-11"]
    assert names == sorted(
        [f"aws-focus-{m}.csv" for m in months]
        + [f"azure-focus-{m}.csv.gz" for m in months]
        + [f"gcp-focus-{m}.parquet" for m in months]
    )
    spec = (REPO / "warehouse" / "data" / "focus_1.2_columns.csv").read_text().splitlines()[1:]
    assert list(COLUMNS) == [line.split(",")[0] for line in spec if line]
    gcp = pq.read_table(next(p for p in sample.focus_files if p.suffix == ".parquet"))
    assert gcp.schema.names == list(COLUMNS)
    assert gcp.schema.field("EffectiveCost").type == pa.decimal128(20, 10)
    first = pcsv.read_csv(
        sample.focus_files[0],
        convert_options=pcsv.ConvertOptions(column_types={c: pa.string() for c in COLUMNS}),
    )
    assert first.schema.names == list(COLUMNS)
    row = first.slice(0, 1).to_pylist()[0]
    assert (
        row["BillingPeriodStart"] == "2026-07-01T00:00:00Z"
        and row["BillingPeriodEnd"] == "2026-08-01T00:00:00Z"
    )
    assert (
        row["ChargePeriodStart"] == "2026-07-06T00:00:00Z"
        and row["ChargePeriodEnd"] == "2026-07-07T00:00:00Z"
    )
    assert row["BillingCurrency"] == "USD" and row["ProviderName"] == "AWS"
    assert len(row["BilledCost"].split(".")[1]) == 10


def test_focus_history_teams_tags_and_money(sample):
    f = _focus_frame(sample.focus_files)
    days = sorted(set(f["ChargePeriodStart"]))
    assert len(days) >= 120 and days[-1] == END and days == [days[0] + timedelta(d) for d in range(len(days))]
    teams = [_team(t) for t in f["Tags"]]
    assert set(TEAM_NAMES) <= set(teams) and len(set(TEAM_NAMES)) >= 6
    untagged = teams.count("(untagged)") / len(teams)
    assert 0.05 <= untagged <= 0.08
    tag_keys = {k for t in f["Tags"] if t for k in json.loads(t)}
    assert {
        "team",
        "Team",
        "user:team",
        "app.kubernetes.io/part-of",
        "env",
        "Environment",
        "user:env",
    } <= tag_keys
    envs = {json.loads(t).get(k) for t in f["Tags"] if t for k in TAG_ALIASES["env"] if k in json.loads(t)}
    assert envs == {"prod", "staging", "dev"}
    rows = list(
        zip(
            f["ChargeCategory"], f["ChargeClass"], f["ChargeFrequency"], f["ListCost"], f["BilledCost"],
            f["EffectiveCost"], f["ChargePeriodStart"], strict=True,
        )
    )  # fmt: skip
    usage = [(lc, bc) for cat, cls, _, lc, bc, _, _ in rows if cat == "Usage" and not cls]
    assert len(usage) > 20_000 and all(lc >= bc >= 0 for lc, bc in usage)
    # Non-usage charges an anomaly baseline must leave out: one-off credits, a monthly credit on
    # the 3rd, refunds (ChargeClass Correction, negative usage), adjustments and daily GCP tax.
    one_off = [c for cat, _, freq, _, _, c, _ in rows if cat == "Credit" and freq == "One-Time"]
    assert len(one_off) == 8 and all(c < 0 for c in one_off)
    monthly = [(d, c) for cat, _, freq, _, _, c, d in rows if cat == "Credit" and freq == "Recurring"]
    assert len(monthly) == 4 and all(d.day == 3 and c < 0 for d, c in monthly)
    refunds = [c for cat, cls, _, _, _, c, _ in rows if cls == "Correction"]
    assert len(refunds) == 3 and all(c < 0 for c in refunds)
    assert sum(cat == "Adjustment" for cat, *_ in rows) == 2
    assert "Tax" in f["ChargeCategory"]
    # node pools: a price per vCPU-hour and per GiB-hour can be derived from tagged node rows
    nodes = [
        json.loads(t)
        for t, unit in zip(f["Tags"], f["ConsumedUnit"], strict=True)
        if unit in ("vCPU-Hours", "GiB-Hours")
    ]
    assert {(n["cluster"], n["node_pool"]) for n in nodes} == {
        ("prod-eu-1", "general"),
        ("prod-eu-1", "memory"),
        ("nonprod-eu-1", "spot-general"),
    }


def test_anomaly_truth_shape_and_the_robust_sketch_finds_the_spikes(sample):
    truth = json.loads(sample.truth_file.read_text())
    kinds = [t["kind"] for t in truth]
    assert kinds.count("spike") >= 12 and kinds.count("level_shift") == 1
    assert kinds.count("small_spike") == 4 and kinds.count("tag_loss") == 2
    for t in truth:
        assert set(t) == {"start", "end", "series", "kind", "extra_cost", "detail"}
        assert set(t["series"]) == {"team", "service"}
        start, end = date.fromisoformat(t["start"]), date.fromisoformat(t["end"])
        assert END - timedelta(days=89) <= start <= end <= END
        days, extra = (end - start).days + 1, Decimal(t["extra_cost"])
        if t["kind"] == "tag_loss":  # moves a resource's day of cost to (untagged)
            assert t["series"]["team"] == "(untagged)" and t["detail"]["from_team"] in TEAM_NAMES
            assert days == 1 and extra > 100 and t["detail"]["resource"]
            continue
        assert t["series"]["team"] in TEAM_NAMES and t["detail"]["env"] in (
            "prod",
            "staging",
            "dev",
            "(untagged)",
        )
        if t["kind"] == "spike":
            assert days <= 3 and extra >= 150 * days
        if t["kind"] == "small_spike":  # small-$: above the $50 rule, at most $200 a day
            assert days <= 2 and 75 <= extra <= 200 * days + 1
    spikes = [t for t in truth if t["kind"] == "spike"]
    f = _focus_frame(sample.focus_files)
    usage = [
        not c and k in ("Usage", "Purchase")  # CSV reads a null ChargeClass as ""
        for k, c in zip(f["ChargeCategory"], f["ChargeClass"], strict=True)
    ]
    teams = [_team(t) for t in f["Tags"]]
    keep = [u and team != "(untagged)" for u, team in zip(usage, teams, strict=True)]
    flags = robust_flags(
        [d for d, k in zip(f["ChargePeriodStart"], keep, strict=True) if k],
        [t for t, k in zip(teams, keep, strict=True) if k],
        [c for c, k in zip(f["EffectiveCost"], keep, strict=True) if k],
    )

    def inside(team: str, day: date, t: dict) -> bool:
        return t["series"]["team"] == team and date.fromisoformat(t["start"]) <= day <= date.fromisoformat(
            t["end"]
        )

    found = [t for t in spikes if any(inside(team, day, t) for team, day in flags)]
    true_flags = [fl for fl in flags if any(inside(*fl, t) for t in truth)]
    recall, precision = len(found) / len(spikes), len(true_flags) / len(flags)
    assert recall >= 0.9 and precision >= 0.8, (recall, precision)


def test_bulk_focus_writes_exactly_n_rows_with_the_demo_columns(tmp_path):
    parquet, csv = generate_focus_bulk(2500, tmp_path, seed=3)
    table = pq.read_table(parquet)
    assert table.num_rows == 2500 and table.schema.names == list(COLUMNS)
    text = pcsv.read_csv(
        csv, convert_options=pcsv.ConvertOptions(column_types={"EffectiveCost": pa.string()})
    )
    assert text.num_rows == 2500
    assert sum(Decimal(v) for v in text["EffectiveCost"].to_pylist()) == sum(
        table["EffectiveCost"].to_pylist()
    )
    assert len({d.date() for d in table["ChargePeriodStart"].to_pylist()}) >= 120


# --- LLM logs ----------------------------------------------------------------------------------


def _llm_rows(sample: SampleManifest) -> tuple[list[dict], list[dict]]:
    jsonl = [
        json.loads(line)
        for p in sample.llm_files
        if p.suffix == ".jsonl"
        for line in p.read_text().splitlines()
    ]
    csv_path = next(p for p in sample.llm_files if p.suffix == ".csv")
    csv_rows = pcsv.read_csv(
        csv_path, convert_options=pcsv.ConvertOptions(strings_can_be_null=True)
    ).to_pylist()
    return jsonl, csv_rows


def test_llm_logs_are_priced_exactly_from_the_price_table(sample):
    rows, csv_rows = _llm_rows(sample)
    assert 20_000 <= len(rows) + len(csv_rows) <= 60_000
    prices = load_prices()
    if SHARED_PRICES.is_file():  # the bundled subset is a verbatim copy of the reference table
        shared = json.loads(SHARED_PRICES.read_text())
        assert all(shared[m] == {**shared[m], **entry} for m, entry in prices.items())
    used = {r["model"] for r in rows}
    assert len({m for m in used if m in prices and prices[m]["mode"] == "chat"}) >= 5
    unpriced = [r for r in rows if r["model"] not in prices]
    assert len(unpriced) == 3 and all(
        r["model"] == ai.UNPRICED_MODEL and r["spend"] is None for r in unpriced
    )
    priced = [r for r in rows if r["model"] in prices]
    missing = sum(r["spend"] is None for r in priced) / len(priced)
    assert 0.08 <= missing <= 0.12
    for r in priced[:3000]:
        assert r["prompt_tokens"] >= r["cache_read_input_tokens"] + r["cache_creation_input_tokens"]
        assert r["total_tokens"] == r["prompt_tokens"] + r["completion_tokens"]
        if r["spend"] is not None:
            exact = spend_usd(
                prices[r["model"]],
                r["prompt_tokens"],
                r["completion_tokens"],
                r["cache_read_input_tokens"],
                r["cache_creation_input_tokens"],
            )
            assert Decimal(str(r["spend"])) == exact
    assert any(r["cache_read_input_tokens"] > 0 for r in rows) and any(
        r["cache_creation_input_tokens"] > 0 for r in rows
    )
    r = priced[0]
    assert r["startTime"].endswith("Z") and r["endTime"] > r["startTime"]
    assert {"feature", "env", "user_api_key_team_alias"} <= set(r["metadata"])
    assert any(tag.startswith("feature:") for tag in r["request_tags"])


def test_llm_csv_slice_has_the_same_fields_and_no_duplicates(sample):
    rows, csv_rows = _llm_rows(sample)
    assert len(csv_rows) >= 100 and list(csv_rows[0]) == list(rows[0])
    assert not {r["request_id"] for r in csv_rows} & {r["request_id"] for r in rows}
    first = csv_rows[0]
    assert json.loads(first["request_tags"])[0] == "feature:support-chat"
    assert json.loads(first["metadata"])["user_api_key_team_alias"] == "identity"


# --- utilization ---------------------------------------------------------------------------------


def test_utilization_columns_window_and_behaviours(sample):
    table = pq.read_table(sample.utilization_file)
    assert table.schema == SCHEMA
    assert table.num_rows < 1_500_000
    times = table["timestamp"].to_numpy()
    assert len(np.unique(times)) == 15 * 288
    assert str(times.max())[:16] == "2026-11-22T23:55"
    frame = table.select(
        [
            "namespace",
            "workload",
            "container",
            "pod",
            "container_type",
            "oom_killed",
            "cpu_cores",
            "cpu_request",
        ]
    ).to_pandas()
    assert frame.groupby(["namespace", "workload"]).ngroups >= 50
    assert set(frame["container_type"]) == {"regular", "sidecar", "init"}
    assert frame["oom_killed"].sum() > 0
    pods = frame.groupby(["namespace", "workload"])["pod"].nunique()
    assert pods["payments-prod", "payments-api"] > 3  # HPA scale-ups and rollouts
    assert pods["payments-prod", "ledger"] == 3  # StatefulSet pods keep their names
    idle = frame[frame["namespace"].eq("search-dev") & frame["workload"].eq("search-indexer")]
    assert idle["cpu_cores"].max() < 0.01
    over = frame[frame["namespace"].eq("search-prod") & frame["workload"].eq("search-indexer")]
    assert over["cpu_cores"].quantile(0.95) < 0.25 * over["cpu_request"].iloc[0]


def _effective_requests(
    repo: dict[str, str],
) -> dict[tuple[str, str, str], tuple[float | None, float | None]]:
    """(namespace, workload, container) → (cpu_request, memory_limit) as the manifests define them."""
    yaml = YAML(typ="safe")
    out = {}
    for w in workloads():
        s = w.service
        if s.chart:
            values = yaml.load(repo[f"charts/{s.name}/values.yaml"])
            res = {s.containers[0].name: values["resources"]}
        else:
            doc = next(yaml.load_all(repo[f"base/{s.team}/{s.name}.yaml"]))
            spec = doc["spec"]["template"]["spec"]
            res = {c["name"]: c["resources"] for c in spec.get("initContainers", []) + spec["containers"]}
            patch = repo.get(f"overlays/prod/{s.team}/patches/{s.name}.yaml") if w.env == "prod" else None
            if patch:
                for c in yaml.load(patch)["spec"].get("template", {}).get("spec", {}).get("containers", []):
                    res[c["name"]] = c["resources"]
        for name, r in res.items():
            out[(w.namespace, s.name, name)] = (
                cpu_cores(str(r["requests"]["cpu"])),
                memory_bytes(r.get("limits", {}).get("memory")),
            )
    return out


def test_utilization_requests_match_the_gitops_manifests(sample):
    expected = _effective_requests(render_repo())
    table = pq.read_table(
        sample.utilization_file, columns=["namespace", "workload", "container", "cpu_request", "memory_limit"]
    )
    seen = {
        tuple(r.values())[:3]: tuple(r.values())[3:]
        for r in table.group_by(["namespace", "workload", "container"])
        .aggregate([("cpu_request", "max"), ("memory_limit", "max")])
        .to_pylist()
    }
    assert len(seen) >= 80
    assert {k: expected[k] for k in seen} == seen
    assert seen[("payments-prod", "payments-api", "payments-api")] == (
        2.0,
        4 * 1024**3,
    )  # from the prod overlay
    assert seen[("payments-dev", "payments-api", "payments-api")] == (1.0, 2 * 1024**3)  # from base


def test_bulk_utilization_streams_the_requested_shape(tmp_path):
    path = tmp_path / "u.parquet"
    assert generate_utilization_bulk(1001, 1, path, seed=1) == 1001 * 288
    meta = pq.ParquetFile(path)
    assert meta.metadata.num_row_groups == 3  # written block by block
    assert meta.schema_arrow.field("cpu_cores").type == pa.float32()
    assert meta.schema_arrow.names == SCHEMA.names


# --- GitOps --------------------------------------------------------------------------------------


def test_committed_gitops_repo_equals_the_generator_output():
    committed = REPO / "examples" / "gitops-repo"
    on_disk = {
        str(p.relative_to(committed)): p.read_text(encoding="utf-8")
        for p in committed.rglob("*")
        if p.is_file() and p.relative_to(committed).as_posix() != ".costpilot/policy.yaml"
    }
    assert on_disk == render_repo()


def test_gitops_repo_has_the_shapes_the_playbooks_need():
    repo = render_repo()
    yaml = YAML(typ="safe")
    docs = [
        (path, d) for path, text in repo.items() if path.endswith(".yaml") for d in yaml.load_all(text) if d
    ]
    kinds = {d.get("kind") for _, d in docs}
    assert {
        "Deployment",
        "StatefulSet",
        "Service",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
        "Kustomization",
    } <= kinds
    hpa_metrics = {
        m["resource"]["name"]
        for _, d in docs
        if d.get("kind") == "HorizontalPodAutoscaler"
        for m in d["spec"]["metrics"]
    }
    assert hpa_metrics == {"cpu", "memory"}
    assert all(
        path.startswith("overlays/prod/")
        for path, d in docs
        if d.get("kind") in ("HorizontalPodAutoscaler", "PodDisruptionBudget")
    )
    opted_out = [
        d["metadata"]["name"]
        for _, d in docs
        if d.get("metadata", {}).get("labels", {}).get("costpilot.io/opt-out") == "true"
    ]
    assert sorted(opted_out) == ["experiments-api", "user-directory"]
    assert sum(text.count("\n---\n") > 0 for text in repo.values()) >= 5
    assert "# sized for the Black Friday peak" in repo["overlays/prod/payments/patches/payments-api.yaml"]
    routing = yaml.load(repo["ai/routing.yaml"])
    assert set(routing["models"]) == {m.name for m in ai.MODELS}
    assert routing["features"]["search-summary"] == {
        "model": "gpt-4o",
        "min_tier": 2,
        "min_context": 16000,
        "team": "search",
    }
    assert yaml.load(repo["charts/kafka-connect/values.yaml"])["resources"]["requests"]["cpu"] == "2"
    assert ".costpilot/README.md" in repo and ".costpilot/policy.yaml" not in repo


# --- quantity parsing ------------------------------------------------------------------------


@given(st.integers(min_value=1, max_value=10**6), st.sampled_from(["Ki", "Mi", "Gi"]))
def test_quantity_parsers_match_kubernetes_units(n, unit):
    assert cpu_cores(f"{n}m") == n / 1000
    assert cpu_cores(str(n)) == float(n)
    assert memory_bytes(f"{n}{unit}") == n * {"Ki": 1024, "Mi": 1024**2, "Gi": 1024**3}[unit]
    assert cpu_cores(None) is None and memory_bytes(None) is None
