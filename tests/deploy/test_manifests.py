"""The kustomize base in ``deploy/base`` and the ``Dockerfile``: every manifest the base lists is
schema-valid (kubernetes-validate, strict, offline; the resources list is read here, no
``kustomize`` binary), and the properties operations rely on hold: two replicas with probes on
``/healthz`` and ``/readyz``, non-root, Secret references and never a secret value, the CronJob
schedules, a PodDisruptionBudget and a NetworkPolicy selecting the serve pods."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
BASE = ROOT / "deploy" / "base"
K8S_VERSION = "1.30.0"  # the oldest version we claim; CronJob.spec.timeZone is GA since 1.27
SECRET_NAMES = {
    "COSTPILOT_DATABASE_URL", "COSTPILOT_WAREHOUSE_URL", "SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET",
    "SLACK_APP_TOKEN", "GITHUB_TOKEN", "COSTPILOT_GITHUB_APP_KEY_FILE",
}  # fmt: skip
TOKEN_SHAPES = re.compile(r"xox[abp]-|xapp-|ghp_|github_pat_|gh[su]_|sk-[A-Za-z0-9]|://[^/\s:@]+:[^@\s]+@")


def kustomization() -> dict[str, Any]:
    return yaml.safe_load((BASE / "kustomization.yaml").read_text())


def manifests() -> list[tuple[str, dict[str, Any]]]:
    """Every document of every file in the base's ``resources`` list, with its file name."""
    docs = []
    for name in kustomization()["resources"]:
        for doc in yaml.safe_load_all((BASE / name).read_text()):
            if doc is not None:
                docs.append((name, doc))
    return docs


def by_kind(kind: str) -> list[dict[str, Any]]:
    return [doc for _, doc in manifests() if doc["kind"] == kind]


def pod_specs() -> list[tuple[str, dict[str, Any]]]:
    specs = [(d["metadata"]["name"], d["spec"]["template"]["spec"]) for d in by_kind("Deployment")]
    specs += [
        (c["metadata"]["name"], c["spec"]["jobTemplate"]["spec"]["template"]["spec"])
        for c in by_kind("CronJob")
    ]
    return specs


def test_the_base_lists_every_manifest_file_and_each_is_schema_valid() -> None:
    k = kustomization()
    assert (k["apiVersion"], k["kind"]) == ("kustomize.config.k8s.io/v1beta1", "Kustomization")
    listed = set(k["resources"])
    on_disk = {p.name for p in BASE.glob("*.yaml")} - {"kustomization.yaml"}
    assert listed == on_disk, "a manifest not listed in kustomization.yaml is never applied"
    assert [i["name"] for i in k["images"]] == ["costpilot"]
    for name, doc in manifests():
        try:
            kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{name}: {doc['kind']} {doc['metadata']['name']}: {exc.message} at {list(exc.path)}")
    kinds = sorted(doc["kind"] for _, doc in manifests())
    assert kinds == sorted(["ServiceAccount", "ConfigMap", "Deployment", "Service", "PodDisruptionBudget",
                            "CronJob", "CronJob", "NetworkPolicy"])  # fmt: skip


