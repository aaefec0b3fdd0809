"""The resources behind the sample bill: one row per resource per day.

Each resource carries its static FOCUS attributes (provider, service, account, region, tags …)
and a cost model (weekday base cost, weekend level, trend, noise). Both the demo bill and the
bulk benchmark bill are built from these; the bulk one repeats them with numbered suffixes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace

import numpy as np

from evals.sampledata import cloud
from evals.sampledata.catalog import PLATFORM_TEAM, TEAMS, team

UNTAGGED_SHARE = 0.055  # of resources (GCP tax rows add ~1% of rows, also untagged)


@dataclass(frozen=True)
class Resource:
    provider: str
    service: str  # cloud.SERVICES key
    team: str
    env: str
    feature: str
    region_id: str
    region_name: str
    zone: str | None
    sub_id: str
    sub_name: str
    resource_id: str | None
    resource_name: str | None
    resource_type: str | None
    unit: str | None
    sku: str | None
    meter: str
    list_price: str  # USD per unit
    pricing_category: str
    billed_share: float  # billed / contracted (spot < 1)
    tags: str | None  # JSON object text, "{}" or None when untagged
    base_cost: float  # USD per weekday (EffectiveCost)
    weekend: float
    slope: float  # relative growth per day
    sigma: float  # daily multiplicative noise
    tagged: bool
    cluster: str | None = None
    node_pool: str | None = None
    charge_category: str = "Usage"
    charge_frequency: str = "Usage-Based"
    charge_class: str | None = None  # "Correction": a refund or restatement of an earlier period
    note: str | None = None  # ChargeDescription for non-usage rows

    @property
    def description(self) -> str:
        if self.note:
            return self.note
        return f"${self.list_price} per {self.unit} for {self.meter} in {self.region_name}"


_ID_TEMPLATES = {
    "aws": "arn:aws:{ns}:{region}:{sub}:{rtype}/{name}",
    "azure": "/subscriptions/{sub}/resourceGroups/rg-{team}-{env}/providers/{ns}/{rtype}/{name}",
    "gcp": "//{ns}/projects/{sub}/locations/{region}/{rtype}/{name}",
}
_NAMESPACES = {
    "ec2": ("ec2", "instance"),
    "rds": ("rds", "db"),
    "elasticache": ("elasticache", "cluster"),
    "s3": ("s3", "bucket"),
    "cloudfront": ("cloudfront", "distribution"),
    "dynamodb": ("dynamodb", "table"),
    "lambda": ("lambda", "function"),
    "opensearch": ("es", "domain"),
    "msk": ("kafka", "cluster"),
    "cloudwatch": ("logs", "log-group"),
    "eks": ("eks", "cluster"),
    "vpc": ("ec2", "natgateway"),
    "vm": ("Microsoft.Compute", "virtualMachines"),
    "sql": ("Microsoft.Sql", "servers"),
    "cosmos": ("Microsoft.DocumentDB", "databaseAccounts"),
    "blob": ("Microsoft.Storage", "storageAccounts"),
    "redis": ("Microsoft.Cache", "redis"),
    "monitor": ("Microsoft.OperationalInsights", "workspaces"),
    "gce": ("compute.googleapis.com", "instances"),
    "bigquery": ("bigquery.googleapis.com", "datasets"),
    "gcs": ("storage.googleapis.com", "buckets"),
    "vertex": ("aiplatform.googleapis.com", "endpoints"),
    "cloudsql": ("sqladmin.googleapis.com", "instances"),
    "pubsub": ("pubsub.googleapis.com", "topics"),
}
_ZONAL = {"ec2", "rds", "elasticache", "vm", "gce", "cloudsql", "opensearch", "msk"}


def resource_id(
    provider: str, service: str, sub: str, region: str, team_name: str, env: str, name: str
) -> str:
    ns, rtype = _NAMESPACES[service]
    return _ID_TEMPLATES[provider].format(
        ns=ns, region=region, sub=sub, rtype=rtype, name=name, team=team_name, env=env
    )


def _tags(
    rng: np.random.Generator, provider: cloud.Provider, team_name: str, env: str, feature: str, name: str
) -> dict[str, str]:
    keys = provider.tag_keys
    tags = {
        str(rng.choice(keys["team"])): team_name,
        str(rng.choice(keys["env"])): env,
    }
    if rng.random() < 0.8:
        tags[str(rng.choice(keys["feature"]))] = feature
    if rng.random() < 0.85:
        tags[str(rng.choice(keys["cost_center"]))] = team(team_name).cost_center
    tags["Name" if provider.key == "aws" else "name"] = name
    if rng.random() < 0.5:
        tags["managed-by"] = "terraform"
    return tags


def untagged_copy(r: Resource) -> Resource:
    """The same resource as an export shows it when its tags are missing."""
    return replace(r, tags=_tag_text(r.provider, None), tagged=False)


def _tag_text(provider: str, tags: dict[str, str] | None) -> str | None:
    if tags is not None:
        return json.dumps(tags)
    # how "no tags" looks differs by export: AWS null, Azure an empty object, GCP null
    return "{}" if provider == "azure" else None


def _weights(rng: np.random.Generator, n: int) -> np.ndarray:
    w = rng.uniform(0.5, 1.5, n)
    return w / w.sum()


def plan_resources(seed: int, untagged_share: float = UNTAGGED_SHARE) -> list[Resource]:
    """Every team's cloud resources (PLAN), the shared node pools and the untagged stragglers."""
    rng = np.random.default_rng([seed, 2])
    out: list[Resource] = []
    for t in (*TEAMS, PLATFORM_TEAM):
        for service_key, prod_cost, count in cloud.PLAN[t.name]:
            svc = cloud.SERVICES[service_key]
            prov = cloud.PROVIDERS[svc.provider]
            for env, share in cloud.ENV_SHARE.items():
                n = count if env == "prod" else max(1, count // 2) if env == "staging" else 1
                for i, w in enumerate(_weights(rng, n)):
                    region_id, region_name = prov.regions[0] if rng.random() < 0.8 else prov.regions[1]
                    sub_id, sub_name = prov.sub_accounts[env]
                    name = f"{t.name}-{env}-{service_key}-{i + 1}"
                    feature = str(rng.choice(t.features))
                    tags = _tags(rng, prov, t.name, env, feature, name)
                    zone = (
                        f"{region_id}{'abc'[i % 3]}"
                        if service_key in _ZONAL and svc.provider == "aws"
                        else None
                    )
                    out.append(
                        Resource(
                            provider=svc.provider,
                            service=service_key,
                            team=t.name,
                            env=env,
                            feature=feature,
                            region_id=region_id,
                            region_name=region_name,
                            zone=zone,
                            sub_id=sub_id,
                            sub_name=sub_name,
                            resource_id=resource_id(
                                svc.provider, service_key, sub_id, region_id, t.name, env, name
                            ),
                            resource_name=name,
                            resource_type=svc.resource_type,
                            unit=svc.unit,
                            sku=svc.sku,
                            meter=svc.meter,
                            list_price=svc.list_price,
                            pricing_category="Standard",
                            billed_share=1.0,
                            tags=_tag_text(svc.provider, tags),
                            base_cost=prod_cost * share * float(w),
                            weekend=svc.weekend,
                            slope=float(rng.normal(0.0003, 0.0002)),
                            sigma=0.0 if service_key == "eks" else 0.03,
                            tagged=True,
                        )
                    )
    out = _untag_some(rng, out, untagged_share)
    out.extend(_node_pools(rng))
    return out


def _untag_some(rng: np.random.Generator, resources: list[Resource], share: float) -> list[Resource]:
    """Untag a fixed share of team resources (a resource stays untagged every day, as in life)."""
    candidates = [i for i, r in enumerate(resources) if r.team != "platform"]
    chosen = set(rng.choice(candidates, round(share * len(resources)), replace=False).tolist())
    return [
        replace(r, tags=_tag_text(r.provider, None), tagged=False) if i in chosen else r
        for i, r in enumerate(resources)
    ]


def _node_pools(rng: np.random.Generator) -> list[Resource]:
    """Kubernetes nodes: one vCPU-Hours and one GiB-Hours resource per pool (price per unit)."""
    prov = cloud.PROVIDERS["aws"]
    ec2 = cloud.SERVICES["ec2"]
    out = []
    for cluster, env, pool, nodes, vcpu, gib, cpu_price, gib_price, share in cloud.NODE_POOLS:
        sub_id, sub_name = prov.sub_accounts[env]
        region_id, region_name = prov.regions[0]
        name = f"eks-{cluster}-{pool}"
        rid = f"arn:aws:autoscaling:{region_id}:{sub_id}:autoScalingGroup:{name}"
        tags = {
            "user:team": "platform",
            "user:env": env,
            "user:cost_center": PLATFORM_TEAM.cost_center,
            "cluster": cluster,
            "node_pool": pool,
            "eks:cluster-name": cluster,
        }
        for unit, meter, amount, price, sku in (
            ("vCPU-Hours", "vCPU", vcpu, cpu_price, "EKSN0DEVCPU8"),
            ("GiB-Hours", "Memory", gib, gib_price, "EKSN0DEMEM32"),
        ):
            hours = nodes * amount * 24
            out.append(
                Resource(
                    provider="aws",
                    service="ec2",
                    team="platform",
                    env=env,
                    feature="kubernetes",
                    region_id=region_id,
                    region_name=region_name,
                    zone=None,
                    sub_id=sub_id,
                    sub_name=sub_name,
                    resource_id=rid,
                    resource_name=name,
                    resource_type=ec2.resource_type,
                    unit=unit,
                    sku=sku,
                    meter=meter,
                    list_price=price,
                    pricing_category="Dynamic" if share < 1 else "Standard",
                    billed_share=share,
                    tags=json.dumps(tags),
                    base_cost=hours * float(price) * (1 - prov.discount) * share,
                    weekend=0.85,
                    slope=float(rng.normal(0.0003, 0.0001)),
                    sigma=0.01,
                    tagged=True,
                    cluster=cluster,
                    node_pool=pool,
                )
            )
    return out
