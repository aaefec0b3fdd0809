"""The CLI's one error edge: every kind of bad input is one line on stderr and exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("spend", "--bogus"), "No such option: --bogus (see `costpilot spend --help`)"),
        (("proposals", "show"), "Missing argument 'ID'."),
        (("idle", "--days", "0"), "Invalid value for '--days'"),
        (("--as-of", "2026-13-01", "rightsize"), "--as-of '2026-13-01': not a date (YYYY-MM-DD)"),
        (("frobnicate",), "No such command 'frobnicate'"),
    ],
)
def test_usage_errors_are_one_line_and_exit_2(
    run_cli, workspace: Path, args: tuple[str, ...], message: str
) -> None:  # type: ignore[no-untyped-def]
    result = run_cli(*args)
    assert result.code == 2
    assert result.err.startswith("costpilot: error: ") and message in result.err
    assert result.err.count("\n") == 1 and result.out == ""


def test_help_is_not_an_error(run_cli, workspace: Path) -> None:  # type: ignore[no-untyped-def]
    result = run_cli("--help")
    assert result.code == 0 and "spend" in result.out and result.err == ""
    bare = run_cli()
    assert bare.code == 0 and "Usage: costpilot" in bare.out
