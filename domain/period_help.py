"""The period vocabulary in one line (imported by CLI help without loading pydantic)."""

PERIOD_HELP = (
    "yesterday, today, last-7d, last-30d, last-Nd, last-week (ISO week), this-week, this-month, "
    "last-month, YYYY-MM, YYYY-MM-DD, YYYY-MM-DD..YYYY-MM-DD (both days included)"
)
