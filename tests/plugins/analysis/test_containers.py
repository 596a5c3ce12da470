"""scan_containers on real files: Dockerfiles, compose files and READMEs naming system packages,
each asserted field for field."""

from __future__ import annotations

import shutil
from collections.abc import Callable

import pytest

from assistant.plugins.analysis.containers import is_secret_name, scan_containers
from assistant.plugins.analysis.files import RepoFiles
from assistant.plugins.analysis.profile import (
    Dependency,
    EntryPointFinding,
    EnvVarFinding,
    Evidence,
    Findings,
    RiskFinding,
    ServiceFinding,
    ToolchainFinding,
)

MakeRepo = Callable[[dict[str, str | bytes]], RepoFiles]


@pytest.fixture(autouse=True)
def docker_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    """``found`` must not depend on the machine running the tests."""
    monkeypatch.setattr(
        shutil, "which", lambda name: "/usr/bin/docker" if name == "docker" else None
    )


def ev(file: str, line: int | None = None, detail: str = "") -> Evidence:
    return Evidence(file=file, line=line, detail=detail)


def docker_toolchain(*files: str) -> ToolchainFinding:
    return ToolchainFinding(
        name="docker",
        kind="toolchain",
        found=True,
        debian_package="docker.io",
        evidence=[ev(f) for f in files],
    )


def test_dockerfile_packages_env_risk_and_entrypoint(repo_files: MakeRepo) -> None:
    files = repo_files(
        {
            "Dockerfile": """
                # syntax=docker/dockerfile:1
                FROM python:3.12-slim AS base
                FROM base
                ENV APP_HOME=/app OPENAI_API_KEY="" \\
                    LOG_LEVEL=info
                ENV LEGACY_MODE on and off
                ENV PYTHONUNBUFFERED=1 LC_ALL=C.UTF-8 PORT=$PORT
                RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y \\
                    --no-install-recommends \\
                    tesseract-ocr \\
                    # a comment inside the step
                    poppler-utils=22.02.0-2 $EXTRA_PACKAGES \\
                 && rm -rf /var/lib/apt/lists/*
                RUN curl -fsSL https://example.com/install.sh | sh
                RUN pip install --no-cache-dir -r requirements.txt "uvicorn[standard]>=0.29" Flask -e .
                RUN apt-get install -y tesseract-ocr && pip install -U pip setuptools
                EXPOSE 8000
                ENTRYPOINT ["python", "-m", "app"]
                CMD ["--port", "8000"]
            """,
        }
    )
    run_pip = (
        'RUN pip install --no-cache-dir -r requirements.txt "uvicorn[standard]>=0.29" Flask -e .'
    )

    assert scan_containers(files) == Findings(
        dependencies=[  # each package points at its own line; the repeated install is dropped
            Dependency(
                ecosystem="apt",
                name="tesseract-ocr",
                evidence=ev("Dockerfile", 10, "tesseract-ocr"),
            ),
            Dependency(
                ecosystem="apt",
                name="poppler-utils",
                spec="=22.02.0-2",
                evidence=ev("Dockerfile", 12, "poppler-utils=22.02.0-2 $EXTRA_PACKAGES"),
            ),
            Dependency(
                ecosystem="python",
                name="uvicorn",
                spec="[standard]>=0.29",
                evidence=ev("Dockerfile", 15, run_pip),
            ),
            Dependency(ecosystem="python", name="flask", evidence=ev("Dockerfile", 15, run_pip)),
        ],
        entry_points=[
            EntryPointFinding(
                kind="docker",
                name="app",
                command=["python", "-m", "app", "--port", "8000"],
                file="Dockerfile",
                line=18,
                framework="docker",
                language="docker",
                evidence=[
                    ev("Dockerfile", 18, 'ENTRYPOINT ["python", "-m", "app"]'),
                    ev("Dockerfile", 19, 'CMD ["--port", "8000"]'),
                ],
                confidence=0.7,
            )
        ],
        env_vars=[
            EnvVarFinding(
                name="APP_HOME",
                default="/app",
                evidence=[ev("Dockerfile", 4, 'ENV APP_HOME=/app OPENAI_API_KEY=""')],
            ),
            EnvVarFinding(
                name="OPENAI_API_KEY",
                secret=True,
                default="",
                evidence=[ev("Dockerfile", 4, 'ENV APP_HOME=/app OPENAI_API_KEY=""')],
            ),
            EnvVarFinding(
                name="LOG_LEVEL", default="info", evidence=[ev("Dockerfile", 5, "LOG_LEVEL=info")]
            ),
            EnvVarFinding(
                name="LEGACY_MODE",
                default="on and off",
                evidence=[ev("Dockerfile", 6, "ENV LEGACY_MODE on and off")],
            ),
            EnvVarFinding(  # a build argument's value, not a default
                name="PORT",
                evidence=[ev("Dockerfile", 7, "ENV PYTHONUNBUFFERED=1 LC_ALL=C.UTF-8 PORT=$PORT")],
            ),
        ],
        toolchains=[docker_toolchain("Dockerfile")],
        risks=[
            RiskFinding(
                category="install_code",
                severity="high",
                detail="Dockerfile: a RUN step pipes a downloaded script into a shell",
                evidence=[
                    ev("Dockerfile", 14, "RUN curl -fsSL https://example.com/install.sh | sh")
                ],
            )
        ],
        notes=["Dockerfile:2: base image python:3.12-slim", "Dockerfile:17: exposes port 8000"],
    )


