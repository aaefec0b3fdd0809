"""Results of an ingest: every row read is either loaded or rejected with a reason."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class IngestStatus(StrEnum):
    loaded = "loaded"
    already_ingested = "already_ingested"


class Replacement(BaseModel):
    """An older export whose rows a newer export of the same account and period replaced."""

    model_config = ConfigDict(frozen=True)

    path: str
    sha256: str
    rows_removed: int
    billing_accounts: list[str]
    billing_periods: list[str]


class IngestResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    path: str
    kind: str = Field(description="focus | llm-usage | utilization")
    sha256: str
    status: IngestStatus
    rows_read: int
    rows_loaded: int
    rows_rejected: int
    rejected_file: str | None = None
    extra_columns: list[str] = Field(default_factory=list, description="non-FOCUS columns kept as x_*")
    replaced: list[Replacement] = Field(default_factory=list)
    currency: str | None = None

    def summary_line(self) -> str:
        if self.status is IngestStatus.already_ingested:
            return f"{self.path}: already ingested (sha256 {self.sha256[:12]}), nothing changed"
        line = f"{self.path}: read {self.rows_read}, loaded {self.rows_loaded}, rejected {self.rows_rejected}"
        if self.rejected_file:
            line += f" (reasons in {self.rejected_file})"
        for rep in self.replaced:
            line += f"; replaced {rep.rows_removed} rows of older export {rep.path}"
        return line


class IngestReport(BaseModel):
    model_config = ConfigDict(frozen=True)

    files: list[IngestResult]

    @property
    def rows_read(self) -> int:
        return sum(f.rows_read for f in self.files)

    @property
    def rows_loaded(self) -> int:
        return sum(f.rows_loaded for f in self.files)

    @property
    def rows_rejected(self) -> int:
        return sum(f.rows_rejected for f in self.files)
