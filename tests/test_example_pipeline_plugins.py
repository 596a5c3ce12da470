"""The four example plugins of the seed's §8.2 pipeline, each script run as the engine would run it.

Nothing is installed: every script is started directly with this Python in a working directory
of its own, on ``examples/workflows/sales.csv`` (a messy sales table), handing each step the files
the one before it wrote, and the CSV that extract-data writes is turned into a JSON list of rows
in between, as the engine's conversion does. Figures, the SVG and the PDF are checked exactly,
and so is every refusal of bad input.
"""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import EXAMPLES

SALES = EXAMPLES / "workflows" / "sales.csv"
SVG = "{http://www.w3.org/2000/svg}"
SCRIPTS = {
    "extract-data": EXAMPLES / "csv-processor" / "extract.py",
    "statistical-analysis": EXAMPLES / "data-analyzer" / "analyze.py",
    "create-charts": EXAMPLES / "chart-generator" / "chart.py",
    "pdf-report": EXAMPLES / "report-builder" / "report.py",
}


@dataclass(frozen=True)
class Finished:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        assert self.code == 0, self.err
        return json.loads(self.out)


def run(capability: str, workdir: Path, *args: str) -> Finished:
    """The capability's script run in ``workdir`` with ``args`` (no bytecode left in examples/)."""
    workdir.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [sys.executable, str(SCRIPTS[capability]), *args],
        cwd=workdir,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )
    return Finished(done.returncode, done.stdout, done.stderr)


def rows_as_json(table: Path, target: Path) -> Path:
    """``table`` as a JSON list of row objects, every cell a string, as the engine converts CSV."""
    with table.open(newline="", encoding="utf-8") as handle:
        target.write_text(json.dumps(list(csv.DictReader(handle))), encoding="utf-8")
    return target


def write_json(path: Path, value: Any) -> Path:
    path.write_text(json.dumps(value), encoding="utf-8")
    return path


@dataclass(frozen=True)
class Pipeline:
    root: Path
    rows: Path
    steps: dict[str, Any]

    def file(self, step: str, name: str) -> Path:
        return self.root / step / name


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> Pipeline:
    """The whole pipeline run once on the sample, each step in its own directory."""
    root = tmp_path_factory.mktemp("pipeline")
    steps = {"extract": run("extract-data", root / "extract", "--file", str(SALES)).json()}
    rows = rows_as_json(root / "extract" / "extracted.csv", root / "rows.json")
    steps["analyse"] = run("statistical-analysis", root / "analyse", "--data", str(rows)).json()
    insights = str(root / "analyse" / "insights.json")
    chart_args = ("--data", str(rows), "--insights", insights)
    steps["chart"] = run("create-charts", root / "chart", *chart_args).json()
    charts = str(root / "chart" / "charts.svg")
    report_args = ("--insights", insights, "--charts", charts, "--title", "Sales (Q3) report")
    steps["report"] = run("pdf-report", root / "report", *report_args).json()
    return Pipeline(root, rows, steps)


# ---- csv-processor: extract-data -------------------------------------------------------------


def test_extract_data_cleans_the_sample(pipeline: Pipeline) -> None:
    extracted = pipeline.file("extract", "extracted.csv")
    assert pipeline.steps["extract"] == {
        "rows": 12,
        "columns": ["region", "product", "units", "price", "revenue"],
        "dropped_rows": 2,
        "data": str(extracted),
    }
    assert extracted.read_text(encoding="utf-8") == (
        "region,product,units,price,revenue\n"
        "North,Widget,10,2.50,25.00\n"
        "North,Gadget,5,12.00,60.00\n"
        "South,Widget,20,2.50,50.00\n"
        "South,Gizmo,3,1250.00,3750.00\n"
        "East,Widget,15,2.50,37.50\n"
        "East,Gadget,8,12.00,96.00\n"
        "West,Gizmo,1,,1250.00\n"
        "West,Widget,12,2.50,30.00\n"
        "North,Widget,2,2.50,5.00\n"
        "South,Gadget,7,12.00,84.00\n"
        "East,Gizmo,4,1250.00,5000.00\n"
        "North,Gadget,9,12.00,108.00\n"
    )


