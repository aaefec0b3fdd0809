"""Right-sizing tests import their helpers from ``rightsizing_helpers`` and ``utilization_factory``
(``tests/warehouse``), which this puts on the import path."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "warehouse"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
