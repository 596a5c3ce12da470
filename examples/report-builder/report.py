"""Turn the insights of statistical-analysis into a PDF report that anyone can open and print.

The report lists the key figures of every column, draws a bar chart of each numeric column's
mean against its range, and carries the SVG chart of create-charts as an attachment when one is
given. It is written by hand as PDF 1.4 (see pdfwriter.py), so the plugin needs nothing beyond
Python. One JSON object on stdout names the file and its size.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import textwrap
import xml.etree.ElementTree as ElementTree
from typing import Any

from pdfwriter import PAGE_HEIGHT, PAGE_WIDTH, Attachment, document, line, rectangle, text

MARGIN = 50
LABEL_WIDTH = 110
TRACK_WIDTH = 250
TRACK = (0.9, 0.9, 0.9)
BAR = (0.298, 0.471, 0.659)
SVG = "{http://www.w3.org/2000/svg}svg"


class BadInput(Exception):
    """A problem with the files the user gave; its message goes to stderr as is."""


class Layout:
    """Pages filled from the top down, starting a new page when the next block does not fit."""

    def __init__(self) -> None:
        self.pages: list[list[str]] = [[]]
        self.y: float = PAGE_HEIGHT - MARGIN

    def room(self, height: float) -> float:
        """The baseline for a block ``height`` points tall, on a new page if this one is full."""
        if self.y - height < MARGIN:
            self.pages.append([])
            self.y = PAGE_HEIGHT - MARGIN
        self.y -= height
        return self.y

    def write(self, words: str, size: float = 10, bold: bool = False, before: float = 0) -> None:
        """``words`` wrapped to the page width, ``before`` points below what came last."""
        self.y -= before
        columns = int((PAGE_WIDTH - 2 * MARGIN) / (size * 0.52))
        for wrapped in textwrap.wrap(words, columns) or [""]:
            self.pages[-1].append(text(MARGIN, self.room(size * 1.4), wrapped, size, bold))

    def bar(self, name: str, figures: dict[str, float]) -> None:
        """One column's mean as a bar on a track spanning its range (and zero)."""
        y = self.room(18)
        low, high = min(0.0, figures["min"]), max(0.0, figures["max"])
        scale = TRACK_WIDTH / ((high - low) or 1.0)
        left = MARGIN + LABEL_WIDTH
        zero = left + (0 - low) * scale
        mean = left + (figures["mean"] - low) * scale
        self.pages[-1] += [
            text(MARGIN, y, name, 10),
            rectangle(left, y - 3, TRACK_WIDTH, 12, TRACK),
            rectangle(min(zero, mean), y - 3, abs(mean - zero), 12, BAR),
            line(zero, y - 5, zero, y + 11),
            text(
                left + TRACK_WIDTH + 10,
                y,
                f"{label(figures['mean'])} (max {label(figures['max'])})",
                9,
            ),
        ]


def label(value: float) -> str:
    """A figure as people read it: thousands grouped, at most two decimals, no trailing zeros."""
    shown = f"{value:,.2f}"
    return shown.rstrip("0").rstrip(".") if "." in shown else shown


def read_insights(path: str) -> dict[str, Any]:
    """The insights in ``path``, checked to have the figures the report shows."""
    if not os.path.isfile(path):
        raise BadInput(f"insights file not found: {os.path.abspath(path)}")
    try:
        with open(path, encoding="utf-8") as handle:
            insights = json.load(handle)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadInput(f"insights file {path} is not JSON: {exc}") from None
    numeric = insights.get("numeric") if isinstance(insights, dict) else None
    if not isinstance(numeric, dict) or not numeric:
        raise BadInput(
            f"{path} has no numeric columns to report; give the insights.json that "
            "statistical-analysis wrote"
        )
    for name, figures in numeric.items():
        if not isinstance(figures, dict) or not all(
            isinstance(figures.get(k), (int, float)) for k in ("mean", "min", "max")
        ):
            raise BadInput(f"{path}: numeric column '{name}' lacks a mean, min or max number")
    return insights


