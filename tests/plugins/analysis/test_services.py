"""External services from declared packages, imports, connection URLs and API calls."""

from __future__ import annotations

from assistant.plugins.analysis.profile import (
    Dependency,
    EnvVarFinding,
    Evidence,
    ServiceFinding,
)
from assistant.plugins.analysis.services import detect_services, python_imports


def dependency(ecosystem, name, file, line, dev=False) -> Dependency:
    return Dependency(
        ecosystem=ecosystem,
        name=name,
        dev=dev,
        evidence=Evidence(file=file, line=line, detail=name),
    )


def test_python_services_from_dependencies_urls_imports_and_env(repo_files):
    files = repo_files(
        {
            "requirements.txt": "psycopg2-binary\nredis\nboto3\n",
            ".env.example": """
                DATABASE_URL=postgresql+psycopg2://user:pass@localhost:5432/app
                REDIS_URL=redis://localhost:6379/0
            """,
            "app/db.py": "import psycopg2\nconn = psycopg2.connect(DSN)\n",
            "app/cache.py": "from redis.asyncio import Redis as R\n",
            "app/store.py": 'import boto3\ns3 = boto3.client("s3")\n# boto3.resource("s3")\n',
            "app/ai.py": "from openai import OpenAI\n",
            "app/gh.py": """
                import requests
                r = requests.get("https://api.github.com/repos", timeout=5)
                local = requests.post("https://localhost:8000/x")
                chat = requests.post(f"https://api.openai.com/v1/chat")
            """,
            "tests/test_db.py": "import pymongo\n",
        }
    )
    dependencies = [
        dependency("python", "psycopg2-binary", "requirements.txt", 1),
        dependency("python", "redis", "requirements.txt", 2),
        dependency("python", "boto3", "requirements.txt", 3),
    ]
    env = [
        EnvVarFinding(name=n)
        for n in ("AWS_REGION", "DATABASE_URL", "OPENAI_API_KEY", "POSTGRES_USER", "S3_BUCKET")
    ]
    assert detect_services(files, dependencies, env) == [
        ServiceFinding(
            name="http-api:api.github.com",
            kind="api",
            evidence=[
                Evidence(
                    file="app/gh.py",
                    line=2,
                    detail='r = requests.get("https://api.github.com/repos", timeout=5)',
                )
            ],
        ),
        ServiceFinding(
            name="openai",
            kind="api",
            url_env="OPENAI_API_KEY",
            evidence=[
                Evidence(file="app/ai.py", line=1, detail="from openai import OpenAI"),
                Evidence(
                    file="app/gh.py",
                    line=4,
                    detail='chat = requests.post(f"https://api.openai.com/v1/chat")',
                ),
            ],
        ),
        ServiceFinding(
            name="postgresql",
            kind="database",
            url_env="DATABASE_URL",
            evidence=[
                Evidence(file="requirements.txt", line=1, detail="psycopg2-binary"),
                Evidence(file="app/db.py", line=1, detail="import psycopg2"),
                Evidence(
                    file=".env.example",
                    line=1,
                    detail="DATABASE_URL=postgresql+psycopg2://user:pass@localhost:5432/app",
                ),
            ],
        ),
        ServiceFinding(
            name="redis",
            kind="cache",
            evidence=[
                Evidence(file="requirements.txt", line=2, detail="redis"),
                Evidence(
                    file="app/cache.py", line=1, detail="from redis.asyncio import Redis as R"
                ),
                Evidence(file=".env.example", line=2, detail="REDIS_URL=redis://localhost:6379/0"),
            ],
        ),
        ServiceFinding(
            name="s3",
            kind="storage",
            url_env="AWS_REGION",
            evidence=[Evidence(file="app/store.py", line=2, detail='s3 = boto3.client("s3")')],
        ),
    ]


def test_node_and_go_services_dev_dependencies_and_the_http_api_cap(repo_files):
    hosts = [f"api{i}.example.org" for i in range(7)]
    files = repo_files(
        {
            "src/llm.ts": """
                import Anthropic from "@anthropic-ai/sdk";
                const queue = require('amqplib/callback_api');
            """,
            "src/hosts.js": "".join(f'await fetch("https://{h}/v1");\n' for h in hosts),
            "cmd/main.go": """
                resp, err := http.Get("https://data.example.net/feed")
                db := "mongodb+srv://cluster0.example.net/app"
            """,
            "config/app.yaml": "broker: kafka://ignored\nbucket: gs://my-bucket/path\n",
        }
    )
    dependencies = [
        dependency("node", "@anthropic-ai/sdk", "package.json", 5),
        dependency("node", "pg", "package.json", 9, dev=True),
        dependency("go", "github.com/jackc/pgx/v5", "go.mod", 4),
    ]
    env = [EnvVarFinding(name="MONGO_URI"), EnvVarFinding(name="MONGODB_DB")]
    found = detect_services(files, dependencies, env)
    assert [f.model_dump(exclude={"evidence"}) for f in found] == [
        {"name": "anthropic", "kind": "api", "url_env": None},
        {"name": "gcs", "kind": "storage", "url_env": None},
        {"name": "http-api:api0.example.org", "kind": "api", "url_env": None},
        {"name": "http-api:api1.example.org", "kind": "api", "url_env": None},
        {"name": "http-api:api2.example.org", "kind": "api", "url_env": None},
        {"name": "http-api:api3.example.org", "kind": "api", "url_env": None},
        {"name": "http-api:data.example.net", "kind": "api", "url_env": None},
        {"name": "mongodb", "kind": "database", "url_env": "MONGO_URI"},
        {"name": "postgresql", "kind": "database", "url_env": None},
        {"name": "rabbitmq", "kind": "queue", "url_env": None},
    ]
    assert [(e.file, e.line) for f in found for e in f.evidence] == [
        ("package.json", 5),
        ("src/llm.ts", 1),
        ("config/app.yaml", 2),
        ("src/hosts.js", 1),
        ("src/hosts.js", 2),
        ("src/hosts.js", 3),
        ("src/hosts.js", 4),
        ("cmd/main.go", 1),
        ("cmd/main.go", 2),
        ("go.mod", 4),
        ("src/llm.ts", 2),
    ]


def test_no_services_in_a_plain_repo(repo_files):
    files = repo_files({"main.py": "import json\nprint('see https://example.com')\n"})
    assert detect_services(files, [], [EnvVarFinding(name="REDIS_URL")]) == []


def test_python_imports_expand_from_imports_and_drop_aliases():
    assert python_imports("from google.cloud import storage as gcs, bigquery") == [
        "google.cloud",
        "google.cloud.storage",
        "google.cloud.bigquery",
    ]
    assert python_imports("import mysql.connector as db, os") == ["mysql.connector", "os"]
    assert python_imports("from x import (a,") == ["x", "x.a"]
    assert python_imports("x = 1") == []
