"""The Node.js scanner on real package.json trees: exact findings, evidence lines included."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from typing import Literal

import pytest

from assistant.plugins.analysis.files import RepoFiles
from assistant.plugins.analysis.node import scan_node
from assistant.plugins.analysis.profile import (
    Dependency,
    EntryPointFinding,
    Evidence,
    Findings,
    ProjectMeta,
    RiskFinding,
    ToolchainFinding,
)

MakeRepo = Callable[[dict[str, str | bytes]], RepoFiles]


@pytest.fixture(autouse=True)
def node_installed_npm_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    """``found`` must not depend on the machine running the tests."""
    monkeypatch.setattr(shutil, "which", lambda name: "/usr/bin/node" if name == "node" else None)


def node(*evidence: Evidence) -> ToolchainFinding:
    return ToolchainFinding(
        name="node", kind="toolchain", found=True, debian_package="nodejs", evidence=list(evidence)
    )


def npm(*manifests: str) -> ToolchainFinding:
    return ToolchainFinding(
        name="npm",
        kind="toolchain",
        found=False,
        debian_package="npm",
        evidence=[Evidence(file=manifest) for manifest in manifests],
    )


def script(name: str, text: str, line: int, confidence: float = 0.6) -> EntryPointFinding:
    return EntryPointFinding(
        kind="node_script",
        name=name,
        command=["npm", "run", "--silent", name],
        file="package.json",
        line=line,
        language="javascript",
        description=text,
        evidence=[Evidence(file="package.json", line=line, detail=f'"{name}": "{text}",')],
        confidence=confidence,
    )


def test_plain_bin_cli_with_dependencies_engines_and_lock_file(repo_files: MakeRepo) -> None:
    files = repo_files(
        {
            "package.json": """
                {
                  "name": "csv-tool",
                  "version": "1.2.0",
                  "description": "Convert CSV files",
                  "license": "MIT",
                  "bin": "./bin/cli.js",
                  "scripts": {
                    "test": "jest"
                  },
                  "engines": {
                    "node": ">=18"
                  },
                  "dependencies": {
                    "commander": "^11.0.0"
                  },
                  "devDependencies": {
                    "jest": "^29.7.0"
                  }
                }
            """,
            "bin/cli.js*": "#!/usr/bin/env node\nrequire('commander');\n",
            "package-lock.json": """
                {"name": "csv-tool", "lockfileVersion": 3, "packages": {
                  "": {"name": "csv-tool"},
                  "node_modules/commander": {"version": "11.1.0"},
                  "node_modules/jest": {"version": "29.7.0", "dev": true},
                  "node_modules/jest/node_modules/ci-info": {"version": "3.9.0", "dev": true}
                }}
            """,
        }
    )
    assert scan_node(files) == Findings(
        projects=[
            ProjectMeta(
                name="csv-tool",
                version="1.2.0",
                description="Convert CSV files",
                license="MIT",
                evidence=Evidence(file="package.json", line=2, detail='"name": "csv-tool",'),
            )
        ],
        dependencies=[
            Dependency(
                ecosystem="node",
                name="commander",
                spec="^11.0.0",
                evidence=Evidence(file="package.json", line=14, detail='"commander": "^11.0.0"'),
            ),
            Dependency(
                ecosystem="node",
                name="jest",
                spec="^29.7.0",
                dev=True,
                evidence=Evidence(file="package.json", line=17, detail='"jest": "^29.7.0"'),
            ),
        ],
        entry_points=[
            EntryPointFinding(
                kind="node_bin",
                name="csv-tool",
                command=["node", "bin/cli.js"],
                file="bin/cli.js",
                language="javascript",
                description="Convert CSV files",
                evidence=[Evidence(file="package.json", line=6, detail='"bin": "./bin/cli.js",')],
            )
        ],
        toolchains=[
            node(Evidence(file="package.json", line=11, detail='"node": ">=18"')),
            npm("package.json"),
        ],
        notes=["package-lock.json pins 3 packages"],
    )


SOLO = '{"name": "@acme/solo", "license": {"type": "ISC"}, "bin": "cli.js"}'


def test_scoped_package_names_bins_as_written_or_without_its_scope(repo_files: MakeRepo) -> None:
    files = repo_files(
        {
            "package.json": """
                {
                  "name": "@acme/tools",
                  "bin": {
                    "acme-fmt": "bin/fmt.js",
                    "acme-lint": "./bin/lint.ts"
                  }
                }
            """,
            "bin/fmt.js": "console.log('fmt')\n",
            "bin/lint.ts": "console.log('lint')\n",
            "solo/package.json": SOLO,
            "solo/cli.js": "console.log('solo')\n",
        }
    )
    findings = scan_node(files)
    assert findings.entry_points == [
        EntryPointFinding(
            kind="node_bin",
            name="acme-fmt",
            command=["node", "bin/fmt.js"],
            file="bin/fmt.js",
            language="javascript",
            evidence=[Evidence(file="package.json", line=4, detail='"acme-fmt": "bin/fmt.js",')],
        ),
        EntryPointFinding(
            kind="node_bin",
            name="acme-lint",
            command=["node", "bin/lint.ts"],
            file="bin/lint.ts",
            language="typescript",
            evidence=[Evidence(file="package.json", line=5, detail='"acme-lint": "./bin/lint.ts"')],
        ),
        EntryPointFinding(
            kind="node_bin",
            name="solo",
            root="solo",
            command=["node", "cli.js"],
            file="solo/cli.js",
            language="javascript",
            evidence=[Evidence(file="solo/package.json", line=1, detail=SOLO)],
        ),
    ]
    assert [project.model_dump() for project in findings.projects] == [
        {
            "name": "@acme/tools",
            "version": None,
            "description": None,
            "license": None,
            "root": ".",
            "evidence": {"file": "package.json", "line": 2, "detail": '"name": "@acme/tools",'},
        },
        {
            "name": "@acme/solo",
            "version": None,
            "description": None,
            "license": "ISC",
            "root": "solo",
            "evidence": {"file": "solo/package.json", "line": 1, "detail": SOLO},
        },
    ]


def test_only_scripts_a_user_would_run_become_entry_points(repo_files: MakeRepo) -> None:
    files = repo_files(
        {
            "package.json": """
                {
                  "scripts": {
                    "start": "node server.js",
                    "prestart": "node check.js",
                    "serve": "http-server public",
                    "postserve": "echo done",
                    "preview": "vite preview",
                    "postgres": "docker compose up db",
                    "build": "tsc",
                    "build:css": "sass in.scss out.css",
                    "prebuild": "rimraf out",
                    "test": "jest",
                    "test:unit": "jest unit",
                    "lint": "eslint .",
                    "format": "prettier -w .",
                    "dev": "nodemon server.js",
                    "watch": "tsc -w",
                    "clean": "rimraf out",
                    "prepublishOnly": "npm test",
                    "postversion": "git push"
                  }
                }
            """,
        }
    )
    findings = scan_node(files)
    assert findings.entry_points == [
        script("start", "node server.js", 3, confidence=0.8),
        script("serve", "http-server public", 5),
        script("preview", "vite preview", 7),
        script("postgres", "docker compose up db", 8),
    ]
    assert findings.projects == []
    assert findings.toolchains == [node(Evidence(file="package.json")), npm("package.json")]


MCP_SERVER_JS = """
    #!/usr/bin/env node
    import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
    import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
    import { z } from "zod";

    const server = new McpServer({ name: "Notes Server", version: "0.1.0" });

    server.tool("add_note", { text: z.string() }, async ({ text }) => ({
      content: [{ type: "text", text: `saved ${text}` }],
    }));
    server.tool("list_notes", {}, async () => ({ content: [] }));
    server.tool("add_note", { text: z.string() }, async () => ({ content: [] }));

    await server.connect(new StdioServerTransport());