def test_dockerfile_variants_shell_forms_and_alpine_packages(repo_files: MakeRepo) -> None:
    files = repo_files(
        {
            "worker/Dockerfile.alpine": """
                FROM golang:1.22 AS build
                CMD ["go", "test"]
                FROM alpine:3.19
                RUN apk add --no-cache --virtual .build-deps ffmpeg imagemagick=7.1.1-r0
                ENTRYPOINT ["/usr/bin/tini", "--"]
                CMD python worker.py
            """,
            "Dockerfile.cli": """
                FROM debian:bookworm
                CMD ["ignored"]
                ENTRYPOINT exec /app/cli "$@"
            """,
            "docker/Containerfile": "FROM scratch\n",
            "web/web.dockerfile": """
                FROM python:3.12 AS builder
                ENTRYPOINT ["python3"]
                CMD ["manage.py", "runserver"]
                FROM builder AS dev
                CMD ["manage.py", "runserver", "0.0.0.0:8000"]
                FROM dev AS debug
                ENTRYPOINT ["python3", "-X", "dev"]
            """,
        }
    )

    found = scan_containers(files)

    assert found.entry_points == [
        EntryPointFinding(
            kind="docker",
            name="cli",
            command=["/bin/sh", "-c", 'exec /app/cli "$@"'],
            file="Dockerfile.cli",
            line=3,
            framework="docker",
            language="docker",
            evidence=[
                ev("Dockerfile.cli", 3, 'ENTRYPOINT exec /app/cli "$@"'),
                ev("Dockerfile.cli", 2, 'CMD ["ignored"]'),
            ],
            confidence=0.7,
        ),
        EntryPointFinding(  # ENTRYPOINT set on top of an inherited CMD drops the CMD
            kind="docker",
            name="web",
            root="web",
            command=["python3", "-X", "dev"],
            file="web/web.dockerfile",
            line=7,
            framework="docker",
            language="docker",
            evidence=[ev("web/web.dockerfile", 7, 'ENTRYPOINT ["python3", "-X", "dev"]')],
            confidence=0.7,
        ),
        EntryPointFinding(
            kind="docker",
            name="worker",
            root="worker",
            command=["/usr/bin/tini", "--", "/bin/sh", "-c", "python worker.py"],
            file="worker/Dockerfile.alpine",
            line=5,
            framework="docker",
            language="docker",
            evidence=[
                ev("worker/Dockerfile.alpine", 5, 'ENTRYPOINT ["/usr/bin/tini", "--"]'),
                ev("worker/Dockerfile.alpine", 6, "CMD python worker.py"),
            ],
            confidence=0.7,
        ),
    ]
    apk_line = ev(
        "worker/Dockerfile.alpine",
        4,
        "RUN apk add --no-cache --virtual .build-deps ffmpeg imagemagick=7.1.1-r0",
    )
    assert found.dependencies == [
        Dependency(ecosystem="apt", name="ffmpeg", spec="apk", evidence=apk_line),
        Dependency(ecosystem="apt", name="imagemagick", spec="apk", evidence=apk_line),
    ]
    assert found.toolchains == [
        docker_toolchain(
            "Dockerfile.cli",
            "docker/Containerfile",
            "web/web.dockerfile",
            "worker/Dockerfile.alpine",
        )
    ]
    assert found.notes == [
        "Dockerfile.cli:1: base image debian:bookworm",
        "docker/Containerfile:1: base image scratch",
        "web/web.dockerfile:1: base image python:3.12",
        "worker/Dockerfile.alpine:1: base image golang:1.22",
        "worker/Dockerfile.alpine:3: base image alpine:3.19",
    ]


def test_a_stage_built_from_another_inherits_its_entrypoint(repo_files: MakeRepo) -> None:
    files = repo_files(
        {
            "Dockerfile": """
                FROM python:3.7-alpine AS builder
                ENTRYPOINT ["python3"]
                CMD ["manage.py", "runserver"]
                FROM builder AS dev-envs
                CMD ["manage.py", "runserver", "0.0.0.0:8000"]
            """,
        }
    )

    [entry] = scan_containers(files).entry_points

    assert entry.command == ["python3", "manage.py", "runserver", "0.0.0.0:8000"]
    assert entry.evidence == [
        ev("Dockerfile", 2, 'ENTRYPOINT ["python3"]'),
        ev("Dockerfile", 5, 'CMD ["manage.py", "runserver", "0.0.0.0:8000"]'),
    ]