def read_chart(path: str) -> Attachment:
    """The SVG chart at ``path``, to attach to the report."""
    if not os.path.isfile(path):
        raise BadInput(f"charts file not found: {os.path.abspath(path)}")
    try:
        root = ElementTree.parse(path).getroot()
    except ElementTree.ParseError as exc:
        raise BadInput(f"charts file {path} is not an SVG image: {exc}") from None
    if root.tag not in (SVG, "svg"):
        raise BadInput(f"charts file {path} is XML but not an SVG image (its root is {root.tag})")
    with open(path, "rb") as handle:
        content = handle.read()
    return Attachment(os.path.basename(path), content, "image/svg+xml", "Chart of the insights")


def numeric_line(name: str, figures: dict[str, Any]) -> str:
    shown = [
        f"{key} {label(figures[key])}"
        for key in ("mean", "median", "min", "max", "stdev", "sum")
        if isinstance(figures.get(key), (int, float))
    ]
    line = f"{name}: {', '.join(shown)}"
    if "count" in figures:
        line += f" ({figures['count']} values, {figures.get('missing', 0)} missing)"
    return line


def text_line(name: str, figures: dict[str, Any]) -> str:
    top = ", ".join(
        f"{t.get('value')} ({t.get('count')})"
        for t in figures.get("top", [])
        if isinstance(t, dict)
    )
    return f"{name}: {figures.get('distinct', 0)} distinct values; most common: {top or 'none'}"


def build(insights: dict[str, Any], title: str, chart: Attachment | None) -> Layout:
    """The report's pages: overview, numeric figures, the bar chart, text columns, attachment."""
    numeric: dict[str, Any] = insights["numeric"]
    section = insights.get("text")
    texts = (
        {k: v for k, v in section.items() if isinstance(v, dict)}
        if isinstance(section, dict)
        else {}
    )
    page = Layout()
    page.write(title, size=20, bold=True)
    if insights.get("source"):
        page.write(f"Source: {insights['source']}", before=6)
    rows = f"{insights['rows']} rows; " if "rows" in insights else ""
    page.write(f"{rows}{len(numeric)} numeric and {len(texts)} text columns")
    page.write("Numeric columns", size=13, bold=True, before=12)
    for name, figures in numeric.items():
        page.write(numeric_line(name, figures), before=2)
    page.write("Mean of each numeric column", size=13, bold=True, before=12)
    page.write(
        "The bar is the mean; the grey track spans the column's range, from zero or below.", 9
    )
    page.y -= 4
    for name, figures in numeric.items():
        page.bar(name, figures)
    if texts:
        page.write("Text columns", size=13, bold=True, before=12)
        for name, figures in texts.items():
            page.write(text_line(name, figures), before=2)
    if chart:
        page.write(
            f"Attached: {chart.name}, the chart of these figures (see the attachments panel).",
            9,
            before=12,
        )
    return page


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--insights", required=True, help="insights.json from the analysis")
    parser.add_argument("--charts", help="SVG chart to attach to the report")
    parser.add_argument("--output", default="final_report.pdf", help="where to write the PDF")
    parser.add_argument("--title", default="Data report", help="the report's title")
    args = parser.parse_args()
    try:
        insights = read_insights(args.insights)
        chart = read_chart(args.charts) if args.charts else None
        layout = build(insights, args.title, chart)
        pdf = document(layout.pages, args.title, [chart] if chart else [])
        folder = os.path.dirname(args.output)
        if folder:
            os.makedirs(folder, exist_ok=True)
        with open(args.output, "wb") as handle:
            handle.write(pdf)
    except BadInput as exc:
        print(f"pdf-report: error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(
            f"pdf-report: error: cannot write {args.output}: {exc.strerror}; choose another output path",
            file=sys.stderr,
        )
        return 1
    summary = {
        "report": os.path.abspath(args.output),
        "title": args.title,
        "pages": len(layout.pages),
        "bytes": len(pdf),
        "attachments": [chart.name] if chart else [],
    }
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
