"""The example plugins in ``examples/``, installed from real git repositories and run for real.

Each example folder is copied into a fresh repository, installed with ``mark1 plugin install``
(which builds the plugin's own environment; image-resizer's pulls in Pillow) and each capability
is run through ``mark1 run --json``; results are checked against the files actually written and
the run recorded in ``mark1 runs show``.

The image tests make and inspect images with Pillow in this process, so they need Pillow in the
project's dev dependencies; without it they are skipped (the csv-summary tests and the
not-an-image failure still run).
"""

from __future__ import annotations

import json
import random
import shutil
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.conftest import EXAMPLES, CliResult, Repo, git

Cli = Callable[..., CliResult]


def example_repo(name: str, tmp_path: Path) -> Repo:
    """``examples/NAME`` copied into a new git repository with one commit."""
    path = tmp_path / "repos" / name
    shutil.copytree(
        EXAMPLES / name, path, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".venv")
    )
    git(path, "init", "-q", "-b", "main")
    repo = Repo(path)
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", f"{name} example")
    return repo


def install(cli: Cli, repo: Repo) -> dict[str, Any]:
    result = cli("plugin", "install", str(repo.path), "--json")
    assert result.code == 0, result.err
    info = json.loads(result.out)
    assert info["commit"] == repo.head
    return info


def run(cli: Cli, target: str, workdir: Path, *inputs: str, code: int = 0) -> dict[str, Any]:
    """``mark1 run TARGET -i ... --json`` in ``workdir``; its JSON result."""
    pairs = [word for pair in inputs for word in ("-i", pair)]
    result = cli("run", target, *pairs, "--workdir", str(workdir), "--json")
    assert result.code == code, result.err
    return json.loads(result.out)


def recorded(cli: Cli, run_id: str) -> dict[str, Any]:
    result = cli("runs", "show", run_id, "--json")
    assert result.code == 0, result.err
    return json.loads(result.out)


# ---- both examples -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "capabilities"),
    [("csv-summary", ["summarize"]), ("image-resizer", ["resize", "compress"])],
)
def test_example_manifest_is_valid(name: str, capabilities: list[str], cli: Cli) -> None:
    result = cli("plugin", "validate", str(EXAMPLES / name), "--json")
    assert result.code == 0, result.err
    manifest = json.loads(result.out)
    assert manifest["name"] == name
    assert [c["name"] for c in manifest["capabilities"]] == capabilities


# ---- csv-summary -------------------------------------------------------------------------------


def test_csv_summary_summarises_the_sample(tmp_path: Path, cli: Cli) -> None:
    info = install(cli, example_repo("csv-summary", tmp_path))
    assert info["capabilities"] == ["summarize"]
    work = tmp_path / "work"
    sample = EXAMPLES / "csv-summary" / "sample.csv"

    out = run(cli, "csv-summary.summarize", work, f"file={sample}", "report=summary.json")

    assert out["status"] == "succeeded", out["error"]
    summary = out["outputs"]
    assert summary["rows"] == 3
    city, temp, sales = (summary["columns"][c] for c in ("city", "temp", "sales"))
    assert city["type"] == "text" and city["distinct"] == 3 and city["missing"] == 0
    assert city["top"] in {"Oslo", "Lima", "Pune"}  # a three-way tie
    assert temp == {
        "type": "number",
        "missing": 0,
        "distinct": 3,
        "min": 3.5,
        "max": 31.2,
        "mean": pytest.approx(17.9),
    }
    assert sales == {
        "type": "number",
        "missing": 1,
        "distinct": 2,
        "min": 7.0,
        "max": 10.0,
        "mean": 8.5,
    }
    report = work / "summary.json"
    assert out["artifacts"] == [str(report)]
    assert summary["report"] == str(report)
    assert json.loads(report.read_text())["columns"] == summary["columns"]

    record = recorded(cli, out["run_id"])
    assert record["status"] == "succeeded"
    assert record["target"] == "csv-summary.summarize"
    assert record["workdir"] == str(work)
    (step,) = record["steps"]
    assert step["exit_code"] == 0
    assert step["artifacts"] == [str(report)]
    assert step["outputs"]["rows"] == 3


def test_csv_summary_without_report_produces_no_file(tmp_path: Path, cli: Cli) -> None:
    """``report`` is an optional product: leaving it out is not a failure."""
    install(cli, example_repo("csv-summary", tmp_path))
    sample = EXAMPLES / "csv-summary" / "sample.csv"
    out = run(cli, "csv-summary.summarize", tmp_path / "work", f"file={sample}")
    assert out["status"] == "succeeded", out["error"]
    assert out["artifacts"] == []
    assert out["outputs"]["rows"] == 3


# ---- image-resizer -----------------------------------------------------------------------------


@pytest.fixture
def pil() -> ModuleType:
    """``PIL.Image``, to make test images and check what the plugin wrote."""
    import PIL.Image

    return PIL.Image


@pytest.fixture
def image_plugin(tmp_path: Path, cli: Cli) -> dict[str, Any]:
    info = install(cli, example_repo("image-resizer", tmp_path))
    assert info["capabilities"] == ["resize", "compress"]
    assert Path(info["environment"], "bin", "python").exists()
    return info


