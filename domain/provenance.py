"""Where a number came from, so a reply or a PR body can cite it."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, Field

from domain.period import Period


class Provenance(BaseModel):
    """The query, scope and data volume behind a tool result."""

    model_config = ConfigDict(frozen=True)

    tool: str = Field(description="registry name of the tool that computed the result")
    engine: str = Field(description="query engine, e.g. duckdb or postgres")
    query: str = Field(description="the SQL (or description of the computation) that was run")
    period: Period | None = None
    filters: dict[str, str] = Field(default_factory=dict)
    rows_scanned: int = Field(ge=0, description="fact rows inside the scope of the query")
    computed_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
