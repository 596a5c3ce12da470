"""What a repository needs beyond a plain CPU process: a GPU, large models, memory, and the
system binaries its code runs.

These decide where a plugin can run at all (a CUDA-only model on a laptop without an NVIDIA
card will not) and what ``apt-get install`` must add before it works (``pytesseract`` is
useless without the ``tesseract`` program). Evidence comes from declared packages, code lines
and, for model weights checked into the repository, the files' sizes.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from assistant.plugins.analysis.env_vars import (
    capped_evidence,
    grep_lines,
    line_evidence,
    runtime_sources,
)
from assistant.plugins.analysis.files import RepoFiles
from assistant.plugins.analysis.profile import (
    Dependency,
    Evidence,
    Findings,
    ResourceFinding,
    ToolchainFinding,
)

ResourceKind = Literal["gpu", "large_model", "memory"]
Sources = list[tuple[str, str]]  # (path, language) of run-time code, from runtime_sources

GPU_DETAIL = "NVIDIA GPU with CUDA"
GPU_OPTIONAL = " (used when available)"  # the code checks torch.cuda.is_available() and copes
LARGE_MODEL_PACKAGES = frozenset(
    {"sentence-transformers", "diffusers", "llama-cpp-python", "openai-whisper", "faster-whisper"}
)
MEMORY_GB = {"torch": 2, "tensorflow": 2, "tensorflow-gpu": 2, "jax": 1, "dask": 1, "spacy": 1}
MODEL_FILE_SUFFIXES = (".gguf", ".safetensors", ".onnx", ".pt", ".pth", ".ckpt", ".bin")
LARGE_FILE_BYTES = 50 * 1024 * 1024


@dataclass(frozen=True)
class CodeRule:
    """A code line that reveals a resource; ``{}`` in ``detail`` takes the pattern's group 1."""

    kind: ResourceKind
    keywords: tuple[str, ...]  # a line holds one of these whenever the pattern matches
    pattern: re.Pattern[str]
    detail: str


CODE_RULES = (
    CodeRule(
        "gpu",
        ("cuda",),
        # A device, not any "cuda" string (ripgrep's file-type table lists "cuda" files).
        re.compile(r"\.cuda\(|(?:device\s*=\s*|\.to\(\s*|device\(\s*)[\"']cuda(?::\d+)?[\"']"),
        GPU_DETAIL,
    ),
    CodeRule("gpu", ("CUDA_VISIBLE_DEVICES",), re.compile("CUDA_VISIBLE_DEVICES"), GPU_DETAIL),
    CodeRule(
        "large_model",
        ("from_pretrained",),
        re.compile(r"\.from_pretrained\(\s*[\"']([^\"']+)[\"']"),
        "pretrained model {}",
    ),
    CodeRule(
        "large_model",
        ("from_pretrained",),
        re.compile(r"\.from_pretrained\(\s*(?![\"'])"),
        "pretrained model weights (from_pretrained)",
    ),
    CodeRule(
        "large_model",
        ("SentenceTransformer",),
        re.compile(r"SentenceTransformer\(\s*[\"']([^\"']+)[\"']"),
        "sentence-transformers model {}",
    ),
    CodeRule(
        "large_model",
        ("load_model",),
        re.compile(r"whisper\.load_model\(\s*[\"']([^\"']+)[\"']"),
        "whisper model {}",
    ),
    CodeRule(
        "large_model",
        (".gguf", ".safetensors", ".onnx", ".pt", ".ckpt"),
        re.compile(r"[\"']([\w./-]+\.(?:gguf|safetensors|onnx|pt|pth|ckpt))[\"']"),
        "model file {}",
    ),
)
CODE_KEYWORDS = tuple(dict.fromkeys(k for rule in CODE_RULES for k in rule.keywords))