def noisy_jpeg(pil: ModuleType, path: Path, size: tuple[int, int]) -> Path:
    """A photo-like JPEG at quality 95: random noise compresses badly, so it is big."""
    rng = random.Random(1)
    image = pil.frombytes("RGB", size, rng.randbytes(size[0] * size[1] * 3))
    image.save(path, "JPEG", quality=95)
    return path


def test_resize_keeps_the_aspect_ratio(
    pil: ModuleType, image_plugin: dict[str, Any], tmp_path: Path, cli: Cli
) -> None:
    source = tmp_path / "banner.png"
    pil.new("RGBA", (400, 200), (200, 30, 30, 128)).save(source)
    work = tmp_path / "work"

    out = run(cli, "image-resizer.resize", work, f"input={source}", "width=100")

    assert out["status"] == "succeeded", out["error"]
    written = work / "resized.png"  # the default output
    assert out["artifacts"] == [str(written)]
    assert out["outputs"]["image"] == str(written)
    assert out["outputs"]["output"] == str(written)
    assert (out["outputs"]["width"], out["outputs"]["height"]) == (100, 50)
    assert (out["outputs"]["original_width"], out["outputs"]["original_height"]) == (400, 200)
    assert out["outputs"]["bytes"] == written.stat().st_size
    with pil.open(written) as image:
        assert image.format == "PNG"
        assert image.size == (100, 50)
        assert image.mode == "RGBA", "PNG keeps the transparency"

    record = recorded(cli, out["run_id"])
    assert record["status"] == "succeeded"
    assert record["inputs"] == {"input": str(source), "width": 100, "output": "resized.png"}
    (step,) = record["steps"]
    assert step["exit_code"] == 0
    assert step["artifacts"] == [str(written)]
    assert step["outputs"]["width"] == 100


def test_resize_fits_inside_width_and_height_and_converts(
    pil: ModuleType, image_plugin: dict[str, Any], tmp_path: Path, cli: Cli
) -> None:
    """With both sides the image fits the box; the output's suffix picks the format."""
    source = noisy_jpeg(pil, tmp_path / "photo.jpg", (300, 400))
    work = tmp_path / "work"

    out = run(
        cli,
        "image-resizer.resize",
        work,
        f"input={source}",
        "width=120",
        "height=120",
        "output=thumbs/photo.webp",
    )

    assert out["status"] == "succeeded", out["error"]
    written = work / "thumbs" / "photo.webp"
    assert out["artifacts"] == [str(written)]
    assert (out["outputs"]["width"], out["outputs"]["height"]) == (90, 120)
    with pil.open(written) as image:
        assert image.format == "WEBP"
        assert image.size == (90, 120)
    assert recorded(cli, out["run_id"])["status"] == "succeeded"


def test_compress_shrinks_a_noisy_jpeg(
    pil: ModuleType, image_plugin: dict[str, Any], tmp_path: Path, cli: Cli
) -> None:
    source = noisy_jpeg(pil, tmp_path / "noise.jpg", (320, 240))
    work = tmp_path / "work"

    out = run(
        cli,
        "image-resizer.compress",
        work,
        f"input={source}",
        "quality=30",
        "output=small.jpg",
    )

    assert out["status"] == "succeeded", out["error"]
    written = work / "small.jpg"
    result = out["outputs"]
    assert out["artifacts"] == [str(written)]
    assert result["original_bytes"] == source.stat().st_size
    assert result["bytes"] == written.stat().st_size
    assert result["bytes"] < result["original_bytes"] * 0.8
    assert result["saved_bytes"] == result["original_bytes"] - result["bytes"]
    assert result["quality"] == 30
    with pil.open(written) as image:
        assert image.format == "JPEG"
        assert image.size == (320, 240)

    record = recorded(cli, out["run_id"])
    assert record["status"] == "succeeded"
    assert record["inputs"]["quality"] == 30
    assert record["outputs"]["bytes"] == result["bytes"]
    assert record["steps"][0]["artifacts"] == [str(written)]


def test_compress_out_of_range_quality_is_refused_before_running(
    image_plugin: dict[str, Any], tmp_path: Path, cli: Cli
) -> None:
    """The manifest's schema (quality 1-95) stops the run before the script starts."""
    result = cli(
        "run", "image-resizer.compress", "-i", f"input={tmp_path}", "-i", "quality=100", "--json"
    )
    assert result.code == 2
    assert "quality: 100 is greater than the maximum of 95" in result.err
    assert json.loads(cli("runs", "list", "--json").out) == []


def test_resizing_a_file_that_is_not_an_image_fails_and_is_recorded(
    image_plugin: dict[str, Any], tmp_path: Path, cli: Cli
) -> None:
    fake = tmp_path / "notes.png"
    fake.write_text("these are notes, not pixels\n")
    work = tmp_path / "work"

    out = run(cli, "image-resizer.resize", work, f"input={fake}", "width=10", code=1)

    message = f"resize: error: not an image file (or a format Pillow cannot read): {fake}"
    assert out["status"] == "failed"
    assert out["exit_code"] == 1
    assert message in out["stderr"]
    assert message in out["error"]
    assert out["artifacts"] == []
    assert out["outputs"] == {}
    assert not (work / "resized.png").exists()

    record = recorded(cli, out["run_id"])
    assert record["status"] == "failed"
    assert message in record["error"]
    (step,) = record["steps"]
    assert step["status"] == "failed"
    assert step["exit_code"] == 1
    assert message in step["stderr_tail"]
    assert step["artifacts"] == []
