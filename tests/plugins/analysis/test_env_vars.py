"""Environment variables from every source form, merged by name, with exact findings."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from assistant.plugins.analysis.env_vars import (
    grep_lines,
    runtime_sources,
    scan_env_vars,
    shebang_language,
)
from assistant.plugins.analysis.files import RepoFiles
from assistant.plugins.analysis.profile import EnvVarFinding, Evidence

MakeRepo = Callable[[dict[str, Any]], RepoFiles]


def env_vars(repo_files: MakeRepo, tree: dict[str, Any]) -> list[EnvVarFinding]:
    return scan_env_vars(repo_files(tree)).env_vars


def var(name: str, *evidence: tuple[str, int, str], **fields: Any) -> EnvVarFinding:
    return EnvVarFinding(
        name=name, evidence=[Evidence(file=f, line=n, detail=d) for f, n, d in evidence], **fields
    )


def test_env_example_comments_describe_keys_and_placeholders_mean_required(repo_files):
    found = env_vars(
        repo_files,
        {
            ".env.example": """
                # ---- API ----

                # Your OpenAI key,
                # from the dashboard
                OPENAI_API_KEY=sk-...
                PORT=8000 # listen here
                # DEBUG=1
                export LOG_LEVEL="info"
                WEBHOOK_URL=<your webhook>
                EMPTY=
            """,
        },
    )
    assert found == [
        var("EMPTY", (".env.example", 10, "EMPTY="), required=True),
        var("LOG_LEVEL", (".env.example", 8, 'export LOG_LEVEL="info"'), default="info"),
        var(
            "OPENAI_API_KEY",
            (".env.example", 5, "OPENAI_API_KEY=sk-..."),
            secret=True,
            required=True,
            description="Your OpenAI key, from the dashboard",
        ),
        var("PORT", (".env.example", 6, "PORT=8000 # listen here"), default="8000"),
        var(
            "WEBHOOK_URL",
            (".env.example", 9, "WEBHOOK_URL=<your webhook>"),
            required=True,
        ),
    ]


def test_python_environ_subscript_is_required_getenv_with_default_is_not(repo_files):
    found = env_vars(
        repo_files,
        {
            "app.py": """
                import os
                from os import environ, getenv

                token = os.environ["API_TOKEN"]
                region = os.getenv("REGION", "eu-west-1")
                workers = os.environ.get("WORKERS", 4)
                verbose = os.environ.get("VERBOSE")
                cache = getenv("CACHE_DIR", default=os.path.expanduser("~"))
                os.environ["SET_HERE"] = "1"
                home = environ["HOME"]
                os.environ.setdefault("MODE", "fast")
                name = os.environ[key]
            """,
        },
    )
    assert found == [
        var(
            "API_TOKEN",
            ("app.py", 4, 'token = os.environ["API_TOKEN"]'),
            secret=True,
            required=True,
        ),
        var(
            "CACHE_DIR",
            ("app.py", 8, 'cache = getenv("CACHE_DIR", default=os.path.expanduser("~"))'),
        ),
        var("MODE", ("app.py", 11, 'os.environ.setdefault("MODE", "fast")'), default="fast"),
        var(
            "REGION",
            ("app.py", 5, 'region = os.getenv("REGION", "eu-west-1")'),
            default="eu-west-1",
        ),
        var("VERBOSE", ("app.py", 7, 'verbose = os.environ.get("VERBOSE")')),
        var("WORKERS", ("app.py", 6, 'workers = os.environ.get("WORKERS", 4)'), default="4"),
    ]


def test_pydantic_settings_prefix_alias_secret_and_description(repo_files):
    found = env_vars(
        repo_files,
        {
            "settings.py": """
                from typing import ClassVar
                from pydantic import AliasChoices, Field, SecretStr
                from pydantic_settings import BaseSettings, SettingsConfigDict

                class Settings(BaseSettings):
                    model_config = SettingsConfigDict(env_prefix="app_")
                    registry: ClassVar[dict] = {}
                    _cache: int = 0
                    db_password: SecretStr
                    port: int = 8080
                    name: str = Field(..., description="Display name")
                    level: str = Field("info", description="Log level")
                    tags: list[str] = Field(default_factory=list)
                    api: str = Field(validation_alias=AliasChoices("SERVICE_API", "API"))
                    region: str | None = None

                class Extra(Settings):
                    class Config:
                        env_prefix = "X_"
                    timeout: float = Field(default=2.5, alias="request_timeout")
            """,
        },
    )
    path = "settings.py"
    assert found == [
        var("APP_DB_PASSWORD", (path, 9, "db_password: SecretStr"), secret=True, required=True),
        var(
            "APP_LEVEL",
            (path, 12, 'level: str = Field("info", description="Log level")'),
            default="info",
            description="Log level",
        ),
        var(
            "APP_NAME",
            (path, 11, 'name: str = Field(..., description="Display name")'),
            required=True,
            description="Display name",
        ),
        var("APP_PORT", (path, 10, "port: int = 8080"), default="8080"),
        var("APP_REGION", (path, 15, "region: str | None = None")),
        var("APP_TAGS", (path, 13, "tags: list[str] = Field(default_factory=list)")),
        var(
            "REQUEST_TIMEOUT",
            (path, 20, 'timeout: float = Field(default=2.5, alias="request_timeout")'),
            default="2.5",
        ),
        var(
            "SERVICE_API",
            (path, 14, 'api: str = Field(validation_alias=AliasChoices("SERVICE_API", "API"))'),
            required=True,
        ),
    ]


def test_process_env_with_fallback_comparison_and_assignment(repo_files):
    found = env_vars(
        repo_files,
        {
            "src/index.ts": """
                const key = process.env.STRIPE_KEY;
                const port = process.env.PORT || 3000;
                const host = process.env["HOST"] ?? "0.0.0.0";
                const url = process.env.API_URL || buildUrl();
                if (process.env.NODE_ENV === "production") {}
                process.env.SET_HERE = "1";
                // process.env.COMMENTED
            """,
        },
    )
    path = "src/index.ts"
    assert found == [
        var("API_URL", (path, 4, "const url = process.env.API_URL || buildUrl();")),
        var("HOST", (path, 3, 'const host = process.env["HOST"] ?? "0.0.0.0";'), default="0.0.0.0"),
        var("NODE_ENV", (path, 5, 'if (process.env.NODE_ENV === "production") {}')),
        var("PORT", (path, 2, "const port = process.env.PORT || 3000;"), default="3000"),
        var(
            "STRIPE_KEY",
            (path, 1, "const key = process.env.STRIPE_KEY;"),
            secret=True,
            required=True,
        ),
    ]


def test_go_rust_and_shell_reads(repo_files):
    found = env_vars(
        repo_files,
        {
            "main.go": """
                package main
                import "os"
                func main() { addr := os.Getenv("LISTEN_ADDR"); _, ok := os.LookupEnv("VERBOSE") }
            """,
            "src/main.rs": """
                let token = std::env::var("GH_TOKEN").expect("set GH_TOKEN");
                let level = env::var("RUST_LEVEL").unwrap_or("info".to_string());
                let dir = env::var("OUT_DIR").ok();
            """,
            "run.sh": """
                #!/bin/sh
                : "${MODEL_DIR:?set MODEL_DIR}"
                exec serve --port "${PORT:-9000}" --name "${NAME:-$USER}" "${lower:-x}" "${HOME:-/}"
            """,
            "scripts/deploy*": """
                #!/usr/bin/env bash
                echo "${REGION:=us-east-1}"
            """,
        },
    )
    serve = 'exec serve --port "${PORT:-9000}" --name "${NAME:-$USER}" "${lower:-x}" "${HOME:-/}"'
    assert found == [
        var("GH_TOKEN", ("src/main.rs", 1, 'let token = std::env::var("GH_TOKEN").expect("set GH_TOKEN");'), secret=True, required=True),
        var("LISTEN_ADDR", ("main.go", 3, 'func main() { addr := os.Getenv("LISTEN_ADDR"); _, ok := os.LookupEnv("VERBOSE") }')),
        var("MODEL_DIR", ("run.sh", 2, ': "${MODEL_DIR:?set MODEL_DIR}"'), required=True),
        var("NAME", ("run.sh", 3, serve)),
        var("OUT_DIR", ("src/main.rs", 3, 'let dir = env::var("OUT_DIR").ok();')),
        var("PORT", ("run.sh", 3, serve), default="9000"),
        var("REGION", ("scripts/deploy", 2, 'echo "${REGION:=us-east-1}"'), default="us-east-1"),
        var("RUST_LEVEL", ("src/main.rs", 2, 'let level = env::var("RUST_LEVEL").unwrap_or("info".to_string());'), default="info"),
        var("VERBOSE", ("main.go", 3, 'func main() { addr := os.Getenv("LISTEN_ADDR"); _, ok := os.LookupEnv("VERBOSE") }')),
    ]  # fmt: skip


def test_same_name_merges_evidence_default_and_description(repo_files):
    found = env_vars(
        repo_files,
        {
            ".env.sample": """
                # Where the database lives
                DATABASE_URL=postgres://your-user@host/db
            """,
            "a.py": 'import os\nURL = os.environ["DATABASE_URL"]\n',
            "b.js": "const url = process.env.DATABASE_URL;\n",
            "tests/test_a.py": 'import os\nos.environ["DATABASE_URL"]\n',
            "c.py": 'import os\nurl = os.getenv("DATABASE_URL", "sqlite:///x.db")\n',
        },
    )
    assert found == [
        var(
            "DATABASE_URL",
            (".env.sample", 2, "DATABASE_URL=postgres://your-user@host/db"),
            ("a.py", 2, 'URL = os.environ["DATABASE_URL"]'),
            ("b.js", 1, "const url = process.env.DATABASE_URL;"),
            ("c.py", 2, 'url = os.getenv("DATABASE_URL", "sqlite:///x.db")'),
            secret=True,
            default="sqlite:///x.db",
            description="Where the database lives",
        )
    ]


def test_required_when_no_source_gives_a_default_and_evidence_is_capped(repo_files):
    reads = {f"m{i}.py": 'import os\nos.environ["SHARED"]\n' for i in range(7)}
    found = env_vars(repo_files, {**reads, "x.py": 'import os\nos.environ.get("SHARED")\n'})
    assert found == [
        var("SHARED", *[(f"m{i}.py", 2, 'os.environ["SHARED"]') for i in range(5)], required=True)
    ]


def test_well_known_system_variables_are_ignored(repo_files):
    found = env_vars(
        repo_files,
        {
            "a.py": 'import os\nos.environ["PATH"]\nos.getenv("CI")\nos.environ["DEBUG"]\n',
            "b.go": 'os.Getenv("XDG_CONFIG_HOME") + os.Getenv("LocalAppData")\n',
        },
    )
    assert found == [var("DEBUG", ("a.py", 4, 'os.environ["DEBUG"]'), required=True)]


def test_runtime_sources_skip_tests_and_docs_and_read_shebangs(repo_files):
    files = repo_files(
        {
            "tool*": "#!/usr/bin/env python3\n",
            "bin/serve*": "#!/usr/bin/env node\n",
            "notes": "plain text\n",
            "docs/conf.py": "",
            "tests/helper.py": "",
            "pkg/test_x.py": "",
            "web/app.spec.ts": "",
            "pkg/core.py": "",
            "lib.go": "",
            "lib_test.go": "",
        }
    )
    assert runtime_sources(files) == [
        ("bin/serve", "javascript"),
        ("lib.go", "go"),
        ("pkg/core.py", "python"),
        ("tool", "python"),
    ]


def test_shebang_language_and_grep_lines_skip_comments(repo_files):
    assert [shebang_language(s) for s in ("#!/bin/bash -e", "#!/usr/bin/env -x", "# x", "#!")] == [
        "shell",
        None,
        None,
        None,
    ]
    files = repo_files({"a.py": "x = 1  # key\n# key here\n  key = 2\n"})
    assert grep_lines(files, "a.py", "python", ("key", "absent")) == [
        (1, "x = 1  # key"),
        (3, "  key = 2"),
    ]
    assert grep_lines(files, "a.py", "python", ("absent",)) == []
    crlf = repo_files({"b.sh": b"echo a\r\n# key\r\nkey key\r\nlast key"})
    assert grep_lines(crlf, "b.sh", "shell", ("key",)) == [(3, "key key"), (4, "last key")]


def test_a_literal_settings_field_lists_its_choices(repo_files):
    found = env_vars(
        repo_files,
        {
            "settings.py": """
                from typing import Literal, Optional
                from pydantic_settings import BaseSettings

                class Settings(BaseSettings):
                    units: Literal["metric", "imperial"] = "metric"
                    mode: Optional[Literal["fast", "safe"]] = None
                    level: Literal[1, 2] = 1
            """,
        },
    )
    by_name = {f.name: f for f in found}
    assert by_name["UNITS"].choices == ["metric", "imperial"]
    assert by_name["UNITS"].default == "metric" and not by_name["UNITS"].required
    assert by_name["MODE"].choices == ["fast", "safe"]
    assert by_name["LEVEL"].choices == []  # numbers are not offered as text choices
