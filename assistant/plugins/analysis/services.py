"""External services a repository talks to: databases, caches, queues, storage and APIs.

A plugin that needs PostgreSQL or an OpenAI key cannot run until the user provides one, so the
setup wizard needs to know about each service before the first run. Three kinds of evidence
name a service: a declared client package (``psycopg2``, ``ioredis``), code that imports a
client or spells a connection URL (``redis://``, ``api.openai.com``), and, for other HTTP APIs,
a request to a literal ``https://`` address. Environment variables never name a service alone
(``DATABASE_URL`` fits several) but point to the one that holds its URL or credentials.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Literal

from assistant.plugins.analysis.env_vars import (
    DOTENV_NAMES,
    capped_evidence,
    grep_lines,
    is_runtime_path,
    line_evidence,
    runtime_sources,
)
from assistant.plugins.analysis.files import RepoFiles
from assistant.plugins.analysis.profile import (
    Dependency,
    EnvVarFinding,
    Evidence,
    ServiceFinding,
)

ServiceKind = Literal["database", "cache", "queue", "api", "storage", "other"]

SERVICE_KINDS: dict[str, ServiceKind] = {
    "postgresql": "database", "mysql": "database", "mongodb": "database", "redis": "cache",
    "rabbitmq": "queue", "kafka": "queue", "s3": "storage", "gcs": "storage", "openai": "api",
    "anthropic": "api",
}  # fmt: skip
# Client packages by the name a dependency file (or a JavaScript import) spells; npm, PyPI and
# crates.io agree where a name appears in several ecosystems.
PACKAGE_SERVICES = {
    "psycopg": "postgresql", "psycopg-binary": "postgresql", "psycopg2": "postgresql",
    "psycopg2-binary": "postgresql", "asyncpg": "postgresql", "pg8000": "postgresql",
    "pg": "postgresql", "postgres": "postgresql", "tokio-postgres": "postgresql",
    "github.com/lib/pq": "postgresql", "github.com/jackc/pgx": "postgresql",
    "pymysql": "mysql", "mysqlclient": "mysql", "mysql-connector-python": "mysql",
    "aiomysql": "mysql", "mysql": "mysql", "mysql2": "mysql",
    "pymongo": "mongodb", "motor": "mongodb", "mongoose": "mongodb", "mongodb": "mongodb",
    "go.mongodb.org/mongo-driver": "mongodb",
    "redis": "redis", "aioredis": "redis", "ioredis": "redis",
    "github.com/redis/go-redis": "redis",
    "pika": "rabbitmq", "aio-pika": "rabbitmq", "kombu": "rabbitmq", "amqplib": "rabbitmq",
    "lapin": "rabbitmq",
    "kafka-python": "kafka", "confluent-kafka": "kafka", "aiokafka": "kafka", "kafkajs": "kafka",
    "rdkafka": "kafka",
    "aioboto3": "s3", "@aws-sdk/client-s3": "s3",
    "google-cloud-storage": "gcs", "@google-cloud/storage": "gcs",
    "openai": "openai", "anthropic": "anthropic", "@anthropic-ai/sdk": "anthropic",
}  # fmt: skip
# Python import names, which often differ from the distribution's name.
MODULE_SERVICES = {
    "psycopg": "postgresql", "psycopg2": "postgresql", "asyncpg": "postgresql",
    "pg8000": "postgresql", "pymysql": "mysql", "MySQLdb": "mysql", "mysql.connector": "mysql",
    "aiomysql": "mysql", "pymongo": "mongodb", "motor": "mongodb", "redis": "redis",
    "aioredis": "redis", "pika": "rabbitmq", "aio_pika": "rabbitmq", "kombu": "rabbitmq",
    "kafka": "kafka", "confluent_kafka": "kafka", "aiokafka": "kafka", "aioboto3": "s3",
    "google.cloud.storage": "gcs", "openai": "openai", "anthropic": "anthropic",
}  # fmt: skip
SCHEME_SERVICES = {
    "postgres": "postgresql", "postgresql": "postgresql", "mysql": "mysql", "mongodb": "mongodb",
    "redis": "redis", "rediss": "redis", "amqp": "rabbitmq", "amqps": "rabbitmq", "s3": "s3",
    "gs": "gcs",
}  # fmt: skip
HOST_SERVICES = {"api.openai.com": "openai", "api.anthropic.com": "anthropic"}
# The variables that hold each service's URL or credentials.
SERVICE_ENV = {
    "postgresql": re.compile(r"DATABASE_URL|POSTGRES\w*|PG(?:HOST|PORT|USER|PASSWORD|DATABASE)"),
    "mysql": re.compile(r"DATABASE_URL|MYSQL_\w+"),
    "mongodb": re.compile(r"MONGO\w*"),
    "redis": re.compile(r"REDIS_\w+"),
    "rabbitmq": re.compile(r"AMQP_URL|RABBITMQ_\w+"),
    "kafka": re.compile(r"KAFKA_\w+"),
    "s3": re.compile(r"AWS_\w+|S3_BUCKET"),
    "gcs": re.compile(r"GOOGLE_APPLICATION_CREDENTIALS|GCS_\w+"),
    "openai": re.compile(r"OPENAI_API_KEY"),
    "anthropic": re.compile(r"ANTHROPIC_API_KEY"),
}
URL_NAME_SUFFIXES = ("_URL", "_URI", "_DSN")  # preferred: one variable holds everything

HTTP_API = "http-api:"
MAX_HTTP_APIS = 5
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "0.0.0.0", "[::1]"})
CONFIG_SUFFIXES = (".yml", ".yaml", ".toml", ".ini", ".cfg", ".conf")
HTTP_LANGUAGES = frozenset({"python", "javascript", "typescript", "go"})

PYTHON_IMPORT = re.compile(r"^\s*(?:from\s+([\w.]+)\s+import\b\s*\(?([\w, ]*)|import\s+([\w., ]+))")
JS_IMPORT = re.compile(r"(?:\brequire\(|\bimport\(|\bfrom\s|^\s*import\s)\s*[\"']([^\"']+)[\"']")
URL = re.compile(r"\b([a-z][a-z0-9]*)(?:\+[a-z0-9]+)?://(?:[^/\s\"'`@]*@)?([A-Za-z0-9.-]+)")
S3_CLIENT = re.compile(r"\.(?:client|resource)\(\s*[\"']s3[\"']")
HTTP_CALL = re.compile(
    r"(?:\.(?:get|post|put|patch|delete|head|request|Get|Post|Head)|(?<![.\w])fetch)"
    r"\s*\(\s*f?[\"'`]https://([A-Za-z0-9.-]+)"
)
CODE_KEYWORDS = ("://", "import", "require(", "s3")


def detect_services(
    files: RepoFiles, dependencies: list[Dependency], env_vars: list[EnvVarFinding]
) -> list[ServiceFinding]:
    """One finding per service, sorted by name; evidence lists declarations before code."""
    evidence: dict[str, list[Evidence]] = {}
    for dependency in dependencies:
        service = package_service(dependency.name) if not dependency.dev else None
        if service:
            evidence.setdefault(service, []).append(dependency.evidence)
    for service, item in code_mentions(files):
        if service in evidence or not too_many_http_apis(service, evidence):
            evidence.setdefault(service, []).append(item)
    return [
        ServiceFinding(
            name=name,
            kind=SERVICE_KINDS.get(name, "api"),
            url_env=url_env(name, env_vars),
            evidence=capped_evidence(items),
        )
        for name, items in sorted(evidence.items())
    ]


def package_service(name: str) -> str | None:
    """The service a client package talks to; a Go module's ``/vN`` suffix or a JavaScript
    import's subpath (``openai/resources``) still matches."""
    return next(
        (s for p, s in PACKAGE_SERVICES.items() if name == p or name.startswith(p + "/")), None
    )


