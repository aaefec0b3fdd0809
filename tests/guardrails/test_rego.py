"""The company's Rego policies as guardrails: compiled once, judged on rendered documents,
failing closed on a policy that cannot run."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from domain.changes import Verdict
from domain.errors import ConfigError
from gitops.repo import GitOpsRepo
from guardrails import validate
from guardrails.rego import RegoMessage, compile_policies, load_policies, policies_for
from guardrails.rego_inputs import changed_documents
from tests.guardrails.helpers import context, make_change, rightsize

ROOT = Path(__file__).resolve().parents[2]
SAMPLE_POLICIES = ROOT / "examples" / "gitops-repo" / ".costpilot" / "policies"
AS_PRINTED = ROOT / "tests" / "fixtures" / "rego" / "gpu-limits-as-printed.rego"
GPU = ".costpilot/policies/gpu-limits.rego"
RAI = ".costpilot/policies/responsible-ai.rego"

INFERENCE = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: llm-serving
  namespace: ml-prod
  labels:
    app: ai-inference
spec:
  replicas: 1
  selector:
    matchLabels:
      app: ai-inference
  template:
    metadata:
      labels:
        app: ai-inference
    spec:
      containers:
        - name: model
          image: registry.example/llm:1.0.0
          resources:
            requests:
              cpu: "4"
              memory: 32Gi
            limits:
              cpu: "4"
              memory: 32Gi
              nvidia.com/gpu: {gpus}
"""


def with_policies(repo: Path, **extra: str) -> Path:
    folder = repo / ".costpilot" / "policies"
    folder.mkdir(parents=True, exist_ok=True)
    for f in SAMPLE_POLICIES.glob("*.rego"):
        shutil.copyfile(f, folder / f.name)
    for name, text in extra.items():
        (folder / name).write_text(text)
    return repo


def rego_results(report):  # type: ignore[no-untyped-def]
    return [r for r in report.results if r.rule_id.startswith(".costpilot/policies/")]


def test_seed_policies_block_an_added_8_gpu_inference_deployment_with_their_own_messages(repo: Path) -> None:
    with_policies(repo)
    change = make_change(
        repo, {"apps/llm.yaml": INFERENCE.format(gpus=8)}, [rightsize("ml-prod", "llm-serving", {})]
    )
    report = validate(change, context(repo))
    fails = sorted((r.rule_id, r.message) for r in report.failures if r.rule_id.startswith(".costpilot/"))
    assert fails == [
        (GPU, "Container model requests 8 GPUs; the maximum is 4 per container"),
        (RAI, "AI inference deployments must have ai-alignment-status annotation"),
        (RAI, "AI inference deployments must have responsible-ai-compliance label"),
    ]
    hit = next(r for r in report.failures if r.rule_id == GPU)
    assert hit.evidence["document"] == "ml-prod/Deployment/llm-serving"
    assert hit.evidence["operation"] == "CREATE" and hit.evidence["rule"] == "deny"
    assert not report.passed


def test_a_compliant_4_gpu_inference_deployment_passes_both_policies(repo: Path) -> None:
    with_policies(repo)
    text = INFERENCE.format(gpus=4).replace(
        "    app: ai-inference\nspec",
        '    app: ai-inference\n    responsible-ai-compliance: "true"\n  annotations:\n    ai-alignment-status: reviewed\nspec',
        1,
    )
    report = validate(make_change(repo, {"apps/llm.yaml": text}, []), context(repo))
    verdicts = {(r.rule_id, r.verdict) for r in rego_results(report)}
    assert verdicts == {(GPU, Verdict.passed), (RAI, Verdict.passed)}


def test_the_gpu_policy_as_printed_does_not_load_one_line_naming_its_file_and_line(repo: Path) -> None:
    with_policies(repo, **{"gpu-limits.rego": AS_PRINTED.read_text()})
    change = make_change(repo, {"apps/llm.yaml": INFERENCE.format(gpus=8)}, [])
    with pytest.raises(ConfigError) as info:
        validate(change, context(repo))
    text = str(info.value)
    assert text.startswith(f"{GPU}:12: calls re_match() and to_int(), which are neither a built-in")
    assert "\n" not in text


