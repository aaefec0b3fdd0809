"""The sample GitOps repository, rendered as text from the catalogue.

Rendered by hand (not by a YAML dumper) so the files look like people wrote them: comments,
quoted CPU integers, multi-document files. A patcher must keep all of that intact. The
committed copy lives in ``examples/gitops-repo/``; a test asserts it equals this output.
"""

from __future__ import annotations

from pathlib import Path

from evals.sampledata import ai_catalog as ai
from evals.sampledata.catalog import (
    ENVS,
    SERVICES,
    TEAMS,
    Container,
    Resources,
    Service,
    namespace,
    services_of,
    team,
)
from evals.sampledata.rego_policies import sample_policies

# Comments a platform team would leave next to a value (keyed by service name).
_WHY_PROD = {
    "payments-api": "# sized for the Black Friday peak (capacity review 2026-09)",
    "ledger": "# DBA asked for headroom before the Q3 migration",
    "search-indexer": "# full reindex used to need 4 cores; incremental since 3.6",
    "clickhouse": "# merges are memory hungry",
    "embedding-worker": "# batch size 64 needs more CPU",
}


def _q(value: str) -> str:
    """Quote bare integers so YAML keeps CPU quantities as strings ("1", "2")."""
    return f'"{value}"' if value.isdigit() else value


def _resources(res: Resources, indent: int, comment: str | None = None) -> list[str]:
    pad = " " * indent
    lines = [f"{pad}resources:" + (f"  {comment}" if comment else "")]
    requests = [(k, v) for k, v in (("cpu", res.cpu_request), ("memory", res.memory_request)) if v]
    limits = [(k, v) for k, v in (("cpu", res.cpu_limit), ("memory", res.memory_limit)) if v]
    for title, items in (("requests", requests), ("limits", limits)):
        if items:
            lines.append(f"{pad}  {title}:")
            lines.extend(f"{pad}    {k}: {_q(v)}" for k, v in items)
    return lines


def _container(c: Container, indent: int, port: int | None) -> list[str]:
    pad = " " * indent
    lines = [f"{pad}- name: {c.name}", f"{pad}  image: {c.image}"]
    if c.container_type == "sidecar":
        # Native sidecar (Kubernetes ≥ 1.29): an init container that keeps running.
        lines.append(f"{pad}  restartPolicy: Always  # native sidecar")
    if port is not None:
        lines += [f"{pad}  ports:", f"{pad}    - containerPort: {port}"]
    lines += _resources(c.resources, indent + 2)
    return lines


def _labels(s: Service, indent: int, with_opt_out: bool) -> list[str]:
    pad = " " * indent
    lines = [f"{pad}app.kubernetes.io/name: {s.name}", f"{pad}app.kubernetes.io/part-of: {s.team}"]
    if with_opt_out and s.opt_out:
        lines.append(f'{pad}costpilot.io/opt-out: "true"  # owner declined automated changes')
    return lines


def render_workload(s: Service) -> str:
    """base/<team>/<service>.yaml: the workload (+ its Service) with base resources."""
    t = team(s.team)
    lines = [
        f"# {s.name} — owned by team {s.team} ({t.cost_center})",
        "apiVersion: apps/v1",
        f"kind: {s.kind}",
    ]
    lines += ["metadata:", f"  name: {s.name}", "  labels:", *_labels(s, 4, True)]
    lines += ["  annotations:", f"    costpilot.io/cost-center: {t.cost_center}", "spec:"]
    if s.kind == "StatefulSet":
        lines.append(f"  serviceName: {s.name}")
    lines += ["  replicas: 1", "  selector:", "    matchLabels:", f"      app.kubernetes.io/name: {s.name}"]
    lines += ["  template:", "    metadata:", "      labels:", *_labels(s, 8, False), "    spec:"]
    inits = [c for c in s.containers if c.container_type in ("init", "sidecar")]
    regular = [c for c in s.containers if c.container_type == "regular"]
    if inits:
        lines.append("      initContainers:")
        for c in inits:
            lines += _container(c, 8, None)
    lines.append("      containers:")
    for i, c in enumerate(regular):
        lines += _container(c, 8, s.port if i == 0 else None)
    if s.kind == "StatefulSet":
        lines += [
            "  volumeClaimTemplates:",
            "    - metadata:",
            "        name: data",
            "      spec:",
            "        accessModes: [ReadWriteOnce]",
            "        resources:",
            "          requests:",
            "            storage: 50Gi",
        ]
    if s.with_service:
        lines += [
            "---",
            "apiVersion: v1",
            "kind: Service",
            "metadata:",
            f"  name: {s.name}",
            "  labels:",
            *_labels(s, 4, False),
            "spec:",
            "  selector:",
            f"    app.kubernetes.io/name: {s.name}",
            "  ports:",
            f"    - port: {s.port}",
            f"      targetPort: {s.port}",
        ]
    return "\n".join(lines) + "\n"


def _kustomized(team_name: str) -> tuple[Service, ...]:
    return tuple(s for s in services_of(team_name) if not s.chart)


