"""Changed fields are classified by name (a registry, not an if/elif chain) into the facts the
rules judge; the workload context comes from the one repository model."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from guardrails.classify import CLASSIFIERS, LeafContext, classify
from guardrails.facts import ChangeFacts, build_facts
from guardrails.parse_diff import changed_leaves, parse_files
from tests.guardrails.helpers import GI, context, idle, make_change, model_finding, rightsize


def _sub(*pairs: str):  # type: ignore[no-untyped-def]
    def edit(text: str) -> str:
        for old, new in zip(pairs[::2], pairs[1::2], strict=True):
            text = text.replace(old, new, 1)
        return text

    return edit


def test_classifier_names_are_pinned() -> None:
    assert list(CLASSIFIERS) == [
        "routing-model",
        "container-resources",
        "hpa-replicas",
        "downscaler-schedule",
        "values-hpa-min-replicas",
        "workload-replicas",
    ]
    assert all(c.description for c in CLASSIFIERS.values())


def _classified(
    repo: Path, edits: dict, findings: list, playbook: str = "rightsize-requests"
) -> list[str | None]:  # type: ignore[type-arg]
    change = make_change(repo, edits, findings, playbook)
    ctx = context(repo)
    facts = ChangeFacts(files=parse_files(change, ctx))
    facts.leaves = changed_leaves(facts.files)
    by_file = {f.path: f for f in facts.files}
    return [
        classify(
            LeafContext(
                facts,
                ctx,
                change,
                leaf,
                by_file[leaf.file].before[leaf.doc],
                by_file[leaf.file].after[leaf.doc],
            )
        )
        for leaf in facts.leaves
    ]


def test_each_kind_of_change_is_classified(repo: Path) -> None:
    assert _classified(
        repo,
        {"overlays/prod/patches/api.yaml": _sub('cpu: "2"', "cpu: 1900m", "replicas: 4", "replicas: 3")},
        [rightsize("shop-prod", "api", {})],
    ) == ["workload-replicas", "container-resources"]
    assert _classified(
        repo,
        {"overlays/dev/hpa.yaml": _sub("minReplicas: 2", "minReplicas: 1")},
        [idle("shop-dev", "web", {"replicas": 1})],
        "scale-idle-nonprod",
    ) == ["hpa-replicas"]
    assert _classified(
        repo,
        {"charts/gateway/values-prod.yaml": _sub("minReplicas: 2", "minReplicas: 3")},
        [idle("shop-prod", "gateway", {"replicas": 3})],
        "scale-idle-nonprod",
    ) == ["values-hpa-min-replicas"]
    assert _classified(
        repo,
        {"ai/routing.yaml": _sub("summary: {model: gpt-4o,", "summary: {model: gpt-4o-mini,")},
        [model_finding("summary", "gpt-4o", "gpt-4o-mini")],
        "cheaper-model",
    ) == ["routing-model"]
    # Any other field is no fact of its own, but its workload is still judged (opt-out, cooldown).
    assert _classified(
        repo, {"base/batch.yaml": _sub('image: "registry.example/batch:1.0.0"', "image: x")}, []
    ) == [None]


def test_facts_carry_the_model_s_workload_context(repo: Path) -> None:
    change = make_change(
        repo,
        {"charts/gateway/values.yaml": _sub('cpu: "1"', "cpu: 800m")},
        [rightsize("shop-prod", "gateway", {"cpu_request": "0.8"})],
    )
    facts = build_facts(change, context(repo))
    wf = facts.workloads["shop-prod/Deployment/gateway"]
    assert wf.site is not None and wf.site.source == "helm"
    assert [h.path for h in wf.hpas] == ["charts/gateway/values-prod.yaml"]  # the chart's own HPA
    assert (wf.environment, wf.is_prod, wf.protected) == ("production", True, False)
    [rc] = facts.resources
    assert (rc.before, rc.after, rc.effective["limits"]["memory"]) == (Decimal(1), Decimal("0.8"), 2 * GI)
    dev = build_facts(
        make_change(
            repo,
            {"base/batch.yaml": _sub("replicas: 1", "replicas: 0")},
            [idle("shop-dev", "batch")],
            "scale-idle-nonprod",
        ),
        context(repo),
    )
    assert dev.workloads["shop-dev/Deployment/batch"].environment == "dev"


def test_a_values_leaf_belongs_to_the_chart_that_reads_it(repo: Path) -> None:
    # Two Helm workloads in one change: each values file's resources go to its own release's
    # workload, not to the change's first finding.
    (repo / "charts" / "worker").mkdir()
    (repo / "charts" / "worker" / "Chart.yaml").write_text("apiVersion: v2\nname: worker\nversion: 0.1.0\n")
    (repo / "charts" / "worker" / "values.yaml").write_text(
        'namespace: jobs\nresources:\n  requests:\n    cpu: "2"\n    memory: 2Gi\n  limits:\n    memory: 4Gi\n'
    )
    change = make_change(
        repo,
        {
            "charts/gateway/values.yaml": _sub('cpu: "1"', "cpu: 800m"),
            "charts/worker/values.yaml": _sub('cpu: "2"', "cpu: 1500m"),
        },
        [
            rightsize("shop-prod", "gateway", {"cpu_request": "0.8"}),
            rightsize("jobs", "worker", {"cpu_request": "1.5"}),
        ],
    )
    facts = build_facts(change, context(repo))
    by_workload = {rc.workload: (rc.before, rc.after) for rc in facts.resources}
    assert by_workload == {
        "shop-prod/Deployment/gateway": (Decimal(1), Decimal("0.8")),
        "jobs/Deployment/worker": (Decimal(2), Decimal("1.5")),
    }