def test_extract_data_turns_numbers_for_people_into_plain_numbers(tmp_path: Path) -> None:
    """Separators, signs and currency go; what only looks a little like a number stays."""
    source = tmp_path / "in.csv"
    cells = ["1,234.50", "$2.50", "+8", "-€1,000", ".5", "£12", "1,2", "007", "12a", "-", "$"]
    source.write_text("value;note\n" + "".join(f"{c};x\n" for c in cells), encoding="utf-8")

    out = run("extract-data", tmp_path / "work", "--file", str(source), "--delimiter", ";").json()

    assert out["rows"] == len(cells)
    with (tmp_path / "work" / "extracted.csv").open(newline="", encoding="utf-8") as handle:
        cleaned = [row[0] for row in csv.reader(handle)]
    assert cleaned == [
        "value",
        "1234.50",
        "2.50",
        "8",
        "-1000",
        "0.5",
        "12",
        "1,2",
        "007",
        "12a",
        "-",
        "$",
    ]


def test_extract_data_pads_short_rows(tmp_path: Path) -> None:
    source = tmp_path / "short.csv"
    source.write_text("a,b,c\n1\n2,3\n", encoding="utf-8")
    out = run("extract-data", tmp_path / "work", "--file", str(source)).json()
    assert out["rows"] == 2
    extracted = (tmp_path / "work" / "extracted.csv").read_text(encoding="utf-8")
    assert extracted == "a,b,c\n1,,\n2,3,\n"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "{path} is empty: its first line should name the columns"),
        ("\n\n", "{path} is empty: its first line should name the columns"),
        ("a,b\n", "{path} has a header but no data rows; add at least one row of values"),
        ("a,b\n , \n", "{path} has a header but no data rows; add at least one row of values"),
        ("a,,c\n1,2,3\n", "{path}: column 2 has no name in the header; name it"),
        ("a,b,a\n1,2,3\n", "{path}: the header names column 'a' twice; rename one"),
        (
            "a,b\n1,2\n3,4,5\n",
            "{path}: data row 2 has 3 cells but the header names 2 columns; "
            "add the missing column names or remove the extra cells",
        ),
    ],
)
def test_extract_data_refuses_a_csv_it_cannot_clean(
    content: str, message: str, tmp_path: Path
) -> None:
    source = tmp_path / "bad.csv"
    source.write_text(content, encoding="utf-8")
    done = run("extract-data", tmp_path / "work", "--file", str(source))
    assert done == Finished(1, "", f"extract-data: error: {message.format(path=source)}\n")
    assert not (tmp_path / "work" / "extracted.csv").exists()


