"""Policy: safe defaults, the repo file merged over them, errors naming file and key."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest

from domain.errors import ConfigError
from guardrails import POLICY_FILE, Policy, ValidationContext, load_policy, policy_from_dict

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "gitops-repo"


def write_policy(repo: Path, text: str) -> Path:
    (repo / ".costpilot").mkdir(parents=True, exist_ok=True)
    (repo / POLICY_FILE).write_text(text)
    return repo


def test_defaults_when_the_repo_has_no_policy(tmp_path: Path) -> None:
    policy = load_policy(tmp_path)
    assert policy == Policy()
    assert policy.source == "defaults"
    assert policy.resources.max_decrease_pct == Decimal(50)
    assert policy.replicas.prod_min_replicas == 2
    assert policy.is_production("payments-prod") and not policy.is_production("payments-dev")
    assert policy.is_protected("kube-system")


def test_file_is_merged_key_by_key_over_defaults(tmp_path: Path) -> None:
    repo = write_policy(tmp_path, "resources:\n  max_decrease_pct: 30\nnamespaces:\n  protected: [vault]\n")
    policy = load_policy(repo)
    assert policy.source == POLICY_FILE
    assert policy.resources.max_decrease_pct == Decimal(30)
    assert policy.resources.max_limit_request_ratio == Decimal(4)  # default kept
    assert policy.namespaces.protected == ["vault"]  # lists replace
    assert policy.namespaces.production == Policy().namespaces.production


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "resources:\n  max_decrease_pct: 150\n",
            r"\.costpilot/policy\.yaml: resources\.max_decrease_pct: Input should be less than or equal to 100",
        ),
        (
            "resources:\n  max_decrese_pct: 10\n",
            r"resources\.max_decrese_pct: Extra inputs are not permitted",
        ),
        ("freeze:\n  weekly:\n    - days: [funday]\n", r"freeze\.weekly\.0\.days\.0: Input should be 'mon'"),
        ("- a\n- b\n", "must be one YAML mapping"),
        ("a: &x 1\nb: *x\n", "anchors and aliases are refused"),
        ("source: evil\n", "source: not a policy key"),
        ("kubernetes_version: latest\n", "kubernetes_version: String should match pattern"),
        (
            'secrets:\n  allow_patterns: ["ok-[a-z]+", "("]\n',
            r"^\.costpilot/policy\.yaml: secrets\.allow_patterns: item 1 '\(' is not a regular expression: "
            r"missing \), unterminated subpattern at position 0$",
        ),
        (
            'kubernetes_version: "1.24"\n',
            r"^\.costpilot/policy\.yaml: kubernetes_version: '1\.24' has no bundled Kubernetes schema "
            r"\(available: 1\.25–1\.\d+\)$",
        ),
        (
            "namespaces:\n  environments:\n    production: [live]\n",
            r"namespaces\.environments: 'production' cannot be a non-production environment name",
        ),
    ],
)
def test_bad_policy_names_file_and_key(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        load_policy(write_policy(tmp_path, text))
    assert "\n" not in str(info.value)


def test_a_newer_kubernetes_version_uses_the_newest_bundled_schema(tmp_path: Path) -> None:
    from guardrails.k8s_schema import schema_dir, schema_versions

    policy = load_policy(write_policy(tmp_path, 'kubernetes_version: "1.99"\n'))
    assert policy.kubernetes_version == "1.99"
    assert schema_dir("1.99") == schema_dir(schema_versions()[-1])


def test_example_repo_policy_loads() -> None:
    if not (EXAMPLE / POLICY_FILE).is_file():
        pytest.skip("example repo not present")
    policy = load_policy(EXAMPLE)
    assert policy.source == POLICY_FILE
    assert policy.resources.memory_headroom == Decimal("1.1")
    assert policy.freeze.windows[0].reason == "year-end change freeze"


def test_context_requires_an_aware_now(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        ValidationContext(policy=policy_from_dict({}), now=datetime(2026, 1, 1), repo=tmp_path)