def render_base_kustomization(team_name: str) -> str:
    lines = ["apiVersion: kustomize.config.k8s.io/v1beta1", "kind: Kustomization", "resources:"]
    lines += [f"  - {s.name}.yaml" for s in _kustomized(team_name)]
    return "\n".join(lines) + "\n"


def render_prod_patch(s: Service) -> str | None:
    """overlays/prod/<team>/patches/<service>.yaml, or None when prod inherits everything."""
    set_replicas = s.hpa is None  # HPA-managed workloads leave replicas to the HPA
    if not set_replicas and not s.prod_resources:
        return None
    lines = ["apiVersion: apps/v1", f"kind: {s.kind}", "metadata:", f"  name: {s.name}", "spec:"]
    if set_replicas:
        lines.append(f"  replicas: {s.prod_replicas}")
    if s.prod_resources:
        lines += ["  template:", "    spec:", "      containers:"]
        for name, res in s.prod_resources.items():
            lines.append(f"        - name: {name}")
            lines += _resources(res, 10, _WHY_PROD.get(s.name))
    return "\n".join(lines) + "\n"


def render_hpas(team_name: str) -> str | None:
    docs = []
    for s in _kustomized(team_name):
        if s.hpa is None:
            continue
        h = s.hpa
        lines = [
            "apiVersion: autoscaling/v2",
            "kind: HorizontalPodAutoscaler",
            "metadata:",
            f"  name: {s.name}",
            "spec:",
            "  scaleTargetRef:",
            "    apiVersion: apps/v1",
            f"    kind: {s.kind}",
            f"    name: {s.name}",
            f"  minReplicas: {h.min_replicas}",
            f"  maxReplicas: {h.max_replicas}",
            "  metrics:",
        ]
        for metric in h.metrics:
            lines += [
                "    - type: Resource",
                "      resource:",
                f"        name: {metric}",
                "        target:",
                "          type: Utilization",
                f"          averageUtilization: {h.target_utilization}",
            ]
        docs.append("\n".join(lines))
    if not docs:
        return None
    return (
        "# Autoscaling for production; targets are % of the container requests\n"
        + "\n---\n".join(docs)
        + "\n"
    )


def render_pdbs(team_name: str) -> str | None:
    docs = []
    for s in _kustomized(team_name):
        if s.pdb_min_available is None:
            continue
        docs.append(
            "\n".join(
                [
                    "apiVersion: policy/v1",
                    "kind: PodDisruptionBudget",
                    "metadata:",
                    f"  name: {s.name}",
                    "spec:",
                    f"  minAvailable: {s.pdb_min_available}",
                    "  selector:",
                    "    matchLabels:",
                    f"      app.kubernetes.io/name: {s.name}",
                ]
            )
        )
    return "\n---\n".join(docs) + "\n" if docs else None


def _team_overlay(team_name: str, env: str, files: dict[str, str]) -> str:
    """overlays/<env>/<team>/kustomization.yaml (+ its patches/HPA/PDB files into ``files``)."""
    base = f"overlays/{env}/{team_name}"
    resources = [f"../../../base/{team_name}"]
    patches: list[str] = []
    if env == "prod":
        for extra, render in (("hpa.yaml", render_hpas), ("pdb.yaml", render_pdbs)):
            text = render(team_name)
            if text:
                files[f"{base}/{extra}"] = text
                resources.append(extra)
        for s in _kustomized(team_name):
            patch = render_prod_patch(s)
            if patch:
                files[f"{base}/patches/{s.name}.yaml"] = patch
                patches.append(f"patches/{s.name}.yaml")
    lines = [
        "apiVersion: kustomize.config.k8s.io/v1beta1",
        "kind: Kustomization",
        f"namespace: {namespace(team_name, env)}",
        "labels:",
        "  - pairs:",
        f"      env: {env}",
        f"      team: {team_name}",
        "resources:",
        *[f"  - {r}" for r in resources],
    ]
    if patches:
        lines += ["patches:", *[f"  - path: {p}" for p in patches]]
    return "\n".join(lines) + "\n"


def _env_kustomization(env: str) -> str:
    comment = {
        "prod": "# Production: cluster prod-eu-1. Replicas and some resources are set here.",
        "staging": "# Staging: cluster nonprod-eu-1, inherits base sizes.",
        "dev": "# Development: cluster nonprod-eu-1, one replica of everything.",
    }[env]
    teams = [t.name for t in TEAMS if _kustomized(t.name)]
    lines = [comment, "apiVersion: kustomize.config.k8s.io/v1beta1", "kind: Kustomization", "resources:"]
    lines += [f"  - {t}" for t in teams]
    return "\n".join(lines) + "\n"