# System programs: the Debian package that provides each.
BINARY_PACKAGES = {
    "tesseract": "tesseract-ocr", "ffmpeg": "ffmpeg", "ffprobe": "ffmpeg",
    "pdftotext": "poppler-utils", "pdftoppm": "poppler-utils", "convert": "imagemagick",
    "magick": "imagemagick", "pandoc": "pandoc", "gs": "ghostscript",
    "libreoffice": "libreoffice", "soffice": "libreoffice", "wkhtmltopdf": "wkhtmltopdf",
    "git": "git", "chromium": "chromium", "chromium-browser": "chromium", "java": "default-jre",
}  # fmt: skip
# Packages that are thin wrappers: they run (or link) the program named here.
WRAPPER_BINARIES = {
    "pytesseract": "tesseract", "pdf2image": "pdftoppm", "ffmpeg-python": "ffmpeg",
    "moviepy": "ffmpeg", "pydub": "ffmpeg", "fluent-ffmpeg": "ffmpeg", "wand": "convert",
    "pypandoc": "pandoc",
}  # fmt: skip
# A program named as the first string of a run call, or of an argv list passed to one later.
RUN_CALL = re.compile(
    r"(?:subprocess\.\w+|os\.(?:system|popen|exec\w*|spawn\w*)|shutil\.which|\bexec(?:Sync|File"
    r"|FileSync)?|\bspawn(?:Sync)?|exec\.Command|exec\.LookPath|Command::new)\s*\(\s*\[?\s*f?"
    r"[\"'`](?:[\w./-]*/)?([\w.-]+)(?=[\s\"'`])"
)
ARGV_LIST = re.compile(r"\[\s*[\"'`](?:[\w./-]*/)?([\w.-]+)[\"'`]\s*,")
# What a file that runs programs must contain, per language (a cheap test before the lines).
RUN_KEYWORDS = {
    "python": ("subprocess", "os.system", "os.popen", "os.exec", "os.spawn", "shutil.which"),
    "javascript": ("child_process", "execa"),
    "typescript": ("child_process", "execa"),
    "go": ("exec.Command", "exec.LookPath"),
    "rust": ("Command::new",),
}
QUOTED_BINARIES = tuple(f"{quote}{name}" for name in BINARY_PACKAGES for quote in "\"'`/")
SHELL_SEPARATORS = re.compile(r"[;&|()`]|\$\(")
COMMAND_PREFIXES = frozenset(
    {"then", "do", "else", "if", "while", "until", "!", "sudo", "exec", "time", "xargs", "command",
     "nohup", "env"}
)  # fmt: skip


def detect_resources(files: RepoFiles, dependencies: list[Dependency]) -> Findings:
    """GPU, large-model and memory needs, and the system binaries the code runs."""
    runtime = [d for d in dependencies if not d.dev]
    sources = runtime_sources(files)
    return Findings(
        resources=resource_findings(files, sources, runtime),
        toolchains=binary_findings(files, sources, runtime),
    )


# --- resources -----------------------------------------------------------------------------


def resource_findings(
    files: RepoFiles, sources: Sources, dependencies: list[Dependency]
) -> list[ResourceFinding]:
    """One finding per (kind, detail), in kind then detail order; the GPU is a single one."""
    grouped: dict[tuple[ResourceKind, str], list[Evidence]] = {}
    for kind, detail, evidence in resource_mentions(files, sources, dependencies):
        grouped.setdefault((kind, detail), []).append(evidence)
    if ("gpu", GPU_DETAIL) in grouped and uses_gpu_when_available(files, sources):
        grouped[("gpu", GPU_DETAIL + GPU_OPTIONAL)] = grouped.pop(("gpu", GPU_DETAIL))
    return [
        ResourceFinding(kind=kind, detail=detail, evidence=capped_evidence(items))
        for (kind, detail), items in sorted(grouped.items())
    ]


def resource_mentions(
    files: RepoFiles, sources: Sources, dependencies: list[Dependency]
) -> Iterator[tuple[ResourceKind, str, Evidence]]:
    yield from dependency_resources(dependencies)
    yield from code_resources(files, sources)
    yield from model_files(files)


def dependency_resources(
    dependencies: list[Dependency],
) -> Iterator[tuple[ResourceKind, str, Evidence]]:
    for dependency in dependencies:
        name = dependency.name
        if needs_gpu(dependency):
            yield "gpu", GPU_DETAIL, dependency.evidence
        if name in LARGE_MODEL_PACKAGES:
            yield (
                "large_model",
                f"{name}: model weights downloaded at run time",
                dependency.evidence,
            )
        if name in MEMORY_GB:
            yield "memory", f"{name}: expect {MEMORY_GB[name]} GB+ of memory", dependency.evidence


