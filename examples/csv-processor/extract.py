"""Clean a messy CSV file so the steps after it can read every cell as plain text or a number.

Cells are trimmed, rows with nothing in them are dropped, and numbers written for people
("1,234.50", "$2.50", "+8") become plain numbers ("1234.50", "2.50", "8"). The cleaned table is
written to extracted.csv in the current directory, and one JSON object on stdout gives its row
count and column names.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import sys

OUTPUT = "extracted.csv"

# A sign, a currency symbol, digits (grouped by thousands with commas, or not) and decimals.
HUMAN_NUMBER = re.compile(r"([+-]?)[$€£]?(\d{1,3}(?:,\d{3})+|\d*)(\.\d+)?")


class BadInput(Exception):
    """A problem with the file the user gave; its message goes to stderr as is."""


def plain_number(cell: str) -> str:
    """``cell`` as a plain number if it is one written for people, else ``cell`` unchanged."""
    match = HUMAN_NUMBER.fullmatch(cell)
    if match is None or not (match[2] or match[3]):
        return cell
    sign, digits, decimals = match.groups()
    return ("-" if sign == "-" else "") + (digits.replace(",", "") or "0") + (decimals or "")


def clean(path: str, delimiter: str) -> tuple[list[str], list[list[str]], int]:
    """The header, the cleaned rows and how many empty rows were dropped."""
    if not os.path.isfile(path):
        raise BadInput(f"input file not found: {os.path.abspath(path)}")
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle, delimiter=delimiter)
            header = [name.strip() for name in next(reader, [])]
            rows = [[cell.strip() for cell in row] for row in reader]
    except UnicodeDecodeError:
        raise BadInput(f"{path} is not UTF-8 text; save it as UTF-8 CSV and try again") from None
    except csv.Error as exc:
        raise BadInput(f"{path} is not valid CSV: {exc}") from None
    check_header(path, header)
    kept = [row for row in rows if any(row)]
    if not kept:
        raise BadInput(f"{path} has a header but no data rows; add at least one row of values")
    for number, row in enumerate(kept, start=1):
        if len(row) > len(header):
            raise BadInput(
                f"{path}: data row {number} has {len(row)} cells but the header names "
                f"{len(header)} columns; add the missing column names or remove the extra cells"
            )
    table = [[plain_number(cell) for cell in row] + [""] * (len(header) - len(row)) for row in kept]
    return header, table, len(rows) - len(kept)


def check_header(path: str, header: list[str]) -> None:
    """Every column has a name of its own, so later steps can address it."""
    if not any(header):
        raise BadInput(f"{path} is empty: its first line should name the columns")
    for position, name in enumerate(header, start=1):
        if not name:
            raise BadInput(f"{path}: column {position} has no name in the header; name it")
        if header.index(name) != position - 1:
            raise BadInput(f"{path}: the header names column '{name}' twice; rename one")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", required=True, help="the CSV file to clean")
    parser.add_argument("--delimiter", default=",", help="the field separator (default ,)")
    args = parser.parse_args()
    try:
        if len(args.delimiter) != 1:
            raise BadInput(f"the delimiter must be one character, not {args.delimiter!r}")
        header, rows, dropped = clean(args.file, args.delimiter)
    except BadInput as exc:
        print(f"extract-data: error: {exc}", file=sys.stderr)
        return 1
    with open(OUTPUT, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
    summary = {
        "rows": len(rows),
        "columns": header,
        "dropped_rows": dropped,
        "data": os.path.abspath(OUTPUT),
    }
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