def test_extract_data_refuses_missing_and_non_utf8_files(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.csv"
    done = run("extract-data", tmp_path / "work", "--file", str(missing))
    assert done == Finished(1, "", f"extract-data: error: input file not found: {missing}\n")

    latin = tmp_path / "latin.csv"
    latin.write_bytes("city\nMálaga\n".encode("latin-1"))
    done = run("extract-data", tmp_path / "work", "--file", str(latin))
    expected = (
        f"extract-data: error: {latin} is not UTF-8 text; save it as UTF-8 CSV and try again\n"
    )
    assert done == Finished(1, "", expected)

    done = run("extract-data", tmp_path / "work", "--file", str(latin), "--delimiter", "::")
    assert done == Finished(
        1, "", "extract-data: error: the delimiter must be one character, not '::'\n"
    )


# ---- data-analyzer: statistical-analysis -----------------------------------------------------


def test_statistical_analysis_of_the_sample(pipeline: Pipeline) -> None:
    insights_file = pipeline.file("analyse", "insights.json")
    insights = json.loads(insights_file.read_text(encoding="utf-8"))
    assert insights == {
        "source": str(pipeline.rows),
        "rows": 12,
        "numeric": {
            "units": {
                "count": 12,
                "missing": 0,
                "sum": 96.0,
                "mean": 8.0,
                "median": 7.5,
                "min": 1.0,
                "max": 20.0,
                "stdev": 5.640761,
            },
            "price": {
                "count": 11,
                "missing": 1,
                "sum": 2560.5,
                "mean": 232.772727,
                "median": 12.0,
                "min": 2.5,
                "max": 1250.0,
                "stdev": 502.950562,
            },
            "revenue": {
                "count": 12,
                "missing": 0,
                "sum": 10495.5,
                "mean": 874.625,
                "median": 72.0,
                "min": 5.0,
                "max": 5000.0,
                "stdev": 1691.754484,
            },
        },
        "text": {
            "region": {
                "count": 12,
                "missing": 0,
                "distinct": 4,
                "top": [
                    {"value": "North", "count": 4},
                    {"value": "South", "count": 3},
                    {"value": "East", "count": 3},
                ],
            },
            "product": {
                "count": 12,
                "missing": 0,
                "distinct": 3,
                "top": [
                    {"value": "Widget", "count": 5},
                    {"value": "Gadget", "count": 4},
                    {"value": "Gizmo", "count": 3},
                ],
            },
        },
    }
    assert pipeline.steps["analyse"] == {
        "insights": str(insights_file),
        "rows": 12,
        "numeric_columns": ["units", "price", "revenue"],
        "text_columns": ["region", "product"],
        "means": {"units": 8.0, "price": 232.772727, "revenue": 874.625},
    }


def test_statistical_analysis_reads_json_numbers_and_odd_cells(tmp_path: Path) -> None:
    """JSON numbers count as numbers; booleans, NaN text and nested values count as text."""
    rows = [
        {"n": 1, "flag": True, "note": None, "odd": "nan"},
        {"n": 2.5, "flag": False, "note": "x", "odd": "1_000", "late": "7"},
        {"n": "-1e1", "flag": True, "note": " ", "odd": [1]},
    ]
    data = write_json(tmp_path / "rows.json", rows)

    out = run("statistical-analysis", tmp_path / "work", "--data", str(data), "--top", "1").json()

    assert out["numeric_columns"] == ["n", "late"]
    assert out["text_columns"] == ["flag", "note", "odd"]
    insights = json.loads((tmp_path / "work" / "insights.json").read_text(encoding="utf-8"))
    assert insights["numeric"]["n"] == {
        "count": 3,
        "missing": 0,
        "sum": -6.5,
        "mean": -2.166667,
        "median": 1.0,
        "min": -10.0,
        "max": 2.5,
        "stdev": 6.825198,
    }
    assert insights["numeric"]["late"] == {
        "count": 1,
        "missing": 2,
        "sum": 7.0,
        "mean": 7.0,
        "median": 7.0,
        "min": 7.0,
        "max": 7.0,
        "stdev": None,
    }
    assert insights["text"] == {
        "flag": {"count": 3, "missing": 0, "distinct": 2, "top": [{"value": "true", "count": 2}]},
        "note": {"count": 1, "missing": 2, "distinct": 1, "top": [{"value": "x", "count": 1}]},
        "odd": {"count": 3, "missing": 0, "distinct": 3, "top": [{"value": "nan", "count": 1}]},
    }


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            "{not json",
            "{path} is not JSON: Expecting property name enclosed in double quotes: "
            "line 1 column 2 (char 1)",
        ),
        ('{"rows": []}', '{path} must hold a list of row objects, like [{{"units": "3"}}]'),
        ('[{"a": 1}, 2]', '{path} must hold a list of row objects, like [{{"units": "3"}}]'),
        ("[]", "{path} holds no rows; give at least one row to analyse"),
        (
            '[{"city": "Oslo", "code": "N1"}, {"city": "Lima", "code": ""}]',
            "{path} has no numeric columns (every column holds some text: city, code); "
            "statistical analysis needs at least one column of numbers",
        ),
    ],
)
def test_statistical_analysis_refuses_bad_data(content: str, message: str, tmp_path: Path) -> None:
    data = tmp_path / "data.json"
    data.write_text(content, encoding="utf-8")
    done = run("statistical-analysis", tmp_path / "work", "--data", str(data))
    assert done == Finished(1, "", f"statistical-analysis: error: {message.format(path=data)}\n")
    assert not (tmp_path / "work" / "insights.json").exists()


