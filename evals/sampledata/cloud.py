"""The cloud side of the catalogue: providers, their services, accounts, regions, tag styles,
and which team runs what where (the resource plan behind the sample bill)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Provider:
    key: str  # aws | azure | gcp
    name: str  # FOCUS ProviderName
    publisher: str  # FOCUS PublisherName / InvoiceIssuerName
    billing_account_id: str
    billing_account_name: str
    billing_account_type: str
    sub_account_type: str
    sub_accounts: dict[str, tuple[str, str]]  # env → (SubAccountId, SubAccountName)
    regions: tuple[tuple[str, str], ...]  # (RegionId, RegionName); the first is the home region
    discount: float  # negotiated discount: ContractedCost = ListCost × (1 - discount)
    tag_keys: dict[str, tuple[str, ...]]  # canonical dimension → the tag keys used at this provider


@dataclass(frozen=True)
class CloudService:
    key: str
    provider: str
    name: str  # FOCUS ServiceName
    category: str  # FOCUS ServiceCategory
    subcategory: str  # FOCUS ServiceSubcategory
    resource_type: str
    unit: str  # ConsumedUnit = PricingUnit
    list_price: str  # USD per unit (decimal string)
    sku: str
    meter: str
    weekend: float  # weekend level relative to weekdays (usage-driven services dip more)


# Every tag key used in the sample bill, by canonical dimension (configure these as aliases).
TAG_ALIASES: dict[str, tuple[str, ...]] = {
    "team": ("team", "Team", "user:team", "app.kubernetes.io/part-of"),
    "env": ("env", "environment", "Environment", "user:env", "user:environment"),
    "feature": ("feature", "Feature", "user:feature"),
    "cost_center": ("cost_center", "CostCenter", "cost-center", "user:cost_center"),
}

PROVIDERS: dict[str, Provider] = {
    "aws": Provider(
        "aws",
        "AWS",
        "Amazon Web Services, Inc.",
        "481516234200",
        "Acme Corp (payer)",
        "Management Account",
        "Member Account",
        {
            "prod": ("371204465512", "acme-prod"),
            "staging": ("590183347016", "acme-staging"),
            "dev": ("804417729953", "acme-dev"),
        },
        (("eu-west-1", "Europe (Ireland)"), ("us-east-1", "US East (N. Virginia)")),
        0.06,
        {
            "team": ("user:team", "user:team", "app.kubernetes.io/part-of", "team"),
            "env": ("user:env", "user:environment"),
            "feature": ("user:feature",),
            "cost_center": ("user:cost_center",),
        },
    ),
    "azure": Provider(
        "azure",
        "Microsoft",
        "Microsoft",
        "7a1c3e5f-0b2d-4e6f-8a9b-1c2d3e4f5a6b:61d7f0b2-2d3e-4f50-9a61-7b8c9d0e1f2a_2019-05-31",
        "Acme Corp EA",
        "Billing Account",
        "Subscription",
        {
            "prod": ("3f2b8c1d-5e6a-4b7c-9d0e-1f2a3b4c5d6e", "acme-prod-sub"),
            "staging": ("9c8b7a6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d", "acme-staging-sub"),
            "dev": ("1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d", "acme-dev-sub"),
        },
        (("westeurope", "West Europe"), ("northeurope", "North Europe")),
        0.0,
        {
            "team": ("Team", "team"),
            "env": ("Environment", "env"),
            "feature": ("Feature",),
            "cost_center": ("CostCenter",),
        },
    ),
    "gcp": Provider(
        "gcp",
        "Google Cloud",
        "Google Cloud",
        "01A2B3-C4D5E6-F7A8B9",
        "Acme Corp GCP billing",
        "Billing Account",
        "Project",
        {
            "prod": ("acme-data-prod", "Acme Data Prod"),
            "staging": ("acme-data-staging", "Acme Data Staging"),
            "dev": ("acme-sandbox-dev", "Acme Sandbox Dev"),
        },
        (("europe-west1", "Belgium"), ("us-central1", "Iowa")),
        0.03,
        {
            "team": ("team",),
            "env": ("env", "environment"),
            "feature": ("feature",),
            "cost_center": ("cost-center", "cost_center"),
        },
    ),
}


def _svc(key: str, provider: str, *rest: str | float) -> CloudService:
    name, cat, sub, rtype, unit, price, sku, meter, weekend = rest
    return CloudService(
        key,
        provider,
        str(name),
        str(cat),
        str(sub),
        str(rtype),
        str(unit),
        str(price),
        str(sku),
        str(meter),
        float(weekend),
    )


SERVICES: dict[str, CloudService] = {
    s.key: s
    for s in (
        _svc(
            "ec2",
            "aws",
            "Amazon Elastic Compute Cloud",
            "Compute",
            "Virtual Machines",
            "Instance",
            "Hours",
            "0.192",
            "B8Z3PX2E4QXC8F2K",
            "Compute Instance",
            0.9,
        ),
        _svc(
            "rds",
            "aws",
            "Amazon Relational Database Service",
            "Databases",
            "Relational Databases",
            "DB Instance",
            "Hours",
            "0.68",
            "QMCG9XMKV4RW2N7S",
            "Database Instance",
            0.97,
        ),
        _svc(
            "elasticache",
            "aws",
            "Amazon ElastiCache",
            "Databases",
            "Caching",
            "Cache Node",
            "Hours",
            "0.364",
            "7XRZ3MK8P2WQ5V9D",
            "Cache Instance",
            0.97,
        ),
        _svc(
            "s3",
            "aws",
            "Amazon Simple Storage Service",
            "Storage",
            "Object Storage",
            "Bucket",
            "GB-Month",
            "0.023",
            "WP9ANXZGBYYSGJEA",
            "Storage",
            0.98,
        ),
        _svc(
            "cloudfront",
            "aws",
            "Amazon CloudFront",
            "Networking",
            "Content Delivery",
            "Distribution",
            "GB",
            "0.085",
            "N5BHQ9Z7X3KJ2M4P",
            "Data Transfer Out",
            0.7,
        ),
        _svc(
            "dynamodb",
            "aws",
            "Amazon DynamoDB",
            "Databases",
            "NoSQL Databases",
            "Table",
            "WriteRequestUnits",
            "0.00000125",
            "R4E8FQ9WJTG6UXSZ",
            "Write Request",
            0.75,
        ),
        _svc(
            "lambda",
            "aws",
            "AWS Lambda",
            "Compute",
            "Serverless Compute",
            "Function",
            "Lambda-GB-Second",
            "0.0000166667",
            "TG3M4CAGBA3NYQBH",
            "Duration",
            0.7,
        ),
        _svc(
            "opensearch",
            "aws",
            "Amazon OpenSearch Service",
            "Analytics",
            "Search",
            "Domain",
            "Hours",
            "0.517",
            "D9KJ4M6ZQ2W8XP3R",
            "Instance",
            0.97,
        ),
        _svc(
            "msk",
            "aws",
            "Amazon Managed Streaming for Apache Kafka",
            "Analytics",
            "Streaming Analytics",
            "Cluster",
            "Hours",
            "0.42",
            "K7P2X9WM4Q8ZR3TD",
            "Broker Instance",
            0.95,
        ),
        _svc(
            "cloudwatch",
            "aws",
            "Amazon CloudWatch",
            "Management and Governance",
            "Observability",
            "Log Group",
            "GB",
            "0.57",
            "C4WZ8Q2MXR7PJ3KN",
            "Log Ingestion",
            0.8,
        ),
        _svc(
            "eks",
            "aws",
            "Amazon Elastic Kubernetes Service",
            "Compute",
            "Containers",
            "Cluster",
            "Hours",
            "0.10",
            "E6KS9Z3PQ4XW7M2R",
            "Cluster Hours",
            1.0,
        ),
        _svc(
            "vpc",
            "aws",
            "Amazon Virtual Private Cloud",
            "Networking",
            "Network Connectivity",
            "NAT Gateway",
            "GB",
            "0.048",
            "V2PC8N4ZQ7WX3MKR",
            "NAT Gateway Data Processed",
            0.8,
        ),
        _svc(
            "vm",
            "azure",
            "Virtual Machines",
            "Compute",
            "Virtual Machines",
            "Virtual machine",
            "Hours",
            "0.192",
            "DZH318Z0BQ4L",
            "D4s v5",
            0.9,
        ),
        _svc(
            "sql",
            "azure",
            "Azure SQL Database",
            "Databases",
            "Relational Databases",
            "SQL database",
            "Hours",
            "0.505",
            "DZH318Z0BQ5S",
            "vCore",
            0.97,
        ),
        _svc(
            "cosmos",
            "azure",
            "Azure Cosmos DB",
            "Databases",
            "NoSQL Databases",
            "Azure Cosmos DB account",
            "100 RU/s-Hours",
            "0.008",
            "DZH318Z09V5F",
            "100 RU/s",
            0.85,
        ),
        _svc(
            "blob",
            "azure",
            "Storage",
            "Storage",
            "Object Storage",
            "Storage account",
            "GB-Month",
            "0.0184",
            "DZH318Z0BNVX",
            "Hot LRS Data Stored",
            0.98,
        ),
        _svc(
            "redis",
            "azure",
            "Azure Cache for Redis",
            "Databases",
            "Caching",
            "Redis cache",
            "Hours",
            "0.337",
            "DZH318Z0BQ3C",
            "C2 Cache Instance",
            0.97,
        ),
        _svc(
            "monitor",
            "azure",
            "Azure Monitor",
            "Management and Governance",
            "Observability",
            "Log Analytics workspace",
            "GB",
            "2.76",
            "DZH318Z0BP04",
            "Analytics Logs Data Ingestion",
            0.8,
        ),
        _svc(
            "gce",
            "gcp",
            "Compute Engine",
            "Compute",
            "Virtual Machines",
            "Compute instance",
            "Hours",
            "0.19",
            "6F81-5844-456A",
            "N2 Instance Core and Ram",
            0.9,
        ),
        _svc(
            "bigquery",
            "gcp",
            "BigQuery",
            "Analytics",
            "Data Warehouses",
            "Dataset",
            "TiB",
            "6.25",
            "3362-E469-6BEF",
            "Analysis",
            0.6,
        ),
        _svc(
            "gcs",
            "gcp",
            "Cloud Storage",
            "Storage",
            "Object Storage",
            "Bucket",
            "GiB-Month",
            "0.020",
            "E5F0-6A5D-7BAD",
            "Standard Storage Europe",
            0.98,
        ),
        _svc(
            "vertex",
            "gcp",
            "Vertex AI",
            "AI and Machine Learning",
            "AI Platforms",
            "Endpoint",
            "Node-Hours",
            "0.75",
            "A2C5-8D3E-91F0",
            "Online Prediction Node",
            0.85,
        ),
        _svc(
            "cloudsql",
            "gcp",
            "Cloud SQL",
            "Databases",
            "Relational Databases",
            "Instance",
            "Hours",
            "0.41",
            "9E4A-1B7C-3D5F",
            "Cloud SQL for PostgreSQL",
            0.97,
        ),
        # GCP bills sales tax as its own daily line per project (untagged, no resource)
        _svc("tax", "gcp", "Taxes", "Other", "Other", "", "", "0", "", "Tax", 1.0),
        _svc(
            "pubsub",
            "gcp",
            "Cloud Pub/Sub",
            "Integration",
            "Messaging",
            "Topic",
            "TiB",
            "40",
            "5C6D-2E8F-4A1B",
            "Message Delivery Basic",
            0.75,
        ),
    )
}

# Daily prod cost (USD, weekday) of each team's cloud services; resource counts per service.
# staging ≈ 20% and dev ≈ 12% of prod, on fewer resources.
PLAN: dict[str, tuple[tuple[str, float, int], ...]] = {
    "payments": (
        ("ec2", 700, 3),
        ("rds", 900, 2),
        ("elasticache", 260, 2),
        ("s3", 120, 3),
        ("dynamodb", 380, 2),
        ("cloudwatch", 150, 2),
        ("vpc", 90, 1),
    ),
    "search": (
        ("opensearch", 1100, 3),
        ("ec2", 520, 2),
        ("s3", 160, 2),
        ("cloudfront", 300, 1),
        ("lambda", 140, 3),
        ("cloudwatch", 90, 1),
    ),
    "checkout": (
        ("ec2", 480, 2),
        ("rds", 540, 2),
        ("elasticache", 210, 1),
        ("cloudfront", 360, 2),
        ("lambda", 110, 2),
        ("s3", 70, 2),
    ),
    "identity": (
        ("vm", 420, 3),
        ("sql", 520, 2),
        ("cosmos", 310, 2),
        ("redis", 180, 1),
        ("monitor", 120, 1),
        ("blob", 60, 2),
    ),
    "data-platform": (
        ("bigquery", 1400, 4),
        ("gcs", 380, 4),
        ("pubsub", 240, 2),
        ("gce", 520, 3),
        ("msk", 450, 2),
        ("cloudsql", 200, 1),
    ),
    "ml-platform": (
        ("vertex", 1500, 3),
        ("gce", 1250, 4),
        ("gcs", 300, 3),
        ("bigquery", 260, 2),
        ("s3", 90, 1),
    ),
    "growth": (
        ("vm", 310, 2),
        ("cosmos", 280, 2),
        ("sql", 230, 1),
        ("blob", 90, 2),
        ("monitor", 70, 1),
        ("cloudfront", 150, 1),
    ),
    "platform": (("eks", 7.2, 2), ("vpc", 260, 2), ("cloudwatch", 160, 2), ("s3", 60, 1)),
}
ENV_SHARE: dict[str, float] = {"prod": 1.0, "staging": 0.2, "dev": 0.12}

# Kubernetes node pools: (cluster, env, pool, nodes on weekdays, vCPU per node, GiB per node,
# USD per vCPU-hour, USD per GiB-hour, billed share of list (spot < 1)).
NODE_POOLS: tuple[tuple[str, str, str, float, int, int, str, str, float], ...] = (
    ("prod-eu-1", "prod", "general", 60, 8, 32, "0.0398", "0.00344", 1.0),
    ("prod-eu-1", "prod", "memory", 16, 8, 64, "0.0331", "0.00452", 1.0),
    ("nonprod-eu-1", "staging", "spot-general", 20, 8, 32, "0.0398", "0.00344", 0.38),
)
