"""Summarise a CSV file: rows, and for each column its type, range, mean and distinct values."""

import argparse
import csv
import json
import os
import statistics
import sys
from collections import Counter


def number(text):
    try:
        return float(text)
    except ValueError:
        return None


def summarise(path, delimiter):
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle, delimiter=delimiter))
    columns = {}
    for name in rows[0].keys() if rows else []:
        values = [row[name] for row in rows if row[name] not in ("", None)]
        numbers = [n for n in map(number, values) if n is not None]
        column = {"missing": len(rows) - len(values), "distinct": len(set(values))}
        if values and len(numbers) == len(values):
            column.update(
                type="number",
                min=min(numbers),
                max=max(numbers),
                mean=round(statistics.fmean(numbers), 6),
            )
        else:
            column.update(type="text", top=Counter(values).most_common(1)[0][0] if values else None)
        columns[name] = column
    return {"file": path, "rows": len(rows), "columns": columns}


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("file", help="CSV file to summarise")
    parser.add_argument("--delimiter", default=",")
    parser.add_argument("--report", help="also write the summary to this JSON file")
    args = parser.parse_args()
    try:
        summary = summarise(args.file, args.delimiter)
    except (OSError, csv.Error, UnicodeDecodeError) as exc:
        print(f"summarize: {exc}", file=sys.stderr)
        return 1
    if args.report:
        os.makedirs(os.path.dirname(os.path.abspath(args.report)), exist_ok=True)
        with open(args.report, "w", encoding="utf-8") as handle:
            json.dump(summary, handle, indent=2)
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
