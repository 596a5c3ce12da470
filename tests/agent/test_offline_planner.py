"""The offline planner: seed requests, wiring, questions, unmatched parts and the keyword
fallback. Real embeddings; one planner per module."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml

import memory.embedder
from assistant.agent.offline_planner import OfflinePlanner
from assistant.plugins.registry import CapabilityRow
from assistant.workflow.loader import from_data
from assistant.workflow.model import GlobItems
from memory.embedder import EmbedderUnavailable
from tests.agent.test_offline_eval import example_rows
from tests.test_examples import Cli, example_repo
from tests.workflow.wftools import run_json


@pytest.fixture(scope="module")
def planner() -> OfflinePlanner:
    return OfflinePlanner(example_rows())


def test_the_seed_pipeline(planner: OfflinePlanner) -> None:
    draft = planner.plan(
        "Analyze this CSV file sales.csv, generate visualizations, and create a PDF report"
    )
    assert draft.plan is not None and not draft.questions and not draft.unmatched
    steps = {s.name: s for s in draft.plan.steps}
    assert list(steps) == ["extract-data", "statistical-analysis", "create-charts", "pdf-report"]
    assert steps["extract-data"].inputs == {"file": "sales.csv"}
    assert steps["statistical-analysis"].inputs == {"data": "${steps.extract-data.outputs.data}"}
    assert steps["create-charts"].inputs["insights"] == (
        "${steps.statistical-analysis.outputs.insights}"
    )
    assert steps["pdf-report"].inputs["charts"] == "${steps.create-charts.outputs.charts}"
    assert sorted(steps["pdf-report"].depends_on) == ["create-charts", "statistical-analysis"]
    assert any("Added data-analyzer.statistical-analysis" in n for n in draft.notes)
    from_data(draft.plan.to_workflow())  # a valid workflow


def test_a_folder_for_a_one_file_input_and_an_unmatched_part(planner: OfflinePlanner) -> None:
    draft = planner.plan(
        "Compress all images in ./input/, then upload to my S3 bucket, then generate a summary"
    )
    assert draft.plan is not None
    compress = draft.plan.steps[0]
    assert (compress.plugin, compress.capability, compress.inputs, compress.for_each) == (
        "image-resizer",
        "compress",
        {"input": "${item}"},
        {"glob": "./input/*"},
    )
    assert not [q for q in draft.questions if q.step == "compress"]
    assert "compress runs once per file matching ./input/*." in draft.notes
    assert [u.clause for u in draft.unmatched] == ["upload to my S3 bucket"]
    assert draft.unmatched[0].suggestions == ["upload s3 bucket"]
    assert (
        "Nothing installed can 'upload to my S3 bucket'; try `mark1 capabilities search upload "
        "s3 bucket` or install a plugin that can." in draft.notes
    )


def test_a_per_file_plan_is_a_valid_workflow(planner: OfflinePlanner) -> None:
    draft = planner.plan("Resize ./shots/*.png to 100px wide and compress them at quality 50")
    assert draft.plan is not None and not draft.questions
    steps = from_data(draft.plan.to_workflow()).workflow.steps
    assert [(s.name, s.for_each, s.inputs["input"]) for s in steps] == [
        ("resize", GlobItems(glob="./shots/*.png"), "${item}"),
        ("compress", "${steps.resize.outputs.image}", "${item}"),
    ]
    assert steps[1].depends_on == ["resize"]
    assert "compress runs once per file resize wrote." in draft.notes


def test_a_plan_that_runs_once_per_file_checks_and_runs(
    planner: OfflinePlanner, cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Against the installed image-resizer: the glob is read from where the run starts, the
    resized "image" files feed compress with nothing to convert, and each file is done."""
    import PIL.Image

    installed = cli("plugin", "install", str(example_repo("image-resizer", tmp_path).path))
    assert installed.code == 0, installed.err
    photos = tmp_path / "photos"
    photos.mkdir()
    PIL.Image.new("RGB", (600, 400), (20, 120, 200)).save(photos / "a.png")
    PIL.Image.new("RGB", (900, 300), (200, 120, 20)).save(photos / "b.jpg")
    monkeypatch.chdir(tmp_path)
    draft = planner.plan("Resize all images in photos/ to 300px wide, then compress them")
    assert draft.plan is not None and not draft.questions
    workflow = {**draft.plan.to_workflow(), "outputs": {"files": "${steps.compress.outputs.image}"}}
    path = tmp_path / "plan.yml"
    path.write_text(yaml.safe_dump(workflow), encoding="utf-8")

    checked = cli("workflow", "validate", str(path), "--json")
    code, out, err = run_json(cli, path)

    assert checked.code == 0, checked.err
    assert json.loads(checked.out)["conversions"] == []
    assert code == 0, err
    assert out["steps"] == {"resize": "succeeded", "compress": "succeeded"}
    sizes = []
    for written in out["outputs"]["files"]:
        with PIL.Image.open(written) as image:
            sizes.append((image.format, image.size))
    assert sizes == [("JPEG", (300, 200)), ("JPEG", (300, 100))]


