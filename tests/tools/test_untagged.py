"""Untagged workloads: missing cost labels, values read from the workload (never guessed)."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.findings import FindingKind
from tools.untagged import _LABEL_VALUE, WorkloadManifest, find_untagged


def workload(
    namespace: str,
    name: str = "api",
    labels: dict[str, Any] | None = None,
    annotations: dict[str, Any] | None = None,
    pod_labels: dict[str, Any] | None = None,
    defined_in: str | None = None,
    production: bool = False,
    kind: str = "Deployment",
) -> WorkloadManifest:
    meta: dict[str, Any] = {"name": name, "labels": labels or {}}
    if annotations:
        meta["annotations"] = annotations
    data = {
        "apiVersion": "apps/v1",
        "kind": kind,
        "metadata": meta,
        "spec": {"template": {"metadata": {"labels": pod_labels or {}}}},
    }
    return WorkloadManifest(
        namespace=namespace,
        kind=kind,
        name=name,
        data=data,
        defined_in=defined_in or f"apps/{name}.yaml",
        production=production,
    )


def test_missing_labels_are_proposed_from_part_of_and_the_cost_center_annotation() -> None:
    w = workload(
        "shop",
        labels={"app.kubernetes.io/part-of": "checkout"},
        annotations={"costpilot.io/cost-center": "CC-1003"},
    )
    result = find_untagged([w])
    assert result.notes == []
    [f] = result.findings
    assert f.kind is FindingKind.untagged
    assert f.target == {"namespace": "shop", "kind": "Deployment", "workload": "api"}
    assert f.proposed == {"labels": {"team": "checkout", "cost_center": "CC-1003"}}
    assert f.evidence["sources"] == {
        "team": "label app.kubernetes.io/part-of",
        "cost_center": "annotation costpilot.io/cost-center",
    }
    assert f.title == "Deployment/api lacks cost labels; add cost_center=CC-1003, team=checkout"
    assert (f.monthly_cost_now, f.monthly_cost_after) == (0, 0)  # labels change no spend


def test_workload_with_both_labels_yields_nothing() -> None:
    w = workload("shop", labels={"team": "checkout", "cost_center": "CC-1"})
    assert find_untagged([w]).findings == [] and find_untagged([w]).notes == []


def test_team_from_the_namespace_prefix_only_when_it_names_an_environment() -> None:
    derived = workload("payments-prod", name="pay", annotations={"cost-center": "CC-9"})
    plain = workload("shop", name="web", annotations={"cost-center": "CC-9"})
    result = find_untagged([derived, plain])
    pay, web = result.findings
    assert pay.target["workload"] == "pay"
    assert pay.proposed == {"labels": {"team": "payments", "cost_center": "CC-9"}}
    assert pay.evidence["sources"]["team"] == "namespace payments-prod"
    # "shop" names no environment: its cost_center is proposed, the team is only noted
    assert web.proposed == {"labels": {"cost_center": "CC-9"}}
    assert result.notes == [
        "Deployment/web (apps/web.yaml) lacks label team in shop; no value to propose for shop: set it by hand"
    ]


def test_partial_derivation_proposes_what_is_known_and_notes_the_rest() -> None:
    w = workload("search-dev", name="ranker")
    result = find_untagged([w])
    [f] = result.findings
    assert f.proposed == {"labels": {"team": "search"}}
    assert result.notes == [
        "Deployment/ranker (apps/ranker.yaml) lacks label cost_center in search-dev; no value to propose "
        "for search-dev: set it by hand"
    ]


def test_nothing_derivable_is_a_note_not_a_guess() -> None:
    result = find_untagged([workload("default", name="legacy")])
    assert result.findings == []
    assert [n.split(";")[0] for n in result.notes] == [
        "Deployment/legacy (apps/legacy.yaml) lacks label team in default",
        "Deployment/legacy (apps/legacy.yaml) lacks label cost_center in default",
    ]


def test_renderings_of_one_base_are_one_finding_targeted_at_production() -> None:
    renderings = [
        workload(
            ns,
            labels={"team": "search", "env": ns.split("-")[1]},
            annotations={"costpilot.io/cost-center": "CC-1002"},
            defined_in="base/search/search-api.yaml",
            production=ns.endswith("prod"),
            name="search-api",
        )
        for ns in ("search-dev", "search-prod", "search-staging")
    ]
    result = find_untagged(renderings)
    [f] = result.findings
    assert f.target["namespace"] == "search-prod"
    assert f.proposed == {"labels": {"cost_center": "CC-1002"}}
    assert f.evidence["namespaces"] == ["search-dev", "search-prod", "search-staging"]
    assert f.evidence["defined_in"] == "base/search/search-api.yaml"


def test_renderings_that_disagree_on_the_value_are_noted() -> None:
    renderings = [
        workload(ns, defined_in="base/shared.yaml", name="shared", labels={"cost_center": "CC-1"})
        for ns in ("alpha-dev", "beta-prod")
    ]
    result = find_untagged(renderings)
    assert result.findings == []
    assert result.notes == [
        "Deployment/shared (base/shared.yaml) lacks label team in alpha-dev, beta-prod; the namespaces "
        "disagree on the value (alpha, beta): set it by hand"
    ]


def test_a_value_known_in_only_some_renderings_is_not_proposed_for_the_shared_file() -> None:
    renderings = [
        workload(ns, defined_in="base/tool.yaml", name="tool", labels={"cost_center": "CC-1"})
        for ns in ("ops-prod", "tools")
    ]
    result = find_untagged(renderings)
    assert result.findings == []
    assert result.notes == [
        "Deployment/tool (base/tool.yaml) lacks label team in ops-prod, tools; no value to propose for "
        "tools: set it by hand"
    ]


def test_opted_out_workloads_are_noted_not_proposed() -> None:
    w = workload(
        "shop-dev",
        labels={"costpilot.io/opt-out": "true", "app.kubernetes.io/part-of": "shop"},
        annotations={"costpilot.io/cost-center": "CC-1"},
    )
    result = find_untagged([w])
    assert result.findings == []
    assert result.notes == [
        'Deployment/api (apps/api.yaml) lacks label team, cost_center but is labelled costpilot.io/opt-out: "true"; '
        "not proposed"
    ]


def test_values_that_are_not_label_values_are_not_proposed() -> None:
    w = workload(
        "shop",
        labels={"app.kubernetes.io/part-of": "Team Rocket!", "cost_center": "CC-1"},
    )
    result = find_untagged([w])
    assert result.findings == []
    assert result.notes == [
        "Deployment/api (apps/api.yaml) lacks label team in shop; no value to propose for shop "
        "(label app.kubernetes.io/part-of is not a valid label value): set it by hand"
    ]


def test_configured_aliases_are_value_sources_and_pod_labels_count() -> None:
    w = workload("shop", pod_labels={"squad": "storefront", "business_unit": "BU-7"})
    [f] = find_untagged([w], aliases={"team": ["squad"], "cost_center": ["business_unit"]}).findings
    assert f.proposed == {"labels": {"team": "storefront", "cost_center": "BU-7"}}
    assert f.evidence["sources"] == {"team": "pod label squad", "cost_center": "pod label business_unit"}


def test_finding_ids_are_stable_across_scans() -> None:
    w = workload("shop-prod", annotations={"costpilot.io/cost-center": "CC-1"})
    assert find_untagged([w]).findings[0].id == find_untagged([w]).findings[0].id


label_keys = st.sampled_from(
    ["team", "cost_center", "app.kubernetes.io/part-of", "cost-center", "costpilot.io/cost-center", "owner"]
)
label_values = st.one_of(st.text(max_size=70), st.integers(), st.none())


@settings(max_examples=150, deadline=None)
@given(
    labels=st.dictionaries(label_keys, label_values, max_size=4),
    annotations=st.dictionaries(label_keys, label_values, max_size=3),
    namespace=st.from_regex(r"[a-z]{1,8}(-(dev|prod|x))?", fullmatch=True),
)
def test_proposals_are_valid_label_values_for_missing_keys_only(
    labels: dict[str, Any], annotations: dict[str, Any], namespace: str
) -> None:
    result = find_untagged([workload(namespace, labels=labels, annotations=annotations)])
    for f in result.findings:
        for key, value in f.proposed["labels"].items():
            assert key in ("team", "cost_center") and key not in labels
            assert _LABEL_VALUE.match(value) and len(value) <= 63
    proposed = {k for f in result.findings for k in f.proposed["labels"]}
    noted = {k for k in ("team", "cost_center") for n in result.notes if f"lacks label {k} " in n}
    assert proposed | noted == {"team", "cost_center"} - set(labels)  # each missing key: proposed or noted
    assert not proposed & noted
