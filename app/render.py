"""Output: one JSON document for ``--json``, rich text otherwise. Progress on stderr.

Everything printed goes through ``SafeConsole``, which treats every string as data first:
secrets are redacted, control characters (ESC colour, OSC hyperlinks, screen clears) are
stripped, table cells are never rich markup, and nothing printed can carry a hyperlink. In a log
or a pipe (stdout not a terminal) a table is printed at its natural width, never cut or wrapped
at 80 columns; ``--format csv|markdown`` prints tables as CSV or GitHub Markdown instead.
"""

from __future__ import annotations

import csv
import io
import json
import re
import sys
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console, ConsoleOptions
from rich.errors import MarkupError
from rich.measure import Measurement
from rich.segment import Segment
from rich.table import Table
from rich.text import Text

from domain.errors import InputError
from domain.redaction import redact
from domain.text import markdown_cell, single_line, terminal_safe

if TYPE_CHECKING:
    from pydantic import BaseModel


def safe_text(text: str) -> str:
    """A string from data as it may reach a terminal: secrets hidden, no control characters."""
    return terminal_safe(redact(text))


def _cell_text(cell: Any) -> str:
    return cell.plain if isinstance(cell, Text) else str(cell)


def table_rows(table: Table, *, decoration: bool = False) -> tuple[list[str], list[list[str]]]:
    """A rich table's header and rows as plain one-line strings (secrets hidden). Columns with no
    header (bars, spacers) are decoration and left out unless ``decoration``."""
    columns = [c for c in table.columns if decoration or _cell_text(c.header).strip()]
    header = [single_line(redact(_cell_text(c.header))) for c in columns]
    cells = [[single_line(redact(_cell_text(v))) for v in c.cells] for c in columns]
    return header, [list(row) for row in zip(*cells, strict=False)] if cells else []


# "12,345.67 USD" as rendered by ``money``: in CSV a plain number, the currency in the header.
_GROUPED_INT = re.compile(r"^-?\d{1,3}(,\d{3})*$")
_MONEY_CELL = re.compile(r"^([+-]?)([\d,]+(?:\.\d+)?) ([A-Z]{3})$")


def _csv_values(header: list[str], rows: list[list[str]]) -> tuple[list[str], list[list[str]]]:
    """Money columns as plain decimals (``cost (USD)``) so a spreadsheet reads numbers."""
    for i, name in enumerate(header):
        if rows and all(_GROUPED_INT.match(row[i]) for row in rows):
            for row in rows:
                row[i] = row[i].replace(",", "")
            continue
        matches = [_MONEY_CELL.match(row[i]) for row in rows if row[i] not in ("", "–")]
        currencies = {m.group(3) for m in matches if m}
        if not matches or not all(matches) or len(currencies) != 1:
            continue
        header[i] = f"{name} ({currencies.pop()})"
        for row in rows:
            m = _MONEY_CELL.match(row[i])
            row[i] = f"{m.group(1)}{m.group(2).replace(',', '')}" if m else ""
    return header, rows