def test_compose_backing_services_and_app_environment(repo_files: MakeRepo) -> None:
    files = repo_files(
        {
            "docker-compose.yml": """
                services:
                  db:
                    image: postgres:16-alpine
                    environment:
                      POSTGRES_PASSWORD: example
                  cache:
                    image: redis:7
                  broker:
                    image: confluentinc/cp-kafka:7.6.0
                  app:
                    build: .
                    environment:
                      DATABASE_URL: postgres://app:example@db:5432/app
                      REDIS_HOST: cache
                      DB_PASSWORD: ${DB_PASSWORD:-example}
                      SECRET_KEY:
                  worker:
                    build: ./worker
                    environment:
                      - QUEUE_NAME=jobs
                      - AWS_SECRET_ACCESS_KEY
            """,
            "compose.override.yaml": "services: [not, a, mapping\n",
        }
    )

    assert scan_containers(files) == Findings(
        env_vars=[
            EnvVarFinding(
                name="DATABASE_URL",
                secret=True,  # it carries the password
                default="postgres://app:example@db:5432/app",
                evidence=[
                    ev("docker-compose.yml", 13, "DATABASE_URL: postgres://app:example@db:5432/app")
                ],
            ),
            EnvVarFinding(
                name="REDIS_HOST",
                default="cache",
                evidence=[ev("docker-compose.yml", 14, "REDIS_HOST: cache")],
            ),
            EnvVarFinding(
                name="DB_PASSWORD",
                secret=True,
                evidence=[ev("docker-compose.yml", 15, "DB_PASSWORD: ${DB_PASSWORD:-example}")],
            ),
            EnvVarFinding(
                name="SECRET_KEY",
                secret=True,
                evidence=[ev("docker-compose.yml", 16, "SECRET_KEY:")],
            ),
            EnvVarFinding(
                name="QUEUE_NAME",
                default="jobs",
                evidence=[ev("docker-compose.yml", 20, "- QUEUE_NAME=jobs")],
            ),
            EnvVarFinding(
                name="AWS_SECRET_ACCESS_KEY",
                secret=True,
                evidence=[ev("docker-compose.yml", 21, "- AWS_SECRET_ACCESS_KEY")],
            ),
        ],
        services=[
            ServiceFinding(
                name="postgresql",
                kind="database",
                url_env="DATABASE_URL",
                evidence=[ev("docker-compose.yml", 3, "image: postgres:16-alpine")],
            ),
            ServiceFinding(
                name="redis",
                kind="cache",
                url_env="REDIS_HOST",
                evidence=[ev("docker-compose.yml", 7, "image: redis:7")],
            ),
            ServiceFinding(
                name="kafka",
                kind="queue",
                evidence=[ev("docker-compose.yml", 9, "image: confluentinc/cp-kafka:7.6.0")],
            ),
        ],
        notes=["compose.override.yaml: not valid YAML, skipped"],
    )


def test_readme_apt_commands_in_code_and_command_lines_but_not_prose(repo_files: MakeRepo) -> None:
    files = repo_files(
        {
            "README.md": """
                # Tool

                Install the system packages:

                ```bash
                sudo apt-get update
                sudo apt-get install -y tesseract-ocr \\
                    libmagic1
                ```

                On Debian you can also `apt install ffmpeg`, and on macOS `brew install ffmpeg`.

                Then run sudo apt install nothing-from-prose please.
            """,
            "docs/INSTALL.rst": """
                Installation
                ============

                    $ sudo apt install -y poppler-utils
            """,
            "tests/README.md": "`apt install test-only-package`\n",
        }
    )

    assert scan_containers(files) == Findings(
        dependencies=[
            Dependency(
                ecosystem="apt",
                name="tesseract-ocr",
                evidence=ev("README.md", 7, "sudo apt-get install -y tesseract-ocr"),
            ),
            Dependency(ecosystem="apt", name="libmagic1", evidence=ev("README.md", 8, "libmagic1")),
            Dependency(
                ecosystem="apt", name="ffmpeg", evidence=ev("README.md", 11, "apt install ffmpeg")
            ),
            Dependency(
                ecosystem="apt",
                name="poppler-utils",
                evidence=ev("docs/INSTALL.rst", 4, "sudo apt install -y poppler-utils"),
            ),
        ],
        notes=["README.md:11: brew install ffmpeg"],
    )


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("OPENAI_API_KEY", True),
        ("GITHUB_TOKEN", True),
        ("SECRET_KEY_BASE", True),
        ("DB_PASSWORD", True),
        ("POSTGRES_PASS", True),
        ("aws_secret_access_key", True),
        ("KEYBOARD_LAYOUT", False),
        ("MONKEY", False),
        ("LOG_LEVEL", False),
    ],
)
def test_secret_names(name: str, secret: bool) -> None:
    assert is_secret_name(name) is secret


def test_a_repository_without_containers_has_no_findings(repo_files: MakeRepo) -> None:
    assert scan_containers(repo_files({"main.py": "print(1)\n"})) == Findings()
