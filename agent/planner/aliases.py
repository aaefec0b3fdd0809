"""Aliases: the short names people use for provider services, clouds, categories, envs and models.

Each alias names the dimension it belongs to and patterns that find the stored value: ``"=x"`` an
exact value, ``"!x"`` every value not containing x, anything else a substring. The value is
whatever the vocabulary holds (so "EC2" finds "Amazon Elastic Compute Cloud", or "Amazon EC2" in
a bill that spells it so); an alias that finds nothing is no filter.
"""

from __future__ import annotations

from dataclasses import dataclass

Target = tuple[
    str, tuple[str, ...]
]  # dimension, value patterns ("=x" exact, "!x" not containing, else substring)


@dataclass(frozen=True)
class Alias:
    phrases: tuple[str, ...]
    targets: tuple[Target, ...]  # tried in order; the first that finds values wins
    label: str  # what the alias stands for, for notes and for "not in the data"
    # A product name ("EC2") missing from the data is said so (and nothing is answered for it);
    # a generic word ("test", "blob") that finds nothing is simply not a filter.
    strict: bool = False


def _svc(phrases: str, label: str, *patterns: str, strict: bool = True) -> Alias:
    return Alias(tuple(p.strip() for p in phrases.split("|")), (("service", patterns),), label, strict)


ALIASES: tuple[Alias, ...] = (
    _svc(
        "ec2|ec2 instances|aws ec2|amazon ec2", "Amazon Elastic Compute Cloud", "elastic compute cloud", "ec2"
    ),
    _svc("s3|aws s3|amazon s3|s3 buckets", "Amazon Simple Storage Service", "simple storage service", "s3"),
    _svc(
        "rds|amazon rds|aws rds", "Amazon Relational Database Service", "relational database service", "rds"
    ),
    _svc("eks|amazon eks|aws eks", "Amazon Elastic Kubernetes Service", "elastic kubernetes service", "eks"),
    _svc("lambda|aws lambda|lambdas", "AWS Lambda", "lambda"),
    _svc("cloudwatch|cloud watch", "Amazon CloudWatch", "cloudwatch"),
    _svc("cloudfront|cloud front", "Amazon CloudFront", "cloudfront"),
    _svc("cdn", "CDN services", "cloudfront", "cdn", strict=False),
    _svc("dynamodb|dynamo|dynamo db", "Amazon DynamoDB", "dynamodb"),
    _svc("elasticache|elastic cache", "Amazon ElastiCache", "elasticache"),
    _svc("opensearch|open search|elasticsearch", "Amazon OpenSearch Service", "opensearch", "elasticsearch"),
    _svc(
        "msk|kafka",
        "Amazon Managed Streaming for Apache Kafka",
        "managed streaming for apache kafka",
        "kafka",
    ),
    _svc("vpc|nat gateway|nat gateways", "Amazon Virtual Private Cloud", "virtual private cloud", "vpc"),
    _svc("sagemaker", "Amazon SageMaker", "sagemaker"),
    _svc("bedrock|aws bedrock", "Amazon Bedrock", "bedrock"),
    _svc("bigquery|big query|bq", "BigQuery", "bigquery"),
    _svc("gce|compute engine|google compute engine", "Compute Engine", "compute engine"),
    _svc("gke|google kubernetes engine", "Google Kubernetes Engine", "kubernetes engine", "gke"),
    _svc("gcs|cloud storage|google cloud storage", "Cloud Storage", "cloud storage"),
    _svc("pubsub|pub/sub|pub sub|cloud pubsub", "Cloud Pub/Sub", "pub/sub", "pubsub"),
    _svc("cloud sql|cloudsql", "Cloud SQL", "cloud sql"),
    _svc("vertex|vertex ai", "Vertex AI", "vertex"),
    _svc("azure openai|azure open ai|aoai", "Azure OpenAI", "azure openai", "openai service"),
    _svc(
        "azure vms|azure vm|azure virtual machines|vms|virtual machines",
        "Virtual Machines",
        "=virtual machines",
        "virtual machines",
        strict=False,
    ),
    _svc("aks|azure kubernetes service", "Azure Kubernetes Service", "azure kubernetes service", "aks"),
    _svc("cosmos db|cosmos|cosmosdb|azure cosmos db", "Azure Cosmos DB", "cosmos db", "cosmos"),
    _svc("azure sql|azure sql database", "Azure SQL Database", "azure sql"),
    _svc("azure monitor|log analytics", "Azure Monitor", "azure monitor", "log analytics"),
    _svc(
        "azure storage|blob storage|blob|azure blob",
        "Azure Storage",
        "blob storage",
        "=storage",
        strict=False,
    ),
    _svc(
        "redis|azure redis|azure cache for redis",
        "Azure Cache for Redis",
        "cache for redis",
        "redis",
        strict=False,
    ),
    _svc("k8s", "Kubernetes services", "kubernetes", strict=False),
    Alias(
        ("aws", "amazon web services"), (("provider", ("=aws", "amazon web services", "aws")),), "AWS", True
    ),
    Alias(("amazon",), (("provider", ("=aws", "amazon web services", "aws")),), "AWS"),
    Alias(("azure", "microsoft azure"), (("provider", ("=microsoft", "azure", "microsoft")),), "Azure", True),
    Alias(("microsoft",), (("provider", ("=microsoft", "azure", "microsoft")),), "Microsoft"),
    Alias(
        ("gcp", "google cloud", "google cloud platform"),
        (("provider", ("=google cloud", "google cloud")),),
        "GCP",
        True,
    ),
    Alias(("google",), (("provider", ("=google", "=google cloud", "google")),), "Google"),
    Alias(
        ("ai", "a.i", "genai", "gen ai", "generative ai", "llm", "llms", "machine learning", "ml", "ai/ml"),
        (("category", ("ai and machine learning", "machine learning")),),
        "AI and Machine Learning",
    ),
    Alias(
        ("gpu", "gpus"),
        (("service", ("gpu",)), ("category", ("ai and machine learning", "machine learning"))),
        "GPU services",
    ),
    Alias(("database", "db", "dbs"), (("category", ("=databases", "database")),), "Databases"),
    Alias(
        ("network", "data transfer", "egress", "bandwidth"),
        (("category", ("=networking", "network")),),
        "Networking",
    ),
    Alias(
        ("monitoring", "observability", "logging"),
        (("category", ("management and governance",)),),
        "Management and Governance",
    ),
    Alias(("production", "prd"), (("env", ("=prod", "=production", "prod")),), "prod"),
    Alias(("development", "develop"), (("env", ("=dev", "=development", "dev")),), "dev"),
    Alias(("stage", "stg", "preprod", "pre-prod"), (("env", ("=staging", "=stage", "staging")),), "staging"),
    Alias(("test", "testing", "qa"), (("env", ("=test", "=qa", "test")),), "test"),
    Alias(
        ("nonprod", "non-prod", "non prod", "non-production", "non production", "lower environments"),
        (("env", ("!prod",)),),
        "every environment but prod",
    ),
    *(
        Alias((family,), (("model", (family,)),), f"{family} models")
        for family in ("claude", "gpt", "gemini", "sonnet", "haiku", "opus", "llama", "mistral", "deepseek")
    ),
)