def _csv(table: Table) -> str:
    header, rows = _csv_values(*table_rows(table))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def _markdown(table: Table) -> str:
    header, rows = table_rows(table)
    lines = []
    if table.title:
        lines += [markdown_cell(redact(_cell_text(table.title))), ""]
    lines.append("| " + " | ".join(markdown_cell(h) for h in header) + " |")
    lines.append("|" + "|".join("---:" if _right(table, h) else "---" for h in header) + "|")
    lines += ["| " + " | ".join(markdown_cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def _right(table: Table, header: str) -> bool:
    return any(_cell_text(c.header) == header and c.justify == "right" for c in table.columns)


# How a table is written, by ``--format`` name ("table" is rich's own rendering).
TABLE_FORMATS: dict[str, Callable[[Table], str] | None] = {"table": None, "csv": _csv, "markdown": _markdown}
FORMAT_HELP = "tables as: " + " | ".join(TABLE_FORMATS) + " (csv and markdown print whole values)"


def format_option() -> Any:
    """The ``--format`` option of a tabular command (``fmt: str = format_option()``)."""
    return typer.Option("table", "--format", help=FORMAT_HELP)


class SafeConsole(Console):
    """A rich console for output that contains data (see the module docstring)."""

    table_format: str = "table"

    def render_str(self, text: str, **kwargs: Any) -> Text:  # type: ignore[override]
        """Strings are sanitised before markup is parsed; a malformed markup tag (a stray
        ``[/x]`` in a tag value) prints as text instead of raising."""
        clean = safe_text(text)
        try:
            return super().render_str(clean, **kwargs)
        except MarkupError:
            return super().render_str(clean, **{**kwargs, "markup": False})

    def render(self, renderable: Any, options: ConsoleOptions | None = None) -> Iterable[Segment]:
        # The last line of defence: no control character and no hyperlink in any printed text
        # (rich's own cursor/control segments pass; they never come from data).
        for segment in super().render(renderable, options):
            text, style, control = segment
            if control:
                yield segment
                continue
            if style is not None and style.link:
                style = style.update_link(None)
            yield Segment(_strip_controls(text), style)

    def print(self, *objects: Any, **kwargs: Any) -> None:  # type: ignore[override]
        tables = [o for o in objects if isinstance(o, Table)]
        writer = TABLE_FORMATS.get(self.table_format)
        if writer is not None and tables:  # --format csv|markdown: the tables only, as text
            for table in tables:
                self.file.write(writer(table))
            self.file.flush()
            return
        if self.table_format == "csv" and not self.stderr:
            # Lines beside the table (titles, notes) would break the CSV: they go to stderr.
            err_console.print(*objects, **kwargs)
            return
        for table in tables:
            _plain_cells(table)
        natural = max((self._natural_width(t) for t in tables), default=0)
        if self.is_terminal or natural <= self.width:
            super().print(*objects, **kwargs)
            return
        # A log or a pipe has no screen to fit: the table at its natural width (rich's print
        # caps ``width=`` at the console's own, so the console widens for this one print).
        saved = self._width
        self.width = natural
        try:
            super().print(*objects, **kwargs)
        finally:
            self._width = saved

    def _natural_width(self, table: Table) -> int:
        wide = self.options.update(width=10_000)
        width = Measurement.get(self, wide, table).maximum
        title = len(_cell_text(table.title)) if table.title else 0
        return max(width, title)


_CONTROLS = dict.fromkeys([*range(0x00, 0x09), *range(0x0B, 0x20), *range(0x7F, 0xA0)])


def _strip_controls(text: str) -> str:
    return text if text.isprintable() else text.translate(_CONTROLS)


def _plain_cells(table: Table) -> None:
    """Table cells are data: never rich markup, one line, no secrets or control characters."""
    for column in table.columns:
        column._cells = [  # rich keeps a column's cells here; the public ``cells`` is read-only
            Text(single_line(safe_text(c))) if isinstance(c, str) else c for c in column._cells
        ]


def use_format(name: str) -> None:
    """Print the tables of this command as ``name`` (``--format``); unknown names list the valid."""
    if name not in TABLE_FORMATS:
        raise InputError(f"--format {name!r}: not a table format; valid: {', '.join(TABLE_FORMATS)}")
    console.table_format = name


def reset_format() -> None:
    """Back to rich tables (each command starts here: the demo runs many in one process)."""
    console.table_format = "table"


# Human output on stdout; progress and warnings on stderr so --json stdout stays one document.
console = SafeConsole(highlight=False, soft_wrap=True)
err_console = SafeConsole(stderr=True, highlight=False)


def emit_json(result: BaseModel | dict[str, Any] | list[Any]) -> None:
    """Print exactly one JSON document on stdout (Decimals as strings via the models); secrets
    redacted (JSON escapes control characters itself)."""
    if hasattr(result, "model_dump_json"):
        text = result.model_dump_json(indent=2)
    else:
        text = json.dumps(result, indent=2, default=str)
    sys.stdout.write(redact(text) + "\n")
    sys.stdout.flush()


def money(amount: Any, currency: str = "USD") -> str:
    """Human money: thousands separators, cents, currency code."""
    from decimal import Decimal

    from domain.money import round_cents

    value = round_cents(Decimal(amount))
    return f"{value:,.2f} {currency}"
