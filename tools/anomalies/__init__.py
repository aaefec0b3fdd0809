"""Anomaly checks: robust seasonal statistics, AWS-style threshold rules, root causes.

Public surface: ``find_anomalies`` (warehouse: usage baselines, one level below ``by``, tag
hygiene, non-usage charges apart), ``find_series_anomalies`` (a ``timestamp,value`` export,
resampled and said so), ``detect`` (pure, arrays in), their settings and result models.
"""

from tools.anomalies.detect import Detection, DetectorSettings, RawAnomaly, Status, detect
from tools.anomalies.models import Anomaly, AnomalyReport, NonUsageCharge, TagHygiene
from tools.anomalies.root_causes import RootCause
from tools.anomalies.seasonality import season_length
from tools.anomalies.series_file import SeriesFile, read_series_file
from tools.anomalies.service import find_anomalies, find_series_anomalies
from tools.anomalies.thresholds import ThresholdRule

__all__ = [
    "Anomaly",
    "AnomalyReport",
    "Detection",
    "DetectorSettings",
    "NonUsageCharge",
    "RawAnomaly",
    "RootCause",
    "SeriesFile",
    "Status",
    "TagHygiene",
    "ThresholdRule",
    "detect",
    "find_anomalies",
    "find_series_anomalies",
    "read_series_file",
    "season_length",
]