def needs_gpu(dependency: Dependency) -> bool:
    """CUDA builds: ``cupy-cuda12x``, ``nvidia-*`` runtime wheels, ``tensorflow-gpu``, and jax
    with a cuda extra (``jax[cuda12]``)."""
    name = dependency.name
    return (
        name == "tensorflow-gpu"
        or name.startswith(("cupy", "nvidia-"))
        or (name in {"jax", "jaxlib"} and "cuda" in dependency.spec)
    )


def code_resources(
    files: RepoFiles, sources: Sources
) -> Iterator[tuple[ResourceKind, str, Evidence]]:
    for path, language in sources:
        for number, line in grep_lines(files, path, language, CODE_KEYWORDS):
            for rule in CODE_RULES:
                match = rule.pattern.search(line)
                if match:
                    detail = rule.detail.format(*match.groups())
                    yield rule.kind, detail, line_evidence(path, number, line)


def model_files(files: RepoFiles) -> Iterator[tuple[ResourceKind, str, Evidence]]:
    """Weights checked into the repository; small ones (test fixtures, tokenizers) do not count."""
    for path in files.paths:
        size = file_size(files, path) if path.endswith(MODEL_FILE_SUFFIXES) else 0
        if size > LARGE_FILE_BYTES:
            yield "large_model", f"model file {path} ({size // 2**20} MB)", Evidence(file=path)


def file_size(files: RepoFiles, path: str) -> int:
    """Bytes of the file itself: a symbolic link is not followed (it may point anywhere)."""
    try:
        return (files.root / path).lstat().st_size
    except OSError:
        return 0


def uses_gpu_when_available(files: RepoFiles, sources: Sources) -> bool:
    return any(
        "cuda.is_available()" in (files.text(path) or "")
        for path, language in sources
        if language == "python"
    )


# --- system binaries -----------------------------------------------------------------------


def binary_findings(
    files: RepoFiles, sources: Sources, dependencies: list[Dependency]
) -> list[ToolchainFinding]:
    """One finding per program, sorted by name, with whether this machine already has it."""
    evidence: dict[str, list[Evidence]] = {}
    for binary, item in binary_mentions(files, sources, dependencies):
        evidence.setdefault(binary, []).append(item)
    return [
        ToolchainFinding(
            name=binary,
            kind="binary",
            found=shutil.which(binary) is not None,
            debian_package=BINARY_PACKAGES[binary],
            evidence=capped_evidence(items),
        )
        for binary, items in sorted(evidence.items())
    ]


def binary_mentions(
    files: RepoFiles, sources: Sources, dependencies: list[Dependency]
) -> Iterator[tuple[str, Evidence]]:
    for dependency in dependencies:
        if dependency.name in WRAPPER_BINARIES:
            yield WRAPPER_BINARIES[dependency.name], dependency.evidence
    for path, language in sources:
        for number, line in run_lines(files, path, language):
            for binary in invoked_binaries(line, language):
                yield binary, line_evidence(path, number, line)


def run_lines(files: RepoFiles, path: str, language: str) -> list[tuple[int, str]]:
    """Shell scripts run programs on any line; other code only through a run call, naming the
    program in a string."""
    if language == "shell":
        return grep_lines(files, path, language, BINARY_PACKAGES)
    if not any(k in (files.text(path) or "") for k in RUN_KEYWORDS.get(language, ())):
        return []
    return grep_lines(files, path, language, QUOTED_BINARIES)


def invoked_binaries(line: str, language: str) -> list[str]:
    """The known programs a line runs, sorted."""
    if language == "shell":
        names = set(shell_commands(line))
    else:
        names = set(RUN_CALL.findall(line) + ARGV_LIST.findall(line))
    return sorted(names.intersection(BINARY_PACKAGES))


def shell_commands(line: str) -> Iterator[str]:
    """The program each command of a shell line runs: ``cd x && sudo ffmpeg -i a`` gives cd
    and ffmpeg (prefixes such as sudo and ``VAR=value`` assignments are skipped)."""
    for segment in SHELL_SEPARATORS.split(line):
        words = (w.strip("\"'") for w in segment.split())
        command = next((w for w in words if w and w not in COMMAND_PREFIXES and "=" not in w), "")
        if command:
            yield command.rsplit("/", 1)[-1]
