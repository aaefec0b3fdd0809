"""One environment classifier, driven by the policy: production patterns (namespace, cluster,
environment labels) win, then a label's value, then the named environments, else unknown."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from guardrails import Policy, load_policy
from tests.guardrails.test_policy import write_policy

DEFAULT = Policy()


@pytest.mark.parametrize(
    ("namespace", "cluster", "labels", "environment"),
    [
        ("payments-prod", None, None, "production"),
        ("prod", None, None, "production"),
        ("prod-eu", None, None, "production"),
        ("payments-dev", None, None, "dev"),
        ("qa_tools", None, None, "test"),
        ("search-staging", None, None, "staging"),
        ("shop-preprod", None, None, "staging"),  # not "any name containing prod"
        ("products", None, None, "unknown"),  # nor "prod" as a substring
        ("devices", None, None, "unknown"),
        ("payments-dev", "prod-eu-1", None, "production"),  # a production cluster's namespaces
        ("payments-dev", "nonprod-eu-1", None, "dev"),
        ("team-a", None, {"env": "Production"}, "production"),
        ("team-a", None, {"costpilot.io/env": "perf"}, "perf"),
        ("payments-prod", None, {"env": "dev"}, "production"),  # the safe side wins
        (None, None, None, "unknown"),
    ],
)
def test_default_classification(
    namespace: str | None, cluster: str | None, labels: dict[str, str] | None, environment: str
) -> None:
    assert DEFAULT.environment_of(namespace, cluster, labels) == environment
    assert DEFAULT.is_production(namespace, cluster, labels) == (environment == "production")


def test_the_repo_policy_names_production_and_the_environments(tmp_path: Path) -> None:
    repo = write_policy(
        tmp_path,
        "namespaces:\n  production: ['live-*']\n  production_clusters: []\n  env_labels: [tier]\n"
        "  environments:\n    perf: [perf, 'load-*']\n",
    )
    policy = load_policy(repo)
    assert policy.environment_of("live-payments") == "production"
    assert policy.environment_of("payments-prod") == "unknown"  # no longer a production pattern
    assert policy.environment_of("x", cluster="prod") == "unknown"
    assert policy.environment_of("shop-perf") == "perf"
    assert policy.environment_of("load-eu-1") == "perf"
    assert policy.environment_of("shop-dev") == "dev"  # maps merge over the defaults
    assert policy.environment_of("x", labels={"tier": "live-1"}) == "production"
    assert policy.environment_of("x", labels={"env": "prod"}) == "unknown"  # not a label it names


@given(
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz-_.", max_size=20),
    st.dictionaries(st.sampled_from(["env", "environment", "costpilot.io/env", "team"]), st.text(max_size=8)),
)
def test_a_production_namespace_is_production_whatever_its_labels(stem: str, labels: dict[str, str]) -> None:
    assert DEFAULT.environment_of(f"{stem}-prod", labels=labels) == "production"
    env = DEFAULT.environment_of(stem, labels=labels)
    assert env == "production" or env == "unknown" or env.strip() == env and env


@given(st.text(max_size=30), st.text(max_size=10))
def test_the_classifier_never_raises(namespace: str, cluster: str) -> None:
    assert isinstance(DEFAULT.environment_of(namespace, cluster, {"env": namespace}), str)