def test_a_patch_is_judged_as_the_workload_it_renders_in_its_namespace(repo: Path) -> None:
    """The prod patch of api carries no labels; the rendered Deployment does (and the overlay's
    namespace), so a label policy has nothing to say about a right-sizing of the patch."""
    policy = """package acme.labels
import rego.v1
deny contains msg if {
  input.request.kind.kind == "Deployment"
  not input.request.object.metadata.labels.app
  msg := "no app label"
}
warn contains msg if {
  input.request.operation == "UPDATE"
  msg := sprintf("%s/%s changes", [input.request.namespace, input.request.object.metadata.name])
}
"""
    (repo / ".costpilot" / "policies").mkdir(parents=True)
    (repo / ".costpilot" / "policies" / "labels.rego").write_text(policy)
    change = make_change(
        repo,
        {"overlays/prod/patches/api.yaml": lambda t: t.replace('cpu: "2"', "cpu: 1500m", 1)},
        [rightsize("shop-prod", "api", {"cpu_request": "1.5"})],
    )
    results = rego_results(validate(change, context(repo)))
    assert [(r.verdict, r.message) for r in results] == [(Verdict.warn, "shop-prod/api changes")]
    assert results[0].evidence["file"] == "overlays/prod/patches/api.yaml"


def test_gatekeeper_violation_objects_and_warn_only_packages(repo: Path) -> None:
    policy = """package k8sreplicas
violation[{"msg": msg, "details": {"replicas": n}}] {
  input.request.kind.kind == "Deployment"
  n := input.request.object.spec.replicas
  n > 3
  msg := sprintf("%v replicas is more than 3", [n])
}
"""
    (repo / ".costpilot" / "policies").mkdir(parents=True)
    (repo / ".costpilot" / "policies" / "replicas.rego").write_text(policy)
    change = make_change(repo, {"base/web.yaml": lambda t: t.replace("replicas: 1", "replicas: 5", 1)}, [])
    hits = [r for r in rego_results(validate(change, context(repo))) if r.verdict is not Verdict.passed]
    # base/web.yaml is deployed by both overlays: one verdict per namespace it renders in
    assert sorted(
        (r.verdict, r.message, r.evidence["document"], str(r.evidence["details"])) for r in hits
    ) == [
        (Verdict.fail, "5 replicas is more than 3", "shop-dev/Deployment/web", "{'replicas': 5}"),
        (Verdict.fail, "5 replicas is more than 3", "shop-prod/Deployment/web", "{'replicas': 5}"),
    ]
    (repo / ".costpilot" / "policy.yaml").write_text("version: 1\nrego:\n  warn_only: [k8sreplicas]\n")
    soft = [r for r in rego_results(validate(change, context(repo))) if r.verdict is not Verdict.passed]
    assert {(r.verdict, r.evidence["warn_only"]) for r in soft} == {(Verdict.warn, True)}


def test_warn_only_must_name_packages(repo: Path) -> None:
    from guardrails.policy import load_policy

    (repo / ".costpilot" / "policy.yaml").write_text("version: 1\nrego:\n  warn_only: ['not a package']\n")
    with pytest.raises(
        ConfigError, match=r"^\.costpilot/policy\.yaml: rego\.warn_only: item 0 'not a package'"
    ):
        load_policy(repo)


def test_a_comment_only_change_sends_no_document(repo: Path) -> None:
    with_policies(repo)
    change = make_change(repo, {"base/api.yaml": lambda t: t.replace("# api", "# api (reviewed)", 1)}, [])
    results = rego_results(validate(change, context(repo)))
    assert {(r.rule_id, r.message) for r in results} == {
        (GPU, "not applicable: no Kubernetes object created or modified"),
        (RAI, "not applicable: no Kubernetes object created or modified"),
    }


def test_policies_compile_once_per_repository_model(repo: Path) -> None:
    with_policies(repo)
    index = GitOpsRepo.load(repo)
    assert policies_for(index) is policies_for(index)
    assert [p.path for p in policies_for(index).policies] == [GPU, RAI]


def test_v1_syntax_libraries_and_shared_packages_keep_their_own_file(tmp_path: Path) -> None:
    files = {
        "lib.rego": "package lib\nimport rego.v1\nbig(n) if n > 2\n",
        "a.rego": 'package main\nimport rego.v1\ndeny contains "a" if data.lib.big(input.n)\n',
        "b.rego": 'package main\ndeny[msg] { input.n == 3; msg := "b" }\nwarn[msg] { msg := "always" }\n',
    }
    compiled = compile_policies(files)
    assert compiled.libraries == ("lib.rego",)
    got = {p.path: [(m.rule, m.message) for m in p.evaluate({"n": 3})] for p in compiled.policies}
    assert got == {"a.rego": [("deny", "a")], "b.rego": [("deny", "b"), ("warn", "always")]}


