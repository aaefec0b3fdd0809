"""The one catalogue every sample generator reads: teams, environments, clouds, workloads.

Keeping teams, services and Kubernetes workloads in one place is what makes the sample data
consistent: the GitOps manifests, the utilization samples and the bill all describe the same
company ("Acme"), so a right-sizing finding on ``payments-prod/ledger`` has a manifest to patch
and a node price in the bill to value it with.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Literal

ContainerType = Literal["regular", "sidecar", "init"]
Kind = Literal["Deployment", "StatefulSet"]
# How a workload behaves in the utilization samples (see utilization.py for the shapes).
Behaviour = Literal["overprovisioned", "rightsized", "idle", "hpa", "oom"]

DEFAULT_END = date(2026, 11, 22)
DEFAULT_SEED = 7
ENVS: tuple[str, ...] = ("prod", "staging", "dev")
CLUSTER_BY_ENV: dict[str, str] = {"prod": "prod-eu-1", "staging": "nonprod-eu-1", "dev": "nonprod-eu-1"}

_UNITS = {"Ki": 1024, "Mi": 1024**2, "Gi": 1024**3, "Ti": 1024**4}


def cpu_cores(quantity: str | None) -> float | None:
    """Kubernetes CPU quantity ("250m", "2") in cores; None when unset."""
    if quantity is None:
        return None
    if quantity.endswith("m"):
        return int(quantity[:-1]) / 1000
    return float(quantity)


def memory_bytes(quantity: str | None) -> float | None:
    """Kubernetes memory quantity ("512Mi", "4Gi") in bytes; None when unset."""
    if quantity is None:
        return None
    for suffix, factor in _UNITS.items():
        if quantity.endswith(suffix):
            return float(int(quantity[: -len(suffix)]) * factor)
    return float(quantity)


@dataclass(frozen=True)
class Resources:
    """Requests and limits as Kubernetes quantities (None = not set)."""

    cpu_request: str | None
    memory_request: str | None
    cpu_limit: str | None = None
    memory_limit: str | None = None


@dataclass(frozen=True)
class Container:
    name: str
    image: str
    resources: Resources
    container_type: ContainerType = "regular"
    # Usage as a fraction of the request (CPU) / of the limit-or-request (memory) in prod.
    cpu_use: float = 0.5
    mem_use: float = 0.6


@dataclass(frozen=True)
class Hpa:
    metrics: tuple[str, ...]  # "cpu" and/or "memory"
    min_replicas: int
    max_replicas: int
    target_utilization: int  # percent of the request


@dataclass(frozen=True)
class Service:
    """One application of a team; deployed once per environment (a workload per env)."""

    name: str
    team: str
    kind: Kind
    containers: tuple[Container, ...]
    behaviour: Behaviour  # in prod
    prod_replicas: int = 2
    # Containers whose prod requests/limits are set in the prod overlay (else inherited from base).
    prod_resources: dict[str, Resources] = field(default_factory=dict)
    hpa: Hpa | None = None  # prod only
    pdb_min_available: int | None = None  # prod only
    opt_out: bool = False  # label costpilot.io/opt-out: "true"
    chart: bool = False  # deployed from charts/<name>/values.yaml instead of kustomize base
    with_service: bool = True  # base file also carries a Service document (multi-document YAML)
    idle_in: tuple[str, ...] = ()  # non-prod environments where it sits idle
    restarts: int = 0  # rollouts inside the sample window (pod names change)
    port: int = 8080


@dataclass(frozen=True)
class Team:
    name: str
    cost_center: str
    features: tuple[str, ...]
    provider: str  # main cloud provider key (aws, azure, gcp)


@dataclass(frozen=True)
class Workload:
    """A service in one environment, with the resources that are effective there."""

    service: Service
    env: str
    cluster: str
    namespace: str
    replicas: int
    containers: tuple[Container, ...]  # resources already resolved for this env
    behaviour: Behaviour

    @property
    def name(self) -> str:
        return self.service.name

    @property
    def kind(self) -> Kind:
        return self.service.kind

    @property
    def team(self) -> str:
        return self.service.team


TEAMS: tuple[Team, ...] = (
    Team("payments", "CC-1001", ("card-payments", "payouts", "fraud-explainer"), "aws"),
    Team("search", "CC-1002", ("search-summary", "query-rewrite", "indexing"), "aws"),
    Team("checkout", "CC-1003", ("checkout-assistant", "cart", "promotions"), "aws"),
    Team("identity", "CC-1004", ("login", "support-chat", "directory"), "azure"),
    Team("data-platform", "CC-1005", ("pipelines", "warehouse", "sql-assistant"), "gcp"),
    Team("ml-platform", "CC-1006", ("inference", "embeddings", "code-review"), "gcp"),
    Team("growth", "CC-1007", ("recommendations", "email-personalization", "experiments"), "azure"),
)
# The platform team owns the shared Kubernetes clusters (node cost in the bill).
PLATFORM_TEAM = Team("platform", "CC-1000", ("kubernetes",), "aws")
TEAM_NAMES: tuple[str, ...] = tuple(t.name for t in TEAMS)

_ENVOY = Container(
    "envoy",
    "envoyproxy/envoy:v1.31.2",
    Resources("100m", "128Mi", None, "256Mi"),
    "sidecar",
    cpu_use=0.3,
    mem_use=0.5,
)
_OTEL = Container(
    "otel-collector",
    "otel/opentelemetry-collector:0.111.0",
    Resources("50m", "96Mi", None, "192Mi"),
    "sidecar",
    cpu_use=0.4,
    mem_use=0.55,
)


def _migrate(image: str) -> Container:
    return Container("db-migrate", image, Resources("100m", "128Mi", "500m", "256Mi"), "init", 0.8, 0.4)


def _img(name: str, tag: str = "1.14.2") -> str:
    return f"registry.acme.example/{name}:{tag}"


SERVICES: tuple[Service, ...] = (
    # payments ---------------------------------------------------------------------------
    Service(
        "payments-api",
        "payments",
        "Deployment",
        (
            _migrate(_img("payments-api", "2.31.0")),
            Container(
                "payments-api",
                _img("payments-api", "2.31.0"),
                Resources("1", "2Gi", None, "2Gi"),
                cpu_use=0.7,
            ),
            _ENVOY,
        ),
        "hpa",
        prod_resources={"payments-api": Resources("2", "4Gi", None, "4Gi")},
        hpa=Hpa(("cpu",), 3, 10, 70),
        pdb_min_available=2,
        idle_in=("dev",),
        restarts=2,
    ),
    Service(
        "ledger",
        "payments",
        "StatefulSet",
        (
            Container(
                "ledger",
                _img("ledger", "5.2.1"),
                Resources("500m", "1Gi", "1", "1Gi"),
                cpu_use=0.15,
                mem_use=0.3,
            ),
        ),
        "overprovisioned",
        prod_replicas=3,
        prod_resources={"ledger": Resources("2", "8Gi", "4", "8Gi")},
        pdb_min_available=2,
        port=5432,
    ),
    Service(
        "fraud-scorer",
        "payments",
        "Deployment",
        (
            Container(
                "fraud-scorer", _img("fraud-scorer", "0.9.4"), Resources("1", "3Gi", "2", "3Gi"), cpu_use=0.55
            ),
        ),
        "oom",
        prod_replicas=2,
        idle_in=("staging",),
    ),
    # search -----------------------------------------------------------------------------
    Service(
        "search-api",
        "search",
        "Deployment",
        (
            Container(
                "search-api", _img("search-api", "3.8.0"), Resources("500m", "1Gi", None, "1Gi"), cpu_use=0.65
            ),
            _OTEL,
        ),
        "hpa",
        hpa=Hpa(("cpu",), 2, 8, 65),
        pdb_min_available=1,
        restarts=1,
    ),
    Service(
        "search-indexer",
        "search",
        "Deployment",
        (
            Container(
                "search-indexer",
                _img("search-indexer", "3.8.0"),
                Resources("1", "2Gi", "2", "2Gi"),
                cpu_use=0.1,
                mem_use=0.2,
            ),
        ),
        "overprovisioned",
        prod_replicas=2,
        prod_resources={"search-indexer": Resources("4", "8Gi", "4", "8Gi")},
        with_service=False,
        idle_in=("dev", "staging"),
    ),
    Service(
        "search-ranker",
        "search",
        "Deployment",
        (
            Container(
                "search-ranker",
                _img("search-ranker", "1.2.7"),
                Resources("750m", "3Gi", None, "4Gi"),
                cpu_use=0.6,
                mem_use=0.7,
            ),
        ),
        "hpa",
        hpa=Hpa(("memory",), 2, 6, 75),
    ),
    # checkout ---------------------------------------------------------------------------
    Service(
        "checkout-web",
        "checkout",
        "Deployment",
        (
            Container(
                "checkout-web",
                _img("checkout-web", "7.0.3"),
                Resources("500m", "512Mi", None, "1Gi"),
                cpu_use=0.6,
            ),
            _ENVOY,
        ),
        "hpa",
        hpa=Hpa(("cpu", "memory"), 3, 12, 70),
        pdb_min_available=2,
        restarts=2,
    ),
    Service(
        "cart-service",
        "checkout",
        "Deployment",
        (
            Container(
                "cart-service",
                _img("cart-service", "4.4.0"),
                Resources("250m", "512Mi", "500m", "512Mi"),
                cpu_use=0.75,
                mem_use=0.7,
            ),
        ),
        "rightsized",
        prod_replicas=3,
        pdb_min_available=2,
        idle_in=("dev",),
    ),
    Service(
        "cart-redis",
        "checkout",
        "StatefulSet",
        (
            Container(
                "redis", "redis:7.4.1", Resources("500m", "4Gi", None, "4Gi"), cpu_use=0.2, mem_use=0.25
            ),
            Container(
                "redis-exporter",
                "oliver006/redis_exporter:v1.66.0",
                Resources("50m", "64Mi", None, "128Mi"),
                cpu_use=0.3,
                mem_use=0.5,
            ),
        ),
        "overprovisioned",
        prod_replicas=3,
        pdb_min_available=2,
        port=6379,
    ),
    # identity ---------------------------------------------------------------------------
    Service(
        "auth-api",
        "identity",
        "Deployment",
        (
            _migrate(_img("auth-api", "9.1.0")),
            Container(
                "auth-api",
                _img("auth-api", "9.1.0"),
                Resources("500m", "1Gi", None, "1536Mi"),
                cpu_use=0.6,
                mem_use=0.72,
            ),
        ),
        "hpa",
        hpa=Hpa(("memory",), 2, 6, 80),
        pdb_min_available=1,
        idle_in=("dev",),
    ),
    Service(
        "session-store",
        "identity",
        "StatefulSet",
        (
            Container(
                "session-store",
                "valkey/valkey:8.0.1",
                Resources("250m", "1Gi", "500m", "1Gi"),
                cpu_use=0.7,
                mem_use=0.75,
            ),
        ),
        "rightsized",
        prod_replicas=3,
        pdb_min_available=2,
        port=6379,
    ),
    Service(
        "user-directory",
        "identity",
        "Deployment",
        (
            Container(
                "user-directory",
                _img("user-directory", "2.0.9"),
                Resources("1", "2Gi", None, "2Gi"),
                cpu_use=0.08,
                mem_use=0.25,
            ),
        ),
        "overprovisioned",
        prod_replicas=2,
        opt_out=True,
        idle_in=("dev", "staging"),
    ),
    # data-platform ----------------------------------------------------------------------
    Service(
        "kafka-connect",
        "data-platform",
        "Deployment",
        (
            Container(
                "kafka-connect",
                "confluentinc/cp-kafka-connect:7.7.1",
                Resources("2", "4Gi", None, "4Gi"),
                cpu_use=0.12,
                mem_use=0.4,
            ),
        ),
        "overprovisioned",
        prod_replicas=2,
        chart=True,
        with_service=False,
        idle_in=("dev",),
    ),
    Service(
        "airflow-scheduler",
        "data-platform",
        "Deployment",
        (
            _migrate("apache/airflow:2.10.3"),
            Container(
                "airflow-scheduler",
                "apache/airflow:2.10.3",
                Resources("500m", "1Gi", "1", "1Gi"),
                cpu_use=0.7,
                mem_use=0.7,
            ),
        ),
        "rightsized",
        prod_replicas=1,
        with_service=False,
        idle_in=("staging",),
        restarts=3,
    ),
    Service(
        "clickhouse",
        "data-platform",
        "StatefulSet",
        (
            Container(
                "clickhouse",
                "clickhouse/clickhouse-server:24.8",
                Resources("2", "8Gi", None, "8Gi"),
                cpu_use=0.65,
                mem_use=0.7,
            ),
            _OTEL,
        ),
        "rightsized",
        prod_replicas=3,
        prod_resources={"clickhouse": Resources("4", "16Gi", None, "16Gi")},
        pdb_min_available=2,
        idle_in=("dev",),
        port=8123,
    ),
    # ml-platform ------------------------------------------------------------------------
    Service(
        "inference-gateway",
        "ml-platform",
        "Deployment",
        (
            Container(
                "inference-gateway",
                _img("inference-gateway", "0.22.1"),
                Resources("1", "1Gi", None, "2Gi"),
                cpu_use=0.65,
            ),
        ),
        "hpa",
        hpa=Hpa(("cpu",), 2, 8, 60),
        chart=True,
    ),
    Service(
        "feature-store",
        "ml-platform",
        "StatefulSet",
        (
            Container(
                "feature-store",
                _img("feature-store", "1.6.0"),
                Resources("2", "8Gi", None, "8Gi"),
                cpu_use=0.1,
                mem_use=0.3,
            ),
        ),
        "overprovisioned",
        prod_replicas=2,
        idle_in=("dev", "staging"),
        port=6566,
    ),
    Service(
        "embedding-worker",
        "ml-platform",
        "Deployment",
        (
            Container(
                "embedding-worker",
                _img("embedding-worker", "0.4.2"),
                Resources("1", "2Gi", "2", "2Gi"),
                cpu_use=0.6,
            ),
        ),
        "oom",
        prod_replicas=2,
        prod_resources={"embedding-worker": Resources("1500m", "2Gi", "2", "2Gi")},
        with_service=False,
        idle_in=("dev",),
        restarts=2,
    ),
    # growth -----------------------------------------------------------------------------
    Service(
        "recommendations",
        "growth",
        "Deployment",
        (
            Container(
                "recommendations",
                _img("recommendations", "5.3.0"),
                Resources("500m", "1Gi", None, "1Gi"),
                cpu_use=0.65,
            ),
            _ENVOY,
        ),
        "hpa",
        hpa=Hpa(("cpu",), 2, 10, 70),
        pdb_min_available=1,
        idle_in=("dev",),
    ),
    Service(
        "email-worker",
        "growth",
        "Deployment",
        (
            Container(
                "email-worker",
                _img("email-worker", "1.9.1"),
                Resources("250m", "256Mi", "500m", "512Mi"),
                cpu_use=0.7,
                mem_use=0.7,
            ),
        ),
        "rightsized",
        prod_replicas=2,
        with_service=False,
        idle_in=("staging",),
        restarts=2,
    ),
    Service(
        "experiments-api",
        "growth",
        "Deployment",
        (
            Container(
                "experiments-api",
                _img("experiments-api", "0.14.0"),
                Resources("1", "2Gi", None, "2Gi"),
                cpu_use=0.05,
                mem_use=0.2,
            ),
        ),
        "overprovisioned",
        prod_replicas=2,
        opt_out=True,
        idle_in=("dev", "staging"),
    ),
)


def team(name: str) -> Team:
    """The catalogue entry of a team (platform included)."""
    for t in (*TEAMS, PLATFORM_TEAM):
        if t.name == name:
            return t
    raise KeyError(name)


def namespace(team_name: str, env: str) -> str:
    """Namespaces are ``<team>-<env>``."""
    return f"{team_name}-{env}"


def _env_replicas(service: Service, env: str) -> int:
    if env != "prod":
        return 1
    return service.hpa.min_replicas if service.hpa else service.prod_replicas


def _env_containers(service: Service, env: str) -> tuple[Container, ...]:
    if env != "prod":
        return service.containers
    out = []
    for c in service.containers:
        override = service.prod_resources.get(c.name)
        out.append(
            Container(c.name, c.image, override, c.container_type, c.cpu_use, c.mem_use) if override else c
        )
    return tuple(out)


def _env_behaviour(service: Service, env: str) -> Behaviour:
    if env == "prod":
        return service.behaviour
    if env in service.idle_in:
        return "idle"
    # Non-prod copies of HPA/OOM services run plainly: no HPA there, smaller load.
    return "rightsized" if service.behaviour in ("hpa", "oom", "rightsized") else "overprovisioned"


def workloads() -> tuple[Workload, ...]:
    """Every service in every environment: 21 services × 3 envs = 63 workloads."""
    out = []
    for env in ENVS:
        for s in SERVICES:
            out.append(
                Workload(
                    service=s,
                    env=env,
                    cluster=CLUSTER_BY_ENV[env],
                    namespace=namespace(s.team, env),
                    replicas=_env_replicas(s, env),
                    containers=_env_containers(s, env),
                    behaviour=_env_behaviour(s, env),
                )
            )
    return tuple(out)


def services_of(team_name: str) -> tuple[Service, ...]:
    return tuple(s for s in SERVICES if s.team == team_name)