def test_a_broken_manifest_is_refused_by_the_validator() -> None:
    """The check above can fail: a misspelt field and a wrong type are both refused."""
    [deployment] = by_kind("Deployment")
    misspelt = {**deployment, "spec": {**deployment["spec"], "replica": 2}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(misspelt, K8S_VERSION, strict=True)
    wrong = {**deployment, "spec": {**deployment["spec"], "replicas": "two"}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(wrong, K8S_VERSION, strict=True)


def test_serve_runs_two_replicas_with_probes_resources_and_a_disruption_budget() -> None:
    [deployment] = by_kind("Deployment")
    spec = deployment["spec"]
    assert spec["replicas"] == 2
    [container] = spec["template"]["spec"]["containers"]
    assert container["args"][0] == "serve" and "--schedule" not in container["args"]  # CronJobs schedule
    port = {p["name"]: p["containerPort"] for p in container["ports"]}["http"]
    assert container["args"][container["args"].index("--port") + 1] == str(port)
    probe = {k: (container[k]["httpGet"]["path"], container[k]["httpGet"]["port"])
             for k in ("livenessProbe", "readinessProbe", "startupProbe")}  # fmt: skip
    assert probe == {"livenessProbe": ("/healthz", "http"), "readinessProbe": ("/readyz", "http"),
                     "startupProbe": ("/healthz", "http")}  # fmt: skip
    # The readiness probe outlasts the server's own 5 s bound on its checks.
    assert container["readinessProbe"]["timeoutSeconds"] > 5
    assert {"cpu", "memory"} <= set(container["resources"]["requests"])
    assert "memory" in container["resources"]["limits"]
    labels = spec["template"]["metadata"]["labels"]
    assert spec["selector"]["matchLabels"].items() <= labels.items()
    [pdb] = by_kind("PodDisruptionBudget")
    assert (
        pdb["spec"]["minAvailable"] == 1
        and pdb["spec"]["selector"]["matchLabels"] == spec["selector"]["matchLabels"]
    )
    [service] = by_kind("Service")
    assert service["spec"]["selector"] == spec["selector"]["matchLabels"]
    assert service["spec"]["ports"][0]["targetPort"] == "http"
    [policy] = by_kind("NetworkPolicy")
    assert policy["spec"]["podSelector"]["matchLabels"].items() <= labels.items()
    assert set(policy["spec"]["policyTypes"]) == {"Ingress", "Egress"}
    ingress_ports = {p["port"] for rule in policy["spec"]["ingress"] for p in rule["ports"]}
    assert ingress_ports == {port}
    egress_ports = {p["port"] for rule in policy["spec"]["egress"] for p in rule["ports"]}
    assert egress_ports == {53, 5432, 443}


@pytest.mark.parametrize(("name", "schedule", "command"), [
    ("costpilot-digest", "0 9 * * 1", ["digest", "--post"]),
    ("costpilot-scan", "0 6 * * *", ["scan", "--post"]),
])  # fmt: skip
def test_cronjobs_run_the_digest_weekly_and_the_scan_daily(
    name: str, schedule: str, command: list[str]
) -> None:
    [job] = [c for c in by_kind("CronJob") if c["metadata"]["name"] == name]
    assert job["spec"]["schedule"] == schedule and job["spec"]["timeZone"] == "Etc/UTC"
    assert job["spec"]["concurrencyPolicy"] == "Forbid"
    [container] = job["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
    assert container["args"] == command


def test_every_pod_runs_as_non_root_with_a_read_only_root() -> None:
    for name, pod in pod_specs():
        ctx = pod["securityContext"]
        assert ctx["runAsNonRoot"] is True and ctx["runAsUser"] != 0, name
        assert ctx["seccompProfile"]["type"] == "RuntimeDefault", name
        assert pod["automountServiceAccountToken"] is False, name
        for container in pod["containers"]:
            c = container["securityContext"]
            assert c["allowPrivilegeEscalation"] is False and c["readOnlyRootFilesystem"] is True, name
            assert c["capabilities"]["drop"] == ["ALL"], name
            # A read-only root needs somewhere to write: the workspace and /tmp are volumes.
            assert {"/data", "/tmp"} <= {m["mountPath"] for m in container["volumeMounts"]}, name


def test_secrets_are_references_never_values() -> None:
    assert not by_kind("Secret"), "the base must not carry a Secret: it is created from a secret store"
    for name, pod in pod_specs():
        for container in pod["containers"]:
            for var in container.get("env", []):
                if var["name"] in SECRET_NAMES:
                    assert "value" not in var, f"{name}: {var['name']} has a literal value"
                    ref = var["valueFrom"]["secretKeyRef"]
                    assert (ref["name"], ref["key"]) == ("costpilot-secrets", var["name"]), name
            refs = {var["name"] for var in container.get("env", []) if "valueFrom" in var}
            assert {"COSTPILOT_DATABASE_URL", "SLACK_BOT_TOKEN", "GITHUB_TOKEN"} <= refs, name
    [config] = by_kind("ConfigMap")
    assert not SECRET_NAMES & set(config["data"]), "a secret in the ConfigMap"
    for file in [BASE / n for n in kustomization()["resources"]] + [ROOT / "Dockerfile"]:
        text = file.read_text()
        assert not TOKEN_SHAPES.search(text), f"{file.name}: something shaped like a token or a password"


def test_the_secret_check_catches_a_literal_value() -> None:
    assert TOKEN_SHAPES.search("value: xoxb-1234-abcd") and TOKEN_SHAPES.search("postgresql://u:pw@db/x")
    assert not TOKEN_SHAPES.search("postgresql://costpilot@db/x")


def test_the_dockerfile_builds_a_wheel_and_runs_it_as_non_root_with_a_healthcheck() -> None:
    text = (ROOT / "Dockerfile").read_text()
    stages = re.findall(r"^FROM (\S+) AS (\w+)$", text, flags=re.MULTILINE)
    assert [alias for _, alias in stages] == ["build", "runtime"]
    build, runtime = text.split("AS runtime", 1)
    assert "python -m build --wheel" in build
    assert "COPY --from=build /dist /dist" in runtime and "/dist/*.whl" in runtime
    assert "COPY . " not in text and "tests" not in re.findall(r"^COPY (\S+)", text, flags=re.MULTILINE)
    users = re.findall(r"^USER (\S+)$", runtime, flags=re.MULTILINE)
    assert users and users[-1].split(":")[0] not in ("root", "0")
    assert re.search(r"^HEALTHCHECK .*\n.*/healthz", runtime, flags=re.MULTILINE)
    # The image's user is the one the manifests run as.
    assert users[-1].split(":")[0] == str(pod_specs()[0][1]["securityContext"]["runAsUser"])
    # Every package of the wheel (pyproject's find.include) is copied into the build stage.
    copied = set(re.findall(r"^COPY (\w+) \./\1$", build, flags=re.MULTILINE))
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packaged = {p.rstrip("*") for p in pyproject["tool"]["setuptools"]["packages"]["find"]["include"]}
    assert copied == packaged
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".git", ".venv", "tests"} <= set(ignored)