def test_print_in_a_policy_goes_to_stderr_not_stdout(capfd: pytest.CaptureFixture[str]) -> None:
    compiled = compile_policies({"p.rego": 'package p\ndeny[msg] { print("debug", input.n); msg := "x" }\n'})
    capfd.readouterr()
    assert [m.message for m in compiled.policies[0].evaluate({"n": 1})] == ["x"]
    out, err = capfd.readouterr()
    assert out == "" and "debug 1" in err


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("package x\ndeny[msg] {\n  input.a ==\n}\n", "p.rego:3: Invalid boolean operator"),
        ("deny[msg] { msg := 1 }\n", "p.rego:1: no package declaration"),
        ("package x\ndeny[msg] { msg := f(1) }\n", "p.rego:2: calls f(), which is neither"),
        ("package x\n" + "[" * 70 + "\n", "p.rego:2: nested deeper than 64 levels"),
        (b"package x\n\xff", "p.rego: not UTF-8 text"),
        ("package x\x00", "p.rego:1: NUL character"),
        (
            'package x\ndeny[m] {\n  m := input.a with input as {"a": 1}\n}\n',
            "p.rego:3: `with` is not supported",
        ),
    ],
)
def test_a_broken_policy_is_one_line_naming_file_and_line(text: str | bytes, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        compile_policies({"p.rego": text})
    assert str(info.value).startswith(message) and "\n" not in str(info.value)


def test_the_sample_repository_policies_load() -> None:
    compiled = load_policies(ROOT / "examples" / "gitops-repo")
    assert [p.path for p in compiled.policies] == [GPU, RAI]


def test_changed_documents_of_a_new_file_are_creates(repo: Path) -> None:
    from guardrails.parse_diff import parse_files

    change = make_change(repo, {"apps/llm.yaml": INFERENCE.format(gpus=1)}, [])
    ctx = context(repo)
    docs = changed_documents(parse_files(change, ctx), ctx.repo_index(), {"apps/llm.yaml"})
    assert [(d.operation, d.key) for d in docs] == [("CREATE", "ml-prod/Deployment/llm-serving")]
    review = docs[0].review()["request"]
    assert review["kind"] == {"group": "apps", "version": "v1", "kind": "Deployment"}
    assert review["oldObject"] is None


def test_a_policy_failing_while_evaluating_fails_closed_and_names_its_own_file(repo: Path) -> None:
    """The call passes the load-time check (a library defines an ``f``) but names a package
    that has none: the error surfaces only when a Deployment is judged. The policy evaluated
    beside it in the same group still gives its own verdict."""
    folder = repo / ".costpilot" / "policies"
    folder.mkdir(parents=True)
    (folder / "lib.rego").write_text("package lib\nf(x) = x\n")
    (folder / "broken.rego").write_text(
        'package broken\ndeny[msg] { input.request.kind.kind == "Deployment"; data.other.f(1) == 1; msg := "m" }\n'
    )
    (folder / "fine.rego").write_text(
        'package fine\nwarn[msg] { input.request.kind.kind == "Deployment"; msg := "seen" }\n'
    )
    change = make_change(repo, {"base/web.yaml": lambda t: t.replace("replicas: 1", "replicas: 2", 1)}, [])
    results = {(r.rule_id, r.verdict, r.message) for r in rego_results(validate(change, context(repo)))}
    assert results == {
        (
            ".costpilot/policies/broken.rego",
            Verdict.fail,
            f"could not evaluate on {ns}/Deployment/web: Function not found: data.other.f",
        )
        for ns in ("shop-dev", "shop-prod")
    } | {(".costpilot/policies/fine.rego", Verdict.warn, "seen")}


def test_a_nul_in_a_value_cannot_hide_the_rest_of_the_string_from_a_policy() -> None:
    compiled = compile_policies(
        {"p.rego": 'package p\nimport rego.v1\ndeny contains "latest" if endswith(input.image, ":latest")\n'}
    )
    assert compiled.evaluate_all({"image": "registry.example/x\x00:latest"}) == {
        "p.rego": [RegoMessage("deny", "latest")]
    }
    assert compiled.evaluate_all({"image": 2**70}) == {"p.rego": []}  # a huge int is text, not a crash
