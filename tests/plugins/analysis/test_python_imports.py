"""Hidden dependencies: imports that no dependency file declares, in real folders."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from assistant.plugins.analysis.files import RepoFiles
from assistant.plugins.analysis.profile import Dependency, Evidence, HiddenDependency
from assistant.plugins.analysis.python_imports import (
    IMPORT_TO_DISTRIBUTION,
    distribution_for,
    hidden_dependencies,
)
from assistant.plugins.analysis.python_packaging import normalize_name, scan_python_packaging

MakeRepo = Callable[[dict[str, str | bytes]], RepoFiles]

SCRIPT = """
    import argparse
    import os
    from typing import TYPE_CHECKING

    import cv2
    import requests
    import yaml
    from PIL import Image, ImageOps

    import helper
    from utils.io import save
    from . import sibling

    try:
        import ujson as json
    except ImportError:
        import json

    try:
        import orjson
    except (ModuleNotFoundError, OSError):
        orjson = None

    try:
        import numpy
    except ValueError:
        numpy = None

    if TYPE_CHECKING:
        from pandas import DataFrame


    def main():
        import PIL.ImageFilter
        from google.cloud import storage, bigquery
        parser = argparse.ArgumentParser()
        parser.add_argument("image")
        return parser.parse_args()


    if __name__ == "__main__":
        main()
"""


def hidden(module: str, distribution: str, *evidence: Evidence) -> HiddenDependency:
    return HiddenDependency(module=module, distribution=distribution, evidence=list(evidence))


def test_argparse_script_with_only_requests_declared(repo_files: MakeRepo) -> None:
    files = repo_files(
        {
            "tool.py": SCRIPT,
            "helper.py": "",
            "utils/io.py": "def save():\n    pass\n",
            "requirements.txt": "requests>=2\n",
            "tests/test_tool.py": "import pytest\nimport hypothesis\n",
            "test_smoke.py": "import responses\n",
            "conftest.py": "import freezegun\n",
            "docs/conf.py": "import sphinx_rtd_theme\n",
            "setup.py": "from setuptools import setup\nimport versioneer\nsetup()\n",
        }
    )
    declared = scan_python_packaging(files).dependencies

    assert hidden_dependencies(files, declared) == [
        hidden("cv2", "opencv-python", Evidence(file="tool.py", line=5, detail="import cv2")),
        hidden(
            "google.cloud.bigquery",
            "google-cloud-bigquery",
            Evidence(file="tool.py", line=35, detail="from google.cloud import storage, bigquery"),
        ),
        hidden(
            "google.cloud.storage",
            "google-cloud-storage",
            Evidence(file="tool.py", line=35, detail="from google.cloud import storage, bigquery"),
        ),
        hidden(
            "numpy",
            "numpy",
            Evidence(file="tool.py", line=25, detail="import numpy"),
        ),
        hidden(
            "PIL",
            "pillow",
            Evidence(file="tool.py", line=8, detail="from PIL import Image, ImageOps"),
            Evidence(file="tool.py", line=34, detail="import PIL.ImageFilter"),
        ),
        hidden("yaml", "pyyaml", Evidence(file="tool.py", line=7, detail="import yaml")),
    ]


def test_evidence_is_capped_at_five_imports_in_path_order(repo_files: MakeRepo) -> None:
    files = repo_files({f"mod{i}.py": "import rich\n" for i in range(7)})

    assert hidden_dependencies(files, []) == [
        hidden(
            "rich",
            "rich",
            *(Evidence(file=f"mod{i}.py", line=1, detail="import rich") for i in range(5)),
        )
    ]


def test_alternative_distributions_and_conda_names_count_as_declared(
    repo_files: MakeRepo,
) -> None:
    files = repo_files(
        {
            "app/run.py": "import cv2\nimport torch\nimport bs4\nimport dateutil.parser\n",
            "src/mypkg/__init__.py": "",
            "app/use.py": "import mypkg\n",
        }
    )
    evidence = Evidence(file="environment.yml")
    declared = [
        Dependency(ecosystem="python", name="opencv-python-headless", evidence=evidence),
        Dependency(ecosystem="conda", name="pytorch", evidence=evidence),
        Dependency(ecosystem="python", name="beautifulsoup4", evidence=evidence),
        Dependency(ecosystem="node", name="python-dateutil", evidence=evidence),
    ]

    assert hidden_dependencies(files, declared) == [
        hidden(
            "dateutil",
            "python-dateutil",
            Evidence(file="app/run.py", line=4, detail="import dateutil.parser"),
        )
    ]


def test_unparsable_files_and_files_without_imports_are_skipped(repo_files: MakeRepo) -> None:
    files = repo_files({"broken.py": "import flask\ndef (:\n", "data.py": "X = 1\n"})

    assert hidden_dependencies(files, []) == []


@pytest.mark.parametrize(
    ("module", "distribution"),
    [
        ("PIL", "pillow"),
        ("PIL.Image", "pillow"),
        ("cv2", "opencv-python"),
        ("yaml", "pyyaml"),
        ("sklearn.linear_model", "scikit-learn"),
        ("bs4", "beautifulsoup4"),
        ("dotenv", "python-dotenv"),
        ("dateutil", "python-dateutil"),
        ("jwt", "pyjwt"),
        ("Crypto.Cipher", "pycryptodome"),
        ("magic", "python-magic"),
        ("docx", "python-docx"),
        ("fitz", "pymupdf"),
        ("google.cloud.storage", "google-cloud-storage"),
        ("google.cloud.storage.blob", "google-cloud-storage"),
        ("google.protobuf.json_format", "protobuf"),
        ("google.genai", "google-genai"),
        ("azure.identity", "azure-identity"),
        ("azure.storage.blob", "azure-storage-blob"),
        ("typing_extensions", "typing-extensions"),
        ("Flask_Cors", "flask-cors"),
    ],
)
def test_distribution_for(module: str, distribution: str) -> None:
    assert distribution_for(module) == distribution


def test_mapping_table_lists_only_real_mismatches() -> None:
    mismatches = {k: v for k, v in IMPORT_TO_DISTRIBUTION.items() if normalize_name(k) != v}

    assert mismatches == IMPORT_TO_DISTRIBUTION
    assert len(mismatches) >= 60