"""


def test_mcp_server_launched_by_the_bin_is_one_mcp_finding(repo_files: MakeRepo) -> None:
    files = repo_files(
        {
            "package.json": """
                {
                  "name": "@acme/notes-mcp",
                  "type": "module",
                  "bin": {
                    "notes-mcp": "index.js"
                  },
                  "dependencies": {
                    "@modelcontextprotocol/sdk": "^1.0.0"
                  }
                }
            """,
            "index.js*": MCP_SERVER_JS,
        }
    )
    assert scan_node(files).entry_points == [
        EntryPointFinding(
            kind="mcp_server",
            name="notes-server",
            command=["node", "index.js"],
            file="index.js",
            line=6,
            framework="mcp",
            language="javascript",
            description="MCP server over stdio; tools: add_note, list_notes",
            evidence=[
                Evidence(
                    file="index.js",
                    line=2,
                    detail='import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";',
                ),
                Evidence(
                    file="index.js",
                    line=6,
                    detail='const server = new McpServer({ name: "Notes Server", version: "0.1.0" });',
                ),
                Evidence(file="package.json", line=5, detail='"notes-mcp": "index.js"'),
            ],
            confidence=0.9,
        )
    ]


def test_commonjs_mcp_server_without_a_name_is_named_after_its_package(
    repo_files: MakeRepo,
) -> None:
    files = repo_files(
        {
            "tools/weather/package.json": '{"name": "@acme/weather"}',
            "tools/weather/lib/main.cjs": """
                const { Server } = require("@modelcontextprotocol/sdk/server/index.js");
                const { StdioServerTransport } = require("@modelcontextprotocol/sdk/server/stdio.js");
                const info = require("./info.json");
                const server = new Server(info, { capabilities: { tools: {} } });
                const tools = [{ name: "forecast" }];
                server.connect(new StdioServerTransport());
            """,
            "tools/weather/test/main.test.js": MCP_SERVER_JS,
        }
    )
    assert scan_node(files).entry_points == [
        EntryPointFinding(
            kind="mcp_server",
            name="weather",
            root="tools/weather",
            command=["node", "lib/main.cjs"],
            file="tools/weather/lib/main.cjs",
            line=4,
            framework="mcp",
            language="javascript",
            description="MCP server over stdio",
            evidence=[
                Evidence(
                    file="tools/weather/lib/main.cjs",
                    line=1,
                    detail='const { Server } = require("@modelcontextprotocol/sdk/server/index.js");',
                ),
                Evidence(
                    file="tools/weather/lib/main.cjs",
                    line=4,
                    detail="const server = new Server(info, { capabilities: { tools: {} } });",
                ),
            ],
            confidence=0.9,
        )
    ]


@pytest.mark.parametrize("source", ["src/index.ts", "index.ts"])
def test_typescript_mcp_server_built_to_dist_takes_the_bins_command(
    repo_files: MakeRepo, source: str
) -> None:
    files = repo_files(
        {
            "package.json": """
                {
                  "name": "notes",
                  "bin": {"notes": "dist/index.js"},
                  "scripts": {"build": "tsc"}
                }
            """,
            source: MCP_SERVER_JS,
        }
    )
    findings = scan_node(files)
    assert [
        entry.model_dump(include={"kind", "command", "file", "language", "description"})
        for entry in findings.entry_points
    ] == [
        {
            "kind": "mcp_server",
            "command": ["node", "dist/index.js"],
            "file": source,
            "language": "typescript",
            "description": "MCP server over stdio; tools: add_note, list_notes; "
            "needs `npm run build` before use",
        }
    ]
    assert findings.notes == [".: build with npm run build"]


EXPRESS_APP = """
    const express = require("express");

    const app = express();
    app.use(express.json());

    app.get("/health", (req, res) => res.json({ ok: true }));
    app.post("/api/resize/:id", (req, res) => {
      res.json({ width: req.body.width });
    });

    const port = process.env.PORT || 3000;
    app.listen(port, () => console.log(`listening on ${port}`));
