"""The digest's PNG chart (matplotlib, Agg): 28 days of daily spend with the digest's week
highlighted, and the top movers of the week.

Drawn with matplotlib's object API (``Figure`` + the Agg canvas), not pyplot: no global state,
so ``serve``'s worker threads can draw at once. The image is exactly ``CHART_SIZE`` pixels
(no ``bbox_inches="tight"``, which would change it).
"""

from __future__ import annotations

import io
from typing import Any

CHART_SIZE = (1400, 700)  # width × height in pixels (Slack shows ≥ 1200 × 600 sharply)
DPI = 100
WEEK_COLOUR, OTHER_COLOUR = "#1f6feb", "#b6c2cf"
UP_COLOUR, DOWN_COLOUR = "#cf222e", "#1a7f37"


def _plain(text: str) -> str:
    # ``$`` starts mathtext in matplotlib; data text is shown as it is.
    return text.replace("$", r"\$")


def render_chart(result: Any) -> bytes:
    """PNG bytes of the digest ``result`` (``services.digest.DigestResult``)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    width, height = CHART_SIZE
    fig = Figure(figsize=(width / DPI, height / DPI), dpi=DPI)
    FigureCanvasAgg(fig)
    left, right = fig.subplots(1, 2, gridspec_kw={"width_ratios": [3, 2]})
    currency = result.currency or "USD"

    days = [d.day for d in result.daily]
    costs = [float(d.cost) for d in result.daily]
    colours = [WEEK_COLOUR if d.in_week else OTHER_COLOUR for d in result.daily]
    left.bar(range(len(days)), costs, color=colours)
    left.set_xticks(range(0, len(days), 7 if len(days) > 14 else 1))
    left.set_xticklabels([days[i].strftime("%b %d") for i in range(0, len(days), 7 if len(days) > 14 else 1)])
    left.set_title(_plain(f"Daily spend, last {len(days)} days ({result.week} highlighted)"))
    left.set_ylabel(currency)
    left.grid(axis="y", alpha=0.3)

    movers = list(reversed(result.movers))
    labels = [_plain(" · ".join(m.dims.values()) or "total") for m in movers]
    deltas = [float(m.delta) for m in movers]
    right.barh(range(len(movers)), deltas, color=[UP_COLOUR if v > 0 else DOWN_COLOUR for v in deltas])
    right.set_yticks(range(len(movers)))
    right.set_yticklabels([label[:38] for label in labels], fontsize=9)
    right.axvline(0, color="#57606a", linewidth=0.8)
    right.set_title("Top movers vs the week before")
    right.set_xlabel(f"change ({currency})")
    right.grid(axis="x", alpha=0.3)
    if not movers:
        right.text(0.5, 0.5, "no change", ha="center", va="center", transform=right.transAxes)

    fig.subplots_adjust(left=0.06, right=0.98, bottom=0.1, top=0.9, wspace=0.45)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk (raises ValueError for anything else)."""
    if data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        raise ValueError("not a PNG image")
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