def test_statistical_analysis_refuses_a_missing_file_and_a_bad_top(tmp_path: Path) -> None:
    missing = tmp_path / "none.json"
    done = run("statistical-analysis", tmp_path, "--data", str(missing))
    assert done == Finished(
        1, "", f"statistical-analysis: error: input file not found: {missing}\n"
    )
    done = run("statistical-analysis", tmp_path, "--data", str(missing), "--top", "0")
    assert done == Finished(1, "", "statistical-analysis: error: top must be at least 1, not 0\n")


# ---- chart-generator: create-charts ----------------------------------------------------------


def shapes(svg: Path, tag: str) -> list[dict[str, str]]:
    root = ElementTree.parse(svg).getroot()
    assert root.tag == f"{SVG}svg"
    return [dict(element.attrib) for element in root.iter(f"{SVG}{tag}")]


def test_create_charts_draws_a_bar_per_numeric_column(pipeline: Pipeline) -> None:
    svg = pipeline.file("chart", "charts.svg")
    assert pipeline.steps["chart"] == {
        "charts": str(svg),
        "columns": ["units", "price", "revenue"],
        "points": 35,
        "width": 490,
        "height": 340,
    }
    bars = shapes(svg, "rect")
    # Each panel's scale runs from 0 (y=280) to the column's max (y=80): 200 px.
    assert [(bar["x"], bar["y"], bar["height"]) for bar in bars] == [
        ("70.0", "200.0", "80.0"),  # units: mean 8 of max 20
        ("220.0", "242.76", "37.24"),  # price: mean 232.77 of max 1,250
        ("370.0", "245.01", "34.99"),  # revenue: mean 874.62 of max 5,000 (y 245.015 rounds down)
    ]
    assert len(shapes(svg, "circle")) == 12 + 11 + 12
    texts = [t.text for t in ElementTree.parse(svg).getroot().iter(f"{SVG}text")]
    assert texts == [
        "Mean of each numeric column",
        "12 rows | bar: mean | line: min to max | dots: values",
        "20",
        "units",
        "mean 8",
        "1,250",
        "price",
        "mean 232.77",
        "5,000",
        "revenue",
        "mean 874.62",
    ]


def test_create_charts_without_rows_and_with_negative_values(tmp_path: Path) -> None:
    insights = {"rows": 2, "numeric": {"delta": {"mean": -5, "min": -20, "max": 10}}}
    path = write_json(tmp_path / "insights.json", insights)

    out = run("create-charts", tmp_path / "work", "--insights", str(path)).json()

    svg = tmp_path / "work" / "charts.svg"
    assert out == {
        "charts": str(svg),
        "columns": ["delta"],
        "points": 0,
        "width": 420,
        "height": 340,
    }
    # The scale runs from -20 (y=280) to 10 (y=80); zero is at y=146.67, the mean -5 below it.
    assert [(b["y"], b["height"]) for b in shapes(svg, "rect")] == [("146.67", "33.33")]
    assert shapes(svg, "circle") == []
    texts = [t.text for t in ElementTree.parse(svg).getroot().iter(f"{SVG}text")]
    assert texts[1] == "2 rows | bar: mean | line: min to max"
    assert texts[-1] == "-20"


