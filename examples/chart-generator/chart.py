"""Draw the insights of statistical-analysis as an SVG chart that any browser or editor can open.

Each numeric column gets a panel with its own scale, so columns of very different sizes stay
readable side by side: a bar for the column's mean, a line from its min to its max, and, when the
rows are given too, a dot for every value. The chart is written to charts.svg in the current
directory, and one JSON object on stdout says what it shows.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from typing import Any
from xml.sax.saxutils import escape, quoteattr

OUTPUT = "charts.svg"
NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")

PANEL_WIDTH = 150
MIN_WIDTH = 420
BAR_WIDTH = 50
MARGIN = 20
PLOT_TOP = 80
PLOT_HEIGHT = 200
HEIGHT = PLOT_TOP + PLOT_HEIGHT + 60
BAR_COLOUR = "#4c78a8"
DOT_COLOUR = "#f58518"
INK = "#333333"


class BadInput(Exception):
    """A problem with the files the user gave; its message goes to stderr as is."""


def read_json(path: str, what: str) -> Any:
    if not os.path.isfile(path):
        raise BadInput(f"{what} file not found: {os.path.abspath(path)}")
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadInput(f"{what} file {path} is not JSON: {exc}") from None


def numeric_columns(insights: Any, path: str) -> dict[str, dict[str, float]]:
    """The numeric columns' figures, checked to be what statistical-analysis writes."""
    numeric = insights.get("numeric") if isinstance(insights, dict) else None
    if not isinstance(numeric, dict):
        raise BadInput(
            f"{path} is not an insights file: it has no 'numeric' section; "
            "give the insights.json that statistical-analysis wrote"
        )
    if not numeric:
        raise BadInput(f"{path} has no numeric columns, so there is nothing to chart")
    for name, figures in numeric.items():
        if not isinstance(figures, dict) or not all(
            isinstance(figures.get(k), (int, float)) for k in ("mean", "min", "max")
        ):
            raise BadInput(f"{path}: numeric column '{name}' lacks a mean, min or max number")
    return numeric


def column_values(path: str, names: list[str]) -> dict[str, list[float]]:
    """Every number in each named column of the rows in ``path``."""
    rows = read_json(path, "data")
    if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
        raise BadInput(f"{path} must hold a list of row objects, like the data of the analysis")
    cells = {name: [number(row.get(name)) for row in rows] for name in names}
    return {name: [v for v in column if v is not None] for name, column in cells.items()}


def number(value: Any) -> float | None:
    """A cell's number, whether the rows hold it as a JSON number or as text (as CSV gives it)."""
    if isinstance(value, str) and NUMBER.fullmatch(value.strip()):
        return float(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return None


def label(value: float) -> str:
    """A figure as people read it: thousands grouped, at most two decimals, no trailing zeros."""
    shown = f"{value:,.2f}"
    return shown.rstrip("0").rstrip(".") if "." in shown else shown


def element(tag: str, text: str = "", **attributes: object) -> str:
    attrs = "".join(f" {k.replace('_', '-')}={quoteattr(str(v))}" for k, v in attributes.items())
    return f"<{tag}{attrs}>{escape(text)}</{tag}>" if text else f"<{tag}{attrs}/>"


def panel(index: int, name: str, figures: dict[str, float], values: list[float]) -> list[str]:
    """One column's bar, min-max line, dots and labels, on a scale of its own."""
    left = MARGIN + index * PANEL_WIDTH
    centre = left + PANEL_WIDTH / 2
    low = min(0.0, figures["min"], *values)
    high = max(0.0, figures["max"], *values)
    span = (high - low) or 1.0

    def y(value: float) -> float:
        return round(PLOT_TOP + (high - value) / span * PLOT_HEIGHT, 2)

    zero, mean = y(0.0), y(figures["mean"])
    shapes = [
        element("line", x1=left + 10, y1=y(low), x2=left + 10, y2=y(high), stroke=INK),
        element("text", label(high), x=left + 14, y=y(high) + 4, font_size=10),
        element("line", x1=left + 10, y1=zero, x2=left + PANEL_WIDTH - 10, y2=zero, stroke=INK),
        element(
            "rect",
            x=centre - BAR_WIDTH / 2,
            y=min(zero, mean),
            width=BAR_WIDTH,
            height=round(abs(zero - mean), 2),
            fill=BAR_COLOUR,
        ),
        element(
            "line", x1=centre, y1=y(figures["min"]), x2=centre, y2=y(figures["max"]), stroke=INK
        ),
    ]
    for end in (figures["min"], figures["max"]):
        shapes.append(
            element("line", x1=centre - 8, y1=y(end), x2=centre + 8, y2=y(end), stroke=INK)
        )
    for k, value in enumerate(values):
        x = centre + (k % 7 - 3) * 5
        shapes.append(
            element("circle", cx=x, cy=y(value), r=2.5, fill=DOT_COLOUR, fill_opacity=0.7)
        )
    below = PLOT_TOP + PLOT_HEIGHT + 22
    shapes += [
        element(
            "text", name, x=centre, y=below, text_anchor="middle", font_size=13, font_weight="bold"
        ),
        element(
            "text",
            f"mean {label(figures['mean'])}",
            x=centre,
            y=below + 18,
            text_anchor="middle",
            font_size=11,
        ),
    ]
    if low < 0:
        shapes.append(element("text", label(low), x=left + 14, y=y(low) - 2, font_size=10))
    return shapes


def chart(
    insights: dict[str, Any],
    numeric: dict[str, dict[str, float]],
    values: dict[str, list[float]] | None,
) -> tuple[str, int]:
    """The whole SVG document and its width."""
    width = max(MIN_WIDTH, 2 * MARGIN + len(numeric) * PANEL_WIDTH)
    legend = "bar: mean | line: min to max" + (" | dots: values" if values else "")
    rows = insights.get("rows")
    subtitle = (f"{rows} rows | " if isinstance(rows, int) else "") + legend
    parts = [
        element(
            "text", "Mean of each numeric column", x=MARGIN, y=30, font_size=18, font_weight="bold"
        ),
        element("text", subtitle, x=MARGIN, y=52, font_size=12, fill="#555555"),
    ]
    for index, (name, figures) in enumerate(numeric.items()):
        parts += panel(index, name, figures, values.get(name, []) if values else [])
    body = "\n  ".join(parts)
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{HEIGHT}" '
        f'viewBox="0 0 {width} {HEIGHT}" font-family="Helvetica, Arial, sans-serif" '
        f'fill="{INK}">\n  {body}\n</svg>\n'
    )
    return svg, width


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--insights", required=True, help="insights.json from the analysis")
    parser.add_argument("--data", help="JSON list of rows, to draw every value as a dot")
    args = parser.parse_args()
    try:
        insights = read_json(args.insights, "insights")
        numeric = numeric_columns(insights, args.insights)
        values = column_values(args.data, list(numeric)) if args.data else None
    except BadInput as exc:
        print(f"create-charts: error: {exc}", file=sys.stderr)
        return 1
    svg, width = chart(insights, numeric, values)
    with open(OUTPUT, "w", encoding="utf-8") as handle:
        handle.write('<?xml version="1.0" encoding="UTF-8"?>\n' + svg)
    summary = {
        "charts": os.path.abspath(OUTPUT),
        "columns": list(numeric),
        "points": sum(len(v) for v in values.values()) if values else 0,
        "width": width,
        "height": HEIGHT,
    }
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
