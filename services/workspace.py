"""The workspace folder: warehouse file, state DB, logs and rejected-row files."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Workspace:
    """Paths inside one workspace (``--workspace DIR`` / ``COSTPILOT_HOME``)."""

    home: Path

    @property
    def warehouse_path(self) -> Path:
        return self.home / "warehouse.duckdb"

    @property
    def state_db_path(self) -> Path:
        return self.home / "state.sqlite"

    @property
    def logs_dir(self) -> Path:
        return self.home / "logs"

    @property
    def rejected_dir(self) -> Path:
        return self.home / "rejected"

    def state_db_url(self, configured: str | None) -> str:
        return configured or f"sqlite:///{self.state_db_path}"

    def ensure(self) -> Workspace:
        for folder in (self.home, self.logs_dir, self.rejected_dir):
            folder.mkdir(parents=True, exist_ok=True)
        return self