@pytest.mark.parametrize(
    ("insights", "rows", "message"),
    [
        (
            {"summary": {}},
            None,
            "{insights} is not an insights file: it has no 'numeric' section; "
            "give the insights.json that statistical-analysis wrote",
        ),
        ({"numeric": {}}, None, "{insights} has no numeric columns, so there is nothing to chart"),
        (
            {"numeric": {"x": {"mean": 1, "min": "0", "max": 2}}},
            None,
            "{insights}: numeric column 'x' lacks a mean, min or max number",
        ),
        (
            {"numeric": {"x": {"mean": 1, "min": 0, "max": 2}}},
            {"x": 1},
            "{rows} must hold a list of row objects, like the data of the analysis",
        ),
    ],
)
def test_create_charts_refuses_bad_input(
    insights: Any, rows: Any, message: str, tmp_path: Path
) -> None:
    insights_path = write_json(tmp_path / "insights.json", insights)
    rows_path = write_json(tmp_path / "rows.json", rows)
    args = ["--insights", str(insights_path)] + (["--data", str(rows_path)] if rows else [])
    done = run("create-charts", tmp_path / "work", *args)
    expected = message.format(insights=insights_path, rows=rows_path)
    assert done == Finished(1, "", f"create-charts: error: {expected}\n")
    assert not (tmp_path / "work" / "charts.svg").exists()


def test_create_charts_refuses_missing_files(tmp_path: Path) -> None:
    missing = tmp_path / "insights.json"
    done = run("create-charts", tmp_path / "work", "--insights", str(missing))
    assert done == Finished(1, "", f"create-charts: error: insights file not found: {missing}\n")


# ---- report-builder: pdf-report --------------------------------------------------------------


def checked_xref(pdf: bytes) -> int:
    """The number of objects, after checking every xref offset points at its object."""
    found = re.search(rb"startxref\n(\d+)\n%%EOF\n\Z", pdf)
    assert found is not None
    lines = pdf[int(found[1]) :].split(b"\n")
    assert lines[0] == b"xref"
    first, size = (int(n) for n in lines[1].split())
    entries = lines[2 : 2 + size]
    assert first == 0
    assert entries[0] == b"0000000000 65535 f "
    for number, entry in enumerate(entries[1:], start=1):
        assert len(entry) == 19 and entry.endswith(b" 00000 n ")
        assert pdf[int(entry[:10]) :].startswith(f"{number} 0 obj\n".encode())
    assert lines[2 + size] == b"trailer"
    assert lines[3 + size] == f"<< /Size {size} /Root 1 0 R /Info 3 0 R >>".encode()
    return size - 1


def test_pdf_report_of_the_sample(pipeline: Pipeline) -> None:
    report = pipeline.file("report", "final_report.pdf")
    pdf = report.read_bytes()
    assert pipeline.steps["report"] == {
        "report": str(report),
        "title": "Sales (Q3) report",
        "pages": 1,
        "bytes": len(pdf),
        "attachments": ["charts.svg"],
    }
    assert pdf.startswith(b"%PDF-1.4\n")
    assert (
        checked_xref(pdf) == 9
    )  # catalog, pages, info, 2 fonts, attachment and its spec, page and its content
    assert b"BT /F2 20 Tf 50 764 Td (Sales \\(Q3\\) report) Tj ET" in pdf
    for line in (
        b"(12 rows; 3 numeric and 2 text columns)",
        b"(units: mean 8, median 7.5, min 1, max 20, stdev 5.64, sum 96 \\(12 values, 0 missing\\))",
        b"(region: 4 distinct values; most common: North \\(4\\), South \\(3\\), East \\(3\\))",
        b"(8 \\(max 20\\))",
    ):
        assert line + b" Tj ET" in pdf
    # units' bar: its mean 8 on a 250 pt track for 0..20 is 100 pt long, over the grey track.
    assert (
        b"0.9 0.9 0.9 rg 160 556 250 12 re f 0 g\n0.298 0.471 0.659 rg 160 556 100 12 re f" in pdf
    )
    svg = pipeline.file("chart", "charts.svg").read_bytes()
    embedded = f"/Params << /Size {len(svg)} >> /Length {len(svg)} >>\nstream\n".encode() + svg
    assert embedded + b"\nendstream" in pdf
    assert b"/Names << /EmbeddedFiles << /Names [(charts.svg) 7 0 R] >> >>" in pdf