def _chart_files(s: Service) -> dict[str, str]:
    c = s.containers[0]
    chart = (
        f"apiVersion: v2\nname: {s.name}\ndescription: {s.name} for team {s.team}\nversion: 0.3.0\n"
        "dependencies:\n  - name: service  # the shared company chart renders the Deployment\n"
        "    version: 4.2.0\n    repository: oci://registry.acme.example/charts\n"
    )
    lines = [
        f"# Defaults for {s.name}; values-<env>.yaml overrides per environment",
        "image:",
        f"  repository: {c.image.rsplit(':', 1)[0]}",
        f'  tag: "{c.image.rsplit(":", 1)[1]}"',
        "replicaCount: 1",
        "labels:",
        f"  app.kubernetes.io/part-of: {s.team}",
        *_resources(c.resources, 0, "# applies to every environment"),
        "service:",
        f"  port: {s.port}",
    ]
    prod = [f"# Production overrides for {s.name} (namespace {namespace(s.team, 'prod')})"]
    if s.hpa:
        h = s.hpa
        prod += [
            "autoscaling:",
            "  enabled: true",
            f"  minReplicas: {h.min_replicas}",
            f"  maxReplicas: {h.max_replicas}",
        ]
        helm_names = {"cpu": "CPU", "memory": "Memory"}
        prod += [f"  target{helm_names[m]}UtilizationPercentage: {h.target_utilization}" for m in h.metrics]
    else:
        prod.append(f"replicaCount: {s.prod_replicas}")
    return {
        f"charts/{s.name}/Chart.yaml": chart,
        f"charts/{s.name}/values.yaml": "\n".join(lines) + "\n",
        f"charts/{s.name}/values-prod.yaml": "\n".join(prod) + "\n",
    }


def render_routing() -> str:
    lines = [
        "# Feature → model routing, read by the LLM gateway",
        "models:            # the allow-list, with quality tier (1 low … 3 high) and context window (tokens)",
    ]
    lines += [f"  {m.name}: {{tier: {m.tier}, context_window: {m.context_window}}}" for m in ai.MODELS]
    lines.append("features:")
    for f in ai.FEATURES:
        lines.append(
            f"  {f.name}: {{model: {f.model}, min_tier: {f.min_tier}, min_context: {f.min_context}, team: {f.team}}}"
        )
    return "\n".join(lines) + "\n"


_README = """# Acme GitOps repository (costpilot sample)

Generated by `costpilot sample gitops --out DIR` from `evals/sampledata/catalog.py`; do not edit by
hand, regenerate instead (a test checks this copy equals the generator's output).

```
base/<team>/<service>.yaml          Deployment or StatefulSet (+ Service), base requests/limits
base/<team>/kustomization.yaml
overlays/<env>/kustomization.yaml   env = dev | staging | prod; lists the team folders
overlays/<env>/<team>/kustomization.yaml   namespace <team>-<env>
overlays/prod/<team>/patches/<service>.yaml  prod replicas and, for some services, resources
overlays/prod/<team>/hpa.yaml       HorizontalPodAutoscalers (autoscaling/v2), multi-document
overlays/prod/<team>/pdb.yaml       PodDisruptionBudgets, multi-document
charts/<service>/values.yaml        Helm values for services deployed from the shared chart
charts/<service>/values-prod.yaml   their production overrides (replicas / autoscaling)
ai/routing.yaml                     LLM feature → model routing and the model allow-list
.costpilot/policy.yaml              costpilot guardrail policy (reviewed like any change)
```

Where a value lives: production requests/limits come from the prod patch when it sets
`resources` for that container, otherwise from `base/`. Dev and staging always use `base/`.
Services with a chart (`charts/<service>/`) take resources from `values.yaml` in every
environment. Clusters: `prod-eu-1` (prod), `nonprod-eu-1` (staging, dev).
Workloads labelled `costpilot.io/opt-out: "true"` must not be changed automatically.
"""


def render_repo() -> dict[str, str]:
    """Every file of the sample GitOps repo: relative path → text (sorted, deterministic)."""
    files: dict[str, str] = {"README.md": _README}
    files[".costpilot/README.md"] = (
        "costpilot reads its guardrail policy from `policy.yaml` in this folder.\n"
    )
    files["ai/routing.yaml"] = render_routing()
    for t in TEAMS:
        kustomized = _kustomized(t.name)
        if kustomized:
            files[f"base/{t.name}/kustomization.yaml"] = render_base_kustomization(t.name)
        for s in kustomized:
            files[f"base/{t.name}/{s.name}.yaml"] = render_workload(s)
        for env in ENVS:
            if kustomized:
                files[f"overlays/{env}/{t.name}/kustomization.yaml"] = _team_overlay(t.name, env, files)
    for env in ENVS:
        files[f"overlays/{env}/kustomization.yaml"] = _env_kustomization(env)
    for s in SERVICES:
        if s.chart:
            files.update(_chart_files(s))
    files.update(sample_policies())  # the company's Rego policies, as the seeds print them
    return dict(sorted(files.items()))


def write_gitops_repo(out_dir: Path) -> list[Path]:
    """Write the repo files under ``out_dir`` (existing other files, e.g. policy.yaml, are kept)."""
    written = []
    for rel, text in render_repo().items():
        path = out_dir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