def test_a_missing_input_is_asked_for_in_words(planner: OfflinePlanner) -> None:
    draft = planner.plan("Clean a CSV file")
    assert draft.plan is not None and draft.plan.steps[0].inputs == {}
    (question,) = draft.questions
    assert question.text == "Which CSV file should extract-data clean?"
    assert (question.step, question.parameter) == ("extract-data", "file")


def test_image_steps_chain(planner: OfflinePlanner) -> None:
    draft = planner.plan("Resize photo.jpg to 1024 pixels wide, then compress it at quality 70")
    assert draft.plan is not None and not draft.questions
    resize, compress = draft.plan.steps
    assert resize.inputs == {"input": "photo.jpg", "width": 1024}
    assert compress.inputs == {"input": "${steps.resize.outputs.image}", "quality": 70}
    assert compress.depends_on == ["resize"]


def test_repeated_capabilities_get_numbered_names(planner: OfflinePlanner) -> None:
    draft = planner.plan("Clean a.csv and clean b.csv, then clean c.csv")
    assert draft.plan is not None
    assert [s.name for s in draft.plan.steps] == [
        "extract-data",
        "extract-data-2",
        "extract-data-3",
    ]


def test_nothing_installed_can_do_it(planner: OfflinePlanner) -> None:
    draft = planner.plan("Monitor my website and alert me if it goes down")
    assert draft.plan is None
    assert [u.clause for u in draft.unmatched] == [
        "Monitor my website and alert me if it goes down"
    ]


def test_a_toss_up_is_asked_about(planner: OfflinePlanner) -> None:
    draft = planner.plan("Analyze this CSV file")
    assert draft.plan is not None
    (question, *_) = [q for q in draft.questions if q.choices]
    assert question.step == draft.plan.steps[0].name
    assert set(question.choices) >= {"csv-processor.extract-data", "csv-summary.summarize"}


def test_the_goal_is_the_request_shortened(planner: OfflinePlanner) -> None:
    draft = planner.plan(
        "Clean the sales figures in exports/2024/quarterly-sales.csv, then compute statistics "
        "of every column, then draw charts of them and build a PDF report called 'Q4'"
    )
    assert draft.plan is not None
    assert draft.plan.goal.startswith("Clean the sales figures") and draft.plan.goal.endswith("...")
    assert len(draft.plan.goal) <= 83


def test_an_empty_request_or_registry_plans_nothing(planner: OfflinePlanner) -> None:
    assert planner.plan("   ").plan is None
    draft = OfflinePlanner([]).plan("Clean sales.csv")
    assert draft.plan is None and "install a plugin" in draft.notes[0]


def test_disabled_capabilities_are_not_planned() -> None:
    rows = [
        CapabilityRow(r.plugin, r.capability.name != "extract-data", r.capability)
        for r in example_rows()
    ]
    draft = OfflinePlanner(rows).plan("Clean sales.csv")
    assert all(s.capability != "extract-data" for s in (draft.plan.steps if draft.plan else []))


class CountingEmbedder:
    """The real model, counting the texts it is asked to embed."""

    def __init__(self) -> None:
        self.real = memory.embedder.embedder()
        self.model_id, self.dimension = self.real.model_id, self.real.dimension
        self.calls: list[int] = []

    def embed(self, texts: Sequence[str]) -> Any:
        self.calls.append(len(texts))
        return self.real.embed(texts)


def test_capabilities_are_embedded_once(monkeypatch: pytest.MonkeyPatch) -> None:
    counting = CountingEmbedder()
    monkeypatch.setattr(memory.embedder, "embedder", lambda model_id: counting)
    planner = OfflinePlanner(example_rows())
    planner.plan("Clean a.csv, then summarize it")
    planner.plan("Resize b.png")
    assert counting.calls == [len(example_rows()), 2, 1]


def test_keywords_when_the_model_cannot_load(monkeypatch: pytest.MonkeyPatch) -> None:
    def unavailable(model_id: str) -> Any:
        raise EmbedderUnavailable("no model here", hint="scripts/setup")

    monkeypatch.setattr(memory.embedder, "embedder", unavailable)
    draft = OfflinePlanner(example_rows()).plan("Compress photo.jpg, then upload it to S3")
    assert draft.plan is not None
    assert [(s.capability, s.inputs) for s in draft.plan.steps] == [
        ("compress", {"input": "photo.jpg"})
    ]
    assert [u.clause for u in draft.unmatched] == ["upload it to S3"]
    assert any(n.startswith("Matched by keywords, not meaning: no model here") for n in draft.notes)