def test_pdf_report_flows_onto_more_pages(tmp_path: Path) -> None:
    """Many columns fill several pages; without a chart nothing is attached."""
    figures = {"mean": 1.5, "min": -1, "max": 4, "count": 2}
    numeric = {f"column{i}": figures for i in range(60)}
    insights = write_json(tmp_path / "insights.json", {"numeric": numeric})

    out = run(
        "pdf-report",
        tmp_path / "work",
        "--insights",
        str(insights),
        "--output",
        "out/r.pdf",
        "--title",
        "Zoë’s € report",
    ).json()

    pdf = (tmp_path / "work" / "out" / "r.pdf").read_bytes()
    assert out == {
        "report": str(tmp_path / "work" / "out" / "r.pdf"),
        "title": "Zoë’s € report",
        "pages": 3,
        "bytes": len(pdf),
        "attachments": [],
    }
    assert checked_xref(pdf) == 5 + 2 * 3
    assert b"/Count 3" in pdf and b"EmbeddedFiles" not in pdf
    assert b"(Zo\\353\\222s \\200 report) Tj" in pdf  # WinAnsi: e-diaeresis, quote, euro
    info = "\ufeffZoë’s € report".encode("utf-16-be").hex().upper()
    assert f"/Title <{info}>".encode() in pdf


@pytest.mark.parametrize(
    ("insights", "charts", "message"),
    [
        (
            '{"numeric": {}}',
            None,
            "{insights} has no numeric columns to report; give the insights.json that "
            "statistical-analysis wrote",
        ),
        (
            '{"numeric": {"x": {"mean": 1, "max": 2}}}',
            None,
            "{insights}: numeric column 'x' lacks a mean, min or max number",
        ),
        (
            '{"numeric": {"x": {"mean": 1, "min": 0, "max": 2}}}',
            "<svg",
            "charts file {charts} is not an SVG image: unclosed token: line 1, column 0",
        ),
        (
            '{"numeric": {"x": {"mean": 1, "min": 0, "max": 2}}}',
            "<html/>",
            "charts file {charts} is XML but not an SVG image (its root is html)",
        ),
    ],
)
def test_pdf_report_refuses_bad_input(
    insights: str, charts: str | None, message: str, tmp_path: Path
) -> None:
    insights_path = tmp_path / "insights.json"
    insights_path.write_text(insights, encoding="utf-8")
    charts_path = tmp_path / "charts.svg"
    args = ["--insights", str(insights_path)]
    if charts is not None:
        charts_path.write_text(charts, encoding="utf-8")
        args += ["--charts", str(charts_path)]
    done = run("pdf-report", tmp_path / "work", *args)
    expected = message.format(insights=insights_path, charts=charts_path)
    assert done == Finished(1, "", f"pdf-report: error: {expected}\n")
    assert not (tmp_path / "work" / "final_report.pdf").exists()


def test_pdf_report_refuses_missing_files_and_an_unwritable_output(tmp_path: Path) -> None:
    missing = tmp_path / "insights.json"
    done = run("pdf-report", tmp_path / "work", "--insights", str(missing))
    assert done == Finished(1, "", f"pdf-report: error: insights file not found: {missing}\n")

    insights = write_json(missing, {"numeric": {"x": {"mean": 1, "min": 0, "max": 2}}})
    done = run("pdf-report", tmp_path / "work", "--insights", str(insights), "--charts", "no.svg")
    not_found = tmp_path / "work" / "no.svg"
    assert done == Finished(1, "", f"pdf-report: error: charts file not found: {not_found}\n")

    (tmp_path / "work" / "taken").mkdir()
    done = run("pdf-report", tmp_path / "work", "--insights", str(insights), "--output", "taken")
    assert done == Finished(
        1, "", "pdf-report: error: cannot write taken: Is a directory; choose another output path\n"
    )