def too_many_http_apis(service: str, found: dict[str, list[Evidence]]) -> bool:
    """Only the first few unknown hosts are worth listing: beyond that it is a web client."""
    return is_http_api(service) and sum(map(is_http_api, found)) >= MAX_HTTP_APIS


def is_http_api(service: str) -> bool:
    return service.startswith(HTTP_API)


def code_mentions(files: RepoFiles) -> Iterator[tuple[str, Evidence]]:
    """``(service, evidence)`` for each line of code or configuration that names a service."""
    for path, language in scanned_files(files):
        for number, line in grep_lines(files, path, language, CODE_KEYWORDS):
            for service in line_services(line, language):
                yield service, line_evidence(path, number, line)


def scanned_files(files: RepoFiles) -> list[tuple[str, str]]:
    """Run-time code plus the configuration files where connection URLs are usually set."""
    config = [
        (path, "config")
        for path in files.paths
        if path.endswith((*CONFIG_SUFFIXES, *DOTENV_NAMES)) and is_runtime_path(path)
    ]
    return runtime_sources(files) + config


def line_services(line: str, language: str) -> Iterator[str]:
    if language == "python":
        yield from filter(None, map(module_service, python_imports(line)))
    elif language in {"javascript", "typescript"}:
        yield from filter(None, (package_service(m[1]) for m in JS_IMPORT.finditer(line)))
    for scheme, host in URL.findall(line):
        service = SCHEME_SERVICES.get(scheme) or HOST_SERVICES.get(host)
        if service:
            yield service
    if S3_CLIENT.search(line):
        yield "s3"
    if language in HTTP_LANGUAGES:
        yield from (HTTP_API + host for host in HTTP_CALL.findall(line) if is_api_host(host))


def python_imports(line: str) -> list[str]:
    """Dotted names an import line brings in: ``from google.cloud import storage`` gives
    ``google.cloud`` and ``google.cloud.storage``."""
    match = PYTHON_IMPORT.match(line)
    if not match:
        return []
    source, names, modules = match.groups()
    if modules:
        return first_words(modules)
    return [source, *(f"{source}.{name}" for name in first_words(names))]


def first_words(names: str) -> list[str]:
    """``"a as b, c"`` -> ["a", "c"]: the imported names without their local aliases."""
    return [name.split()[0] for name in names.split(",") if name.strip()]


def module_service(module: str) -> str | None:
    """The service of a module or of the package it belongs to (``redis.asyncio`` -> redis)."""
    parts = module.split(".")
    prefixes = (".".join(parts[:n]) for n in range(len(parts), 0, -1))
    return next((MODULE_SERVICES[p] for p in prefixes if p in MODULE_SERVICES), None)


def is_api_host(host: str) -> bool:
    return host not in LOCAL_HOSTS and host not in HOST_SERVICES


def url_env(service: str, env_vars: list[EnvVarFinding]) -> str | None:
    """The variable that configures ``service``: a ``*_URL``-style one first, then by name."""
    pattern = SERVICE_ENV.get(service)
    names = [v.name for v in env_vars if pattern and pattern.fullmatch(v.name)]
    return min(names, key=lambda n: (not n.endswith(URL_NAME_SUFFIXES), n), default=None)
