"""GPU, large models, memory and system binaries, from packages, code lines and file sizes."""

from __future__ import annotations

import shutil

from assistant.plugins.analysis.profile import (
    Dependency,
    Evidence,
    Findings,
    ResourceFinding,
    ToolchainFinding,
)
from assistant.plugins.analysis.resources import detect_resources, shell_commands


def dependency(name: str, line: int, spec: str = "", dev: bool = False) -> Dependency:
    evidence = Evidence(file="requirements.txt", line=line, detail=name + spec)
    return Dependency(ecosystem="python", name=name, spec=spec, dev=dev, evidence=evidence)


def code(file: str, line: int, detail: str) -> Evidence:
    return Evidence(file=file, line=line, detail=detail)


def test_gpu_large_models_and_memory(repo_files):
    files = repo_files(
        {
            "model.py": """
                import torch
                from transformers import AutoModel
                device = "cuda" if torch.cuda.is_available() else "cpu"
                model = AutoModel.from_pretrained("bert-base-uncased").to(device)
                other = AutoModel.from_pretrained(name)
                llm = Llama(model_path="models/q4.gguf")
                # model.cuda()
            """,
            "train.sh": "CUDA_VISIBLE_DEVICES=0 python train.py\n",
            "tests/test_gpu.py": "x.cuda()\n",
            "weights/tiny.onnx": b"\x00" * 10,
        }
    )
    with open(files.root / "weights" / "big.safetensors", "wb") as sparse:
        sparse.truncate(60 * 2**20)
    dependencies = [
        dependency("torch", 1),
        dependency("sentence-transformers", 2),
        dependency("cupy-cuda12x", 3),
        dependency("jax", 4, spec="[cuda12]>=0.4"),
        dependency("dask", 5, dev=True),
        dependency("jaxlib", 6),
    ]
    model = "model.py"
    assert detect_resources(files, dependencies) == Findings(
        resources=[
            ResourceFinding(
                kind="gpu",
                detail="NVIDIA GPU with CUDA (used when available)",
                evidence=[
                    dependencies[2].evidence,
                    dependencies[3].evidence,
                    code(model, 3, 'device = "cuda" if torch.cuda.is_available() else "cpu"'),
                    code("train.sh", 1, "CUDA_VISIBLE_DEVICES=0 python train.py"),
                ],
            ),
            ResourceFinding(
                kind="large_model",
                detail="model file models/q4.gguf",
                evidence=[code(model, 6, 'llm = Llama(model_path="models/q4.gguf")')],
            ),
            ResourceFinding(
                kind="large_model",
                detail="model file weights/big.safetensors (60 MB)",
                evidence=[Evidence(file="weights/big.safetensors")],
            ),
            ResourceFinding(
                kind="large_model",
                detail="pretrained model bert-base-uncased",
                evidence=[
                    code(
                        model,
                        4,
                        'model = AutoModel.from_pretrained("bert-base-uncased").to(device)',
                    )
                ],
            ),
            ResourceFinding(
                kind="large_model",
                detail="pretrained model weights (from_pretrained)",
                evidence=[code(model, 5, "other = AutoModel.from_pretrained(name)")],
            ),
            ResourceFinding(
                kind="large_model",
                detail="sentence-transformers: model weights downloaded at run time",
                evidence=[dependencies[1].evidence],
            ),
            ResourceFinding(
                kind="memory",
                detail="jax: expect 1 GB+ of memory",
                evidence=[dependencies[3].evidence],
            ),
            ResourceFinding(
                kind="memory",
                detail="torch: expect 2 GB+ of memory",
                evidence=[dependencies[0].evidence],
            ),
        ]
    )


def test_gpu_without_an_availability_check_is_plainly_needed(repo_files):
    files = repo_files({"run.py": "model.cuda()\n"})
    assert detect_resources(files, []).resources == [
        ResourceFinding(
            kind="gpu", detail="NVIDIA GPU with CUDA", evidence=[code("run.py", 1, "model.cuda()")]
        )
    ]


def test_binaries_from_wrapper_packages_and_run_calls(repo_files, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: "/usr/bin/git" if name == "git" else None)
    files = repo_files(
        {
            "convert.py": """
                import subprocess, shutil
                subprocess.run(["ffmpeg", "-i", src, dst], check=True)
                probe = shutil.which("ffprobe")
                cmd = ["/usr/bin/pdftoppm", "-png", pdf]
                os.system("unknown-tool --x")
                # subprocess.run(["pandoc"])
            """,
            "scripts/build.sh": """
                #!/bin/sh
                cd docs && sudo pandoc a.md -o a.pdf | gs -q
                echo git is nice
                FOO=1 git pull
            """,
            "index.js": """
                const { execSync } = require("child_process");
                execSync("magick in.png out.jpg");
            """,
            "main.go": 'cmd := exec.Command("git", "status")\n',
            "labels.py": 'NAMES = ["convert", "resize"]\n',
            "tests/test_convert.py": 'subprocess.run(["tesseract"])\n',
        }
    )
    dependencies = [dependency("pytesseract", 1), dependency("pypandoc", 2, dev=True)]

    def binary(name: str, package: str, *evidence: Evidence, found: bool = False):
        return ToolchainFinding(
            name=name, kind="binary", found=found, debian_package=package, evidence=list(evidence)
        )

    assert detect_resources(files, dependencies) == Findings(
        toolchains=[
            binary(
                "ffmpeg",
                "ffmpeg",
                code("convert.py", 2, 'subprocess.run(["ffmpeg", "-i", src, dst], check=True)'),
            ),
            binary("ffprobe", "ffmpeg", code("convert.py", 3, 'probe = shutil.which("ffprobe")')),
            binary(
                "git",
                "git",
                code("main.go", 1, 'cmd := exec.Command("git", "status")'),
                code("scripts/build.sh", 4, "FOO=1 git pull"),
                found=True,
            ),
            binary(
                "gs",
                "ghostscript",
                code("scripts/build.sh", 2, "cd docs && sudo pandoc a.md -o a.pdf | gs -q"),
            ),
            binary(
                "magick", "imagemagick", code("index.js", 2, 'execSync("magick in.png out.jpg");')
            ),
            binary(
                "pandoc",
                "pandoc",
                code("scripts/build.sh", 2, "cd docs && sudo pandoc a.md -o a.pdf | gs -q"),
            ),
            binary(
                "pdftoppm",
                "poppler-utils",
                code("convert.py", 4, 'cmd = ["/usr/bin/pdftoppm", "-png", pdf]'),
            ),
            binary("tesseract", "tesseract-ocr", dependencies[0].evidence),
        ]
    )


def test_shell_commands_skip_prefixes_and_assignments():
    line = 'X=1 nohup /opt/bin/ffmpeg -y && echo "$(git rev-parse HEAD)"; if true; then java -jar x'
    assert list(shell_commands(line)) == ["ffmpeg", "echo", "git", "true", "java"]


def test_nothing_needed_by_a_plain_script(repo_files):
    files = repo_files({"main.py": "import json\nprint(json.dumps({'model': 'small.pt2'}))\n"})
    assert detect_resources(files, [dependency("requests", 1)]) == Findings()
