"""Describe a table of rows with statistics, so a chart or a report can be made from the figures.

The input is a JSON file holding a list of row objects (as Mark-1 gives CSV data to a step that
reads JSON, where every number is still a string). A column whose filled cells are all numbers
gets count, sum, mean, median, min, max and sample standard deviation; any other column gets its
number of distinct values and its most common ones. The figures are written to insights.json in
the current directory, and a short summary is printed as one JSON object on stdout.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import statistics
import sys
from collections import Counter
from typing import Any

OUTPUT = "insights.json"
PLACES = 6

NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


class BadInput(Exception):
    """A problem with the data the user gave; its message goes to stderr as is."""


def load_rows(path: str) -> list[dict[str, Any]]:
    """The rows in ``path``, refusing anything that is not a non-empty list of objects."""
    if not os.path.isfile(path):
        raise BadInput(f"input file not found: {os.path.abspath(path)}")
    try:
        with open(path, encoding="utf-8") as handle:
            rows = json.load(handle)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadInput(f"{path} is not JSON: {exc}") from None
    if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
        raise BadInput(f'{path} must hold a list of row objects, like [{{"units": "3"}}]')
    if not rows:
        raise BadInput(f"{path} holds no rows; give at least one row to analyse")
    return rows


def cell(value: Any) -> float | str | None:
    """A cell as a number, as text, or None when it is empty."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (int, float)):
        return float(value) if math.isfinite(value) else str(value)
    text = value.strip() if isinstance(value, str) else json.dumps(value)
    return float(text) if NUMBER.fullmatch(text) else text


def numeric_figures(numbers: list[float], missing: int) -> dict[str, Any]:
    figures = {
        "count": len(numbers),
        "missing": missing,
        "sum": math.fsum(numbers),
        "mean": statistics.fmean(numbers),
        "median": statistics.median(numbers),
        "min": min(numbers),
        "max": max(numbers),
        "stdev": statistics.stdev(numbers) if len(numbers) > 1 else None,
    }
    return {k: round(v, PLACES) if isinstance(v, float) else v for k, v in figures.items()}


def text_figures(values: list[str], missing: int, top: int) -> dict[str, Any]:
    return {
        "count": len(values),
        "missing": missing,
        "distinct": len(set(values)),
        "top": [{"value": v, "count": n} for v, n in Counter(values).most_common(top)],
    }


def analyse(path: str, top: int) -> dict[str, Any]:
    """Every column's figures, numeric and text columns apart, in the order the rows name them."""
    rows = load_rows(path)
    names = list(dict.fromkeys(name for row in rows for name in row))
    numeric: dict[str, Any] = {}
    text: dict[str, Any] = {}
    for name in names:
        cells = [cell(row.get(name)) for row in rows]
        filled = [c for c in cells if c is not None]
        missing = len(cells) - len(filled)
        numbers = [c for c in filled if isinstance(c, float)]
        if filled and len(numbers) == len(filled):
            numeric[name] = numeric_figures(numbers, missing)
        else:
            text[name] = text_figures([str(c) for c in filled], missing, top)
    if not numeric:
        raise BadInput(
            f"{path} has no numeric columns (every column holds some text: "
            f"{', '.join(names)}); statistical analysis needs at least one column of numbers"
        )
    return {"source": os.path.abspath(path), "rows": len(rows), "numeric": numeric, "text": text}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="JSON file with a list of row objects")
    parser.add_argument("--top", type=int, default=3, help="most common values per text column")
    args = parser.parse_args()
    try:
        if args.top < 1:
            raise BadInput(f"top must be at least 1, not {args.top}")
        insights = analyse(args.data, args.top)
    except BadInput as exc:
        print(f"statistical-analysis: error: {exc}", file=sys.stderr)
        return 1
    with open(OUTPUT, "w", encoding="utf-8") as handle:
        json.dump(insights, handle, indent=2)
    summary = {
        "insights": os.path.abspath(OUTPUT),
        "rows": insights["rows"],
        "numeric_columns": list(insights["numeric"]),
        "text_columns": list(insights["text"]),
        "means": {name: figures["mean"] for name, figures in insights["numeric"].items()},
    }
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