"""


def test_express_app_yields_one_http_app_per_route(repo_files: MakeRepo) -> None:
    files = repo_files(
        {
            "package.json": """
                {
                  "name": "resizer",
                  "main": "server.js",
                  "scripts": {"start": "node server.js"},
                  "dependencies": {"express": "^4.19.2"}
                }
            """,
            "server.js": EXPRESS_APP,
            "test/server.test.js": EXPRESS_APP,
        }
    )

    def route(name: str, method: str, url: str, line: int, code: str) -> EntryPointFinding:
        return EntryPointFinding(
            kind="http_app",
            name=name,
            command=["node", "server.js"],
            url=url,
            method=method,
            file="server.js",
            line=line,
            framework="express",
            language="javascript",
            description=f"Express route {method} {url}; "
            "the app reads its port from PORT (default 3000)",
            evidence=[Evidence(file="server.js", line=line, detail=code)],
            confidence=0.8,
        )

    assert scan_node(files).entry_points == [
        EntryPointFinding(
            kind="node_script",
            name="start",
            command=["npm", "run", "--silent", "start"],
            file="package.json",
            line=4,
            language="javascript",
            description="node server.js",
            evidence=[
                Evidence(
                    file="package.json", line=4, detail='"scripts": {"start": "node server.js"},'
                )
            ],
            confidence=0.8,
        ),
        route(
            "health",
            "GET",
            "/health",
            6,
            'app.get("/health", (req, res) => res.json({ ok: true }));',
        ),
        route(
            "api-resize-id",
            "POST",
            "/api/resize/:id",
            7,
            'app.post("/api/resize/:id", (req, res) => {',
        ),
    ]


def test_fastify_routes_sharing_a_path_are_told_apart_by_method(repo_files: MakeRepo) -> None:
    files = repo_files(
        {
            "package.json": '{"name": "shop", "bin": {"shop": "app.mjs"}}',
            "app.mjs": """
                const fastify = require("fastify")({ logger: true });
                fastify.get("/items", async () => []);
                fastify.post('/items', async () => ({}));
                fastify.get(`/`, async () => "hi");
                fastify.listen({ port: 8080 });
            """,
        }
    )
    entries = scan_node(files).entry_points
    assert [entry.model_dump(include={"kind", "name", "method", "url", "framework", "line"})
            for entry in entries] == [
        {"kind": "node_bin", "name": "shop", "method": None, "url": None,
         "framework": "fastify", "line": None},
        {"kind": "http_app", "name": "get-items", "method": "GET", "url": "/items",
         "framework": "fastify", "line": 2},
        {"kind": "http_app", "name": "post-items", "method": "POST", "url": "/items",
         "framework": "fastify", "line": 3},
        {"kind": "http_app", "name": "root", "method": "GET", "url": "/",
         "framework": "fastify", "line": 4},
    ]  # fmt: skip
    assert entries[1].description == "Fastify route GET /items; the app listens on port 8080"


@pytest.mark.parametrize(
    ("command", "severity"),
    [
        ("node scripts/setup.js", "medium"),
        ("node scripts/setup.js || true", "medium"),
        ("curl -fsSL https://get.example.com/setup.sh | sh", "high"),
        ("wget -q example.com/blob.tgz", "high"),
        ("cat setup.sh | bash", "high"),
    ],
)
def test_install_scripts_are_install_code_risks(
    repo_files: MakeRepo, command: str, severity: Literal["medium", "high"]
) -> None:
    files = repo_files(
        {
            "package.json": f"""
                {{
                  "name": "hooked",
                  "scripts": {{
                    "postinstall": "{command}",
                    "prepare": "husky install",
                    "start": "node ."
                  }}
                }}
            """,
        }
    )
    findings = scan_node(files)
    assert findings.risks == [
        RiskFinding(
            category="install_code",
            severity=severity,
            detail=f"npm runs the 'postinstall' script on install: {command}",
            evidence=[Evidence(file="package.json", line=4, detail=f'"postinstall": "{command}",')],
        ),
        RiskFinding(
            category="install_code",
            severity="medium",
            detail="npm runs the 'prepare' script on install: husky install",
            evidence=[Evidence(file="package.json", line=5, detail='"prepare": "husky install",')],
        ),
    ]
    assert [entry.name for entry in findings.entry_points] == ["start"]


def test_typescript_and_unbuilt_bins_need_the_build_step(repo_files: MakeRepo) -> None:
    files = repo_files(
        {
            "package.json": """
                {
                  "name": "ts-cli",
                  "description": "A TypeScript CLI",
                  "main": "dist/index.js",
                  "bin": {
                    "ts-cli": "dist/cli.js",
                    "ts-dev": "src/dev.ts"
                  },
                  "scripts": {"build": "tsc"}
                }
            """,
            "src/cli.ts": "console.log(process.argv);\n",
            "src/dev.ts": "console.log('dev');\n",
        }
    )
    findings = scan_node(files)
    note = "A TypeScript CLI; needs `npm run build` before use"
    assert findings.entry_points == [
        EntryPointFinding(
            kind="node_bin",
            name="ts-cli",
            command=["node", "dist/cli.js"],
            file="dist/cli.js",
            language="javascript",
            description=note,
            evidence=[Evidence(file="package.json", line=6, detail='"ts-cli": "dist/cli.js",')],
        ),
        EntryPointFinding(
            kind="node_bin",
            name="ts-dev",
            command=["node", "src/dev.ts"],
            file="src/dev.ts",
            language="typescript",
            description=note,
            evidence=[Evidence(file="package.json", line=7, detail='"ts-dev": "src/dev.ts"')],
        ),
    ]
    assert findings.notes == [".: build with npm run build"]


def test_built_output_on_disk_and_missing_bins_without_a_build(repo_files: MakeRepo) -> None:
    files = repo_files(
        {
            "built/package.json": """
                {"name": "built", "bin": "dist/cli.js", "scripts": {"build": "tsc"}}
            """,
            "built/dist/cli.js": "console.log('built');\n",
            "broken/package.json": '{"name": "broken", "bin": {"gone": "bin/gone.js"}}',
        }
    )
    findings = scan_node(files)
    assert [(entry.name, entry.description) for entry in findings.entry_points] == [
        ("gone", ""),
        ("built", ""),
    ]
    assert findings.notes == [
        "broken/package.json: bin 'gone' points to broken/bin/gone.js, which is missing"
    ]


def test_monorepo_workspaces_are_one_root_per_package(repo_files: MakeRepo) -> None:
    files = repo_files(
        {
            "package.json": """
                {
                  "private": true,
                  "workspaces": ["packages/*"],
                  "devDependencies": {"typescript": "^5.4.0"}
                }
            """,
            "yarn.lock": """
                # THIS IS AN AUTOGENERATED FILE.
                # yarn lockfile v1


                chalk@^5.3.0:
                  version "5.3.0"

                "typescript@^5.4.0", typescript@^5.4.2:
                  version "5.4.5"
            """,
            "packages/a/package.json": """
                {
                  "name": "@mono/a",
                  "version": "1.0.0",
                  "bin": {"mono-a": "cli.js"},
                  "dependencies": {"chalk": "^5.3.0"}
                }
            """,
            "packages/a/cli.js": "console.log('a');\n",
            "packages/b/package.json": """
                {
                  "name": "@mono/b",
                  "version": "2.0.0",
                  "bin": "./index.js",
                  "scripts": {"start": "node index.js"}
                }
            """,
            "packages/b/index.js": "console.log('b');\n",
        }
    )
    assert scan_node(files) == Findings(
        projects=[
            ProjectMeta(
                name="@mono/a",
                version="1.0.0",
                root="packages/a",
                evidence=Evidence(
                    file="packages/a/package.json", line=2, detail='"name": "@mono/a",'
                ),
            ),
            ProjectMeta(
                name="@mono/b",
                version="2.0.0",
                root="packages/b",
                evidence=Evidence(
                    file="packages/b/package.json", line=2, detail='"name": "@mono/b",'
                ),
            ),
        ],
        dependencies=[
            Dependency(
                ecosystem="node",
                name="typescript",
                spec="^5.4.0",
                dev=True,
                evidence=Evidence(
                    file="package.json",
                    line=4,
                    detail='"devDependencies": {"typescript": "^5.4.0"}',
                ),
            ),
            Dependency(
                ecosystem="node",
                name="chalk",
                spec="^5.3.0",
                evidence=Evidence(
                    file="packages/a/package.json",
                    line=5,
                    detail='"dependencies": {"chalk": "^5.3.0"}',
                ),
            ),
        ],
        entry_points=[
            EntryPointFinding(
                kind="node_bin",
                name="mono-a",
                root="packages/a",
                command=["node", "cli.js"],
                file="packages/a/cli.js",
                language="javascript",
                evidence=[
                    Evidence(
                        file="packages/a/package.json",
                        line=4,
                        detail='"bin": {"mono-a": "cli.js"},',
                    )
                ],
            ),
            EntryPointFinding(
                kind="node_bin",
                name="b",
                root="packages/b",
                command=["node", "index.js"],
                file="packages/b/index.js",
                language="javascript",
                evidence=[
                    Evidence(file="packages/b/package.json", line=4, detail='"bin": "./index.js",')
                ],
            ),
            EntryPointFinding(
                kind="node_script",
                name="start",
                root="packages/b",
                command=["npm", "run", "--silent", "start"],
                file="packages/b/package.json",
                line=5,
                language="javascript",
                description="node index.js",
                evidence=[
                    Evidence(
                        file="packages/b/package.json",
                        line=5,
                        detail='"scripts": {"start": "node index.js"}',
                    )
                ],
                confidence=0.8,
            ),
        ],
        toolchains=[
            node(
                Evidence(file="package.json"),
                Evidence(file="packages/a/package.json"),
                Evidence(file="packages/b/package.json"),
            ),
            npm("package.json", "packages/a/package.json", "packages/b/package.json"),
        ],
        notes=["yarn.lock pins 2 packages"],
    )


def test_lock_files_of_every_format_are_counted(repo_files: MakeRepo) -> None:
    files = repo_files(
        {
            "v1/package.json": '{"name": "v1"}',
            "v1/npm-shrinkwrap.json": """
                {"lockfileVersion": 1, "dependencies": {"a": {}, "b": {"dependencies": {"c": {}}}}}
            """,
            "pnpm/package.json": '{"name": "pnpm"}',
            "pnpm/pnpm-lock.yaml": """
                lockfileVersion: '9.0'

                importers:
                  .:
                    dependencies:
                      left-pad:
                        specifier: ^1.3.0

                packages:

                  '@babel/core@7.24.0':
                    resolution: {integrity: sha512-x}

                  left-pad@1.3.0:
                    resolution: {integrity: sha512-y}

                snapshots:

                  left-pad@1.3.0: {}
            """,
            "berry/package.json": '{"name": "berry"}',
            "berry/yarn.lock": """
                __metadata:
                  version: 8

                "left-pad@npm:^1.3.0":
                  version: 1.3.0
            """,
            "broken/package.json": '{"name": "broken"}',
            "broken/package-lock.json": "{ not json",
        }
    )
    assert scan_node(files).notes == [
        "berry/yarn.lock pins 1 packages",
        "broken/package-lock.json found",
        "pnpm/pnpm-lock.yaml pins 2 packages",
        "v1/npm-shrinkwrap.json pins 2 packages",
    ]


def test_evidence_lines_ignore_brackets_in_strings_and_nested_keys(repo_files: MakeRepo) -> None:
    files = repo_files(
        {
            "package.json": r"""
                {
                  "author": {"name": "Ada", "url": "https://example.com/{x}"},
                  "description": "braces { [ and \"quotes\" ] }",
                  "name": "tricky",
                  "optionalDependencies": {"fsevents": "2.3.3"},
                  "peerDependencies": {
                    "react": ">=18"
                  }
                }
            """,
            "broken/package.json": '{"name": ',
            "array/package.json": "[]",
        }
    )
    findings = scan_node(files)
    assert findings.projects == [
        ProjectMeta(
            name="tricky",
            description='braces { [ and "quotes" ] }',
            evidence=Evidence(file="package.json", line=4, detail='"name": "tricky",'),
        )
    ]
    assert [(dep.name, dep.dev, dep.evidence.line) for dep in findings.dependencies] == [
        ("fsevents", False, 5),
        ("react", False, 7),
    ]
    assert findings.notes == [
        "array/package.json: not a readable JSON object, skipped",
        "broken/package.json: not a readable JSON object, skipped",
    ]


def test_no_package_json_means_no_node_findings(repo_files: MakeRepo) -> None:
    files = repo_files({"server.js": EXPRESS_APP, "tool.py": "print('hi')\n"})
    assert scan_node(files) == Findings()
