"""The query layer on Apache Spark: a FOCUS table in Parquet, as a lakehouse holds it.

``COSTPILOT_WAREHOUSE_URL=spark+parquet://LOCATION[?master=MASTER]`` — LOCATION is what
``spark.read.parquet`` takes (``/lake/focus``, ``s3a://bucket/focus/``, ``abfss://…``); MASTER
(``local[2]``, ``spark://host:7077``, ``yarn``) is only needed outside ``spark-submit`` and
Databricks, which bring their own session. The Parquet becomes the temporary view ``cost_facts``
and Ibis' PySpark backend runs the same expressions as on DuckDB.

The table may be costpilot's own ``cost_facts`` (written to Parquet) or a provider's FOCUS
export: allocation dimensions it lacks are derived from ``Tags`` with the configured aliases
(``(untagged)`` when none is set), and cost columns stored as floating point are read as
``DECIMAL(38, 12)`` so totals are exact decimal sums on Spark too.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from domain.errors import ConfigError, DataError
from warehouse.config import DEFAULT_TAG_ALIASES, UNTAGGED
from warehouse.facts import COST_COLUMNS, FACT_TABLE, MONEY_SQL

if TYPE_CHECKING:
    import ibis

SPARK_SCHEME = "spark+parquet://"
_SESSION_CONF = {
    "spark.sql.session.timeZone": "UTC",  # FOCUS times are UTC; day and month cut in UTC
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",  # stderr stays for costpilot's own lines
}
# On one machine the default 200 shuffle partitions make every GROUP BY slow (a cluster keeps its own).
_LOCAL_CONF = {"spark.sql.shuffle.partitions": "4"}


@dataclass(frozen=True)
class SparkLocation:
    location: str
    master: str | None = None


def is_spark_url(target: object) -> bool:
    return str(target).startswith(SPARK_SCHEME)


def parse_spark_url(url: str) -> SparkLocation:
    """``spark+parquet://LOCATION[?master=MASTER]`` → its parts (the query string is costpilot's)."""
    rest = url[len(SPARK_SCHEME) :]
    location, _, query = rest.partition("?")
    options = parse_qs(query, keep_blank_values=True)
    unknown = sorted(set(options) - {"master"})
    if not location or unknown:
        problem = f"unknown option {unknown[0]!r}" if unknown else "no Parquet location"
        raise ConfigError(
            f"COSTPILOT_WAREHOUSE_URL {url.split('?')[0]}: {problem}; "
            "expected spark+parquet://LOCATION[?master=local[2]]"
        )
    master = options.get("master", [None])[0] or None
    return SparkLocation(location=location, master=master)


def _tag_value(key: str) -> str:
    escaped = key.replace("\\", "\\\\").replace("'", "\\'")
    return f"NULLIF(TRIM(element_at(__tags, '{escaped}')), '')"


def _cost_facts_sql(columns: dict[str, str], tag_aliases: dict[str, list[str]]) -> str:
    """SELECT over the raw view ``__focus`` that gives it cost_facts' shape."""
    select: list[str] = []
    for name, spark_type in columns.items():
        quoted = f"`{name.replace('`', '``')}`"
        if name in COST_COLUMNS and not spark_type.startswith("decimal(38,12)"):
            select.append(f"CAST({quoted} AS {MONEY_SQL.replace(' ', '')}) AS {quoted}")
        else:
            select.append(quoted)
    lower = {c.lower() for c in columns}
    has_tags = "tags" in lower
    for dim, keys in tag_aliases.items():
        if dim.lower() in lower:
            continue
        picks = [_tag_value(k) for k in keys] if has_tags else []
        select.append(f"COALESCE({', '.join([*picks, repr(UNTAGGED)])}) AS `{dim}`")
    tags = ", from_json(CAST(Tags AS STRING), 'map<string,string>') AS __tags" if has_tags else ""
    return f"SELECT {', '.join(select)} FROM (SELECT *{tags} FROM __focus)"


def _session(master: str | None) -> tuple[Any, bool]:
    """The SparkSession, and whether it was running before (a cluster's, a job's: not ours to stop)."""
    # PySpark 4 warns about pandas 3 on import and on every result it converts; the results
    # used here (decimals, strings, dates) convert exactly (tests/warehouse/test_spark_queries.py).
    warnings.filterwarnings("ignore", "PySpark does not yet fully support pandas", FutureWarning)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        try:
            from pyspark.sql import SparkSession
        except ImportError:
            raise ConfigError(
                "a spark+parquet:// warehouse needs PySpark: pip install 'costpilot[spark]'"
            ) from None
    existed = SparkSession.getActiveSession() is not None
    builder = SparkSession.builder.appName("costpilot")
    if master:
        builder = builder.master(master)
    conf = {**_SESSION_CONF, **(_LOCAL_CONF if master and master.startswith("local") else {})}
    for key, value in conf.items():
        builder = builder.config(key, value)
    try:
        session = builder.getOrCreate()
    except Exception as exc:  # the JVM did not start: Java missing, a bad master …
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigError(
            f"Spark did not start ({first[:200]}); it needs Java 17+ (Debian: openjdk-17-jre-headless)"
        ) from None
    # getOrCreate may hand back a session that already existed (Databricks, spark-submit).
    session.conf.set("spark.sql.session.timeZone", "UTC")
    if not existed:
        session.sparkContext.setLogLevel("ERROR")
    return session, existed


def open_spark(url: str, tag_aliases: dict[str, list[str]] | None = None) -> ibis.BaseBackend:
    """An Ibis PySpark backend whose ``cost_facts`` is the Parquet table at the URL's location."""
    import ibis

    target = parse_spark_url(url)
    session, existed = _session(target.master)
    try:
        frame = session.read.parquet(target.location)
    except Exception as exc:  # AnalysisException: no such path, not Parquet …
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"{target.location}: cannot read the FOCUS Parquet table ({first[:200]})") from None
    frame.createOrReplaceTempView("__focus")
    columns = {field.name: field.dataType.simpleString() for field in frame.schema.fields}
    missing = [c for c in ("ChargePeriodStart", "EffectiveCost", "BillingCurrency") if c not in columns]
    if missing:
        raise DataError(f"{target.location}: not a FOCUS table (no column {', '.join(missing)})")
    sql = _cost_facts_sql(columns, tag_aliases or DEFAULT_TAG_ALIASES)
    session.sql(sql).createOrReplaceTempView(FACT_TABLE)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        backend = ibis.pyspark.connect(session)
    if existed:
        # Closing costpilot's handle must not stop a session it found running.
        backend.disconnect = lambda: None  # type: ignore[method-assign]
    return backend
