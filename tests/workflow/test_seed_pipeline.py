"""The seed's §8.2 workflow, verbatim, end to end on the four real example plugins.

Each example is installed from its own git repository; the workflow converts the extracted CSV
to JSON for the analyser and chart generator (as `workflow validate` announces), and the final
report is saved under the name the seed gives it, final_report.pdf.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.test_examples import EXAMPLES, example_repo, install
from tests.workflow.wftools import Cli

PIPELINE = EXAMPLES / "workflows" / "data-processing-pipeline.yml"
SALES = EXAMPLES / "workflows" / "sales.csv"
PLUGINS = ("csv-processor", "data-analyzer", "chart-generator", "report-builder")


@pytest.fixture
def pipeline_plugins(cli: Cli, tmp_path: Path) -> None:
    for name in PLUGINS:
        install(cli, example_repo(name, tmp_path))


@pytest.mark.usefixtures("pipeline_plugins")
def test_seed_workflow_runs_end_to_end(cli: Cli) -> None:
    validated = cli("workflow", "validate", str(PIPELINE))
    assert validated.code == 0, validated.err
    assert validated.out.splitlines()[1:] == [
        "  order: data-extraction -> analysis -> visualization -> report-generation",
        "  converts data-extraction -> analysis.data: csv -> json (CSV -> JSON: each row "
        "becomes an object keyed by the header row, values stay strings)",
        "  converts data-extraction -> visualization.data: csv -> json (CSV -> JSON: each row "
        "becomes an object keyed by the header row, values stay strings)",
    ]
    result = cli("workflow", "run", str(PIPELINE), "-i", f"data_file={SALES}", "--json")
    assert result.code == 0, result.err
    out = json.loads(result.out)
    assert out["steps"] == {
        "data-extraction": "succeeded",
        "analysis": "succeeded",
        "visualization": "succeeded",
        "report-generation": "succeeded",
    }
    outputs = {k: Path(v) for k, v in out["outputs"].items()}
    assert sorted(outputs) == ["charts", "insights", "processed_data", "report"]
    assert outputs["processed_data"].name == "extracted.csv"
    assert outputs["processed_data"].read_text().splitlines()[0] == (
        "region,product,units,price,revenue"
    )
    insights = json.loads(outputs["insights"].read_text())
    assert insights["rows"] == 12
    assert ET.parse(outputs["charts"]).getroot().tag == "{http://www.w3.org/2000/svg}svg"
    report = outputs["report"]
    assert report.name == "final_report.pdf"
    data = report.read_bytes()
    assert data.startswith(b"%PDF-1.4")
    assert re.search(rb"\(Data report\) Tj", data)

    shown = cli("workflow", "show", out["run_id"])
    assert shown.code == 0
    lines = shown.out.splitlines()
    assert lines[0].startswith(f"run {out['run_id']}  data-processing-pipeline  succeeded")
    assert [line.split()[1] for line in lines[1:5]] == [
        "data-extraction",
        "analysis",
        "visualization",
        "report-generation",
    ]
    assert lines[4].endswith("succeeded  after analysis, visualization")
