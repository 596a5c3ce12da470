"""scan_native on real files: Rust crates, Go modules, Gemfiles, composer.json, Makefiles and
shebang scripts, each asserted field for field."""

from __future__ import annotations

import shutil
from collections.abc import Callable

import pytest

from assistant.plugins.analysis.files import RepoFiles
from assistant.plugins.analysis.native import scan_native
from assistant.plugins.analysis.profile import (
    Dependency,
    EntryPointFinding,
    Evidence,
    Findings,
    Interface,
    ProjectMeta,
    RiskFinding,
    ToolchainFinding,
)

MakeRepo = Callable[[dict[str, str | bytes]], RepoFiles]
INSTALLED = {"cargo", "make", "cc"}  # what this test "machine" has on its PATH


@pytest.fixture(autouse=True)
def fake_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """``found`` must not depend on the machine running the tests."""
    monkeypatch.setattr(
        shutil, "which", lambda name: f"/usr/bin/{name}" if name in INSTALLED else None
    )


def ev(file: str, line: int | None = None, detail: str = "") -> Evidence:
    return Evidence(file=file, line=line, detail=detail)


def test_cargo_crate_with_explicit_and_implicit_binaries_and_a_build_script(
    repo_files: MakeRepo,
) -> None:
    files = repo_files(
        {
            "Cargo.toml": """
                [package]
                name = "imgtool"
                version = "0.3.1"
                description = "Resize images from the command line"
                license = "MIT"

                [[bin]]
                name = "imgtool-cli"
                path = "src/cli.rs"

                [dependencies]
                clap = { version = "4.5", features = ["derive"] }
                image = "0.25"

                [dependencies.serde]
                version = "1"

                [dev-dependencies]
                tempfile = "3"

                [build-dependencies]
                cc = "1.0"
            """,
            "build.rs": "fn main() {}\n",
            "src/main.rs": """
                //! Resize images.
                fn main() {
                    println!("hi");
                }
            """,
            "src/cli.rs": """
                use clap::Parser;

                fn main() {}
            """,
            "src/bin/extra.rs": "fn main() {}\n",
            "src/bin/multi/main.rs": "fn main() {}\n",
            "src/bin/multi/helper.rs": "pub fn help() {}\n",
        }
    )

    def rust_bin(name: str, file: str, line: int, **fields: object) -> EntryPointFinding:
        return EntryPointFinding.model_validate(
            {
                "kind": "rust_bin",
                "name": name,
                "command": [f"target/release/{name}"],
                "file": file,
                "line": line,
                "framework": "cargo",
                "language": "rust",
                "evidence": [ev(file, line, "fn main() {}")],
                **fields,
            }
        )

    assert scan_native(files) == Findings(
        projects=[
            ProjectMeta(
                name="imgtool",
                version="0.3.1",
                description="Resize images from the command line",
                license="MIT",
                evidence=ev("Cargo.toml", 1, "[package]"),
            )
        ],
        dependencies=[
            Dependency(
                ecosystem="rust",
                name="clap",
                spec='{version = "4.5", features = ["derive"]}',
                evidence=ev("Cargo.toml", 12, 'clap = { version = "4.5", features = ["derive"] }'),
            ),
            Dependency(
                ecosystem="rust",
                name="image",
                spec="0.25",
                evidence=ev("Cargo.toml", 13, 'image = "0.25"'),
            ),
            Dependency(
                ecosystem="rust",
                name="serde",
                spec='{version = "1"}',
                evidence=ev("Cargo.toml", 15, "[dependencies.serde]"),
            ),
            Dependency(
                ecosystem="rust",
                name="tempfile",
                spec="3",
                dev=True,
                evidence=ev("Cargo.toml", 19, 'tempfile = "3"'),
            ),
            Dependency(
                ecosystem="rust", name="cc", spec="1.0", evidence=ev("Cargo.toml", 22, 'cc = "1.0"')
            ),
        ],
        entry_points=[
            rust_bin(
                "imgtool-cli",
                "src/cli.rs",
                3,
                framework="clap",
                evidence=[
                    ev("Cargo.toml", 7, '[[bin]] name = "imgtool-cli"'),
                    ev("src/cli.rs", 3, "fn main() {}"),
                ],
            ),
            rust_bin(
                "imgtool",
                "src/main.rs",
                2,
                description="Resize images.",
                evidence=[ev("src/main.rs", 2, "fn main() {")],
            ),
            rust_bin("extra", "src/bin/extra.rs", 1),
            rust_bin("multi", "src/bin/multi/main.rs", 1),
        ],
        toolchains=[
            ToolchainFinding(
                name="cargo",
                kind="toolchain",
                found=True,
                debian_package="cargo",
                evidence=[ev("Cargo.toml")],
            )
        ],
        risks=[
            RiskFinding(
                category="install_code",
                severity="medium",
                detail="build.rs is a Cargo build script: it runs code at `cargo build`",
                evidence=[ev("build.rs")],
            )
        ],
    )


def test_member_crates_take_their_folder_as_root_and_the_package_description(
    repo_files: MakeRepo,
) -> None:
    files = repo_files(
        {
            "Cargo.toml": '[workspace]\nmembers = ["crates/tool"]\n',
            "crates/tool/Cargo.toml": """
                [package]
                name = "tool"
                version.workspace = true
                description = "Does the thing"
                build = false
            """,
            "crates/tool/build.rs": "fn main() {}\n",
            "crates/tool/src/main.rs": "fn main() {}\n",
            "broken/Cargo.toml": "[package\n",
            "crates/rg/Cargo.toml": """
                [package]
                name = "ripgrep"
                description = '''
                Searches recursively
                for a regex.'''

                [[bin]]
                name = "rg"
                path = "main.rs"
            """,
        }
    )

    found = scan_native(files)

    assert found.projects == [
        ProjectMeta(
            name="ripgrep",
            description="Searches recursively for a regex.",
            root="crates/rg",
            evidence=ev("crates/rg/Cargo.toml", 1, "[package]"),
        ),
        ProjectMeta(
            name="tool",
            description="Does the thing",
            root="crates/tool",
            evidence=ev("crates/tool/Cargo.toml", 1, "[package]"),
        ),
    ]
    assert found.entry_points == [
        EntryPointFinding(  # the package's only binary: the package describes it
            kind="rust_bin",
            name="rg",
            root="crates/rg",
            command=["target/release/rg"],
            file="crates/rg/main.rs",
            framework="cargo",
            language="rust",
            description="Searches recursively for a regex.",
            evidence=[ev("crates/rg/Cargo.toml", 7, '[[bin]] name = "rg"')],
        ),
        EntryPointFinding(
            kind="rust_bin",
            name="tool",
            root="crates/tool",
            command=["target/release/tool"],
            file="crates/tool/src/main.rs",
            line=1,
            framework="cargo",
            language="rust",
            description="Does the thing",
            evidence=[ev("crates/tool/src/main.rs", 1, "fn main() {}")],
        ),
    ]
    assert found.risks == []  # build = false: the build.rs never runs
    assert found.notes == ["broken/Cargo.toml: not valid TOML, skipped"]
    assert [e.file for e in found.toolchains[0].evidence] == [
        "Cargo.toml",
        "crates/rg/Cargo.toml",
        "crates/tool/Cargo.toml",
    ]


def test_go_module_with_a_cobra_command_a_root_main_and_a_library(repo_files: MakeRepo) -> None:
    files = repo_files(
        {
            "go.mod": """
                module github.com/acme/gotool/v2

                go 1.21

                require github.com/spf13/cobra v1.8.0

                require (
                \tgithub.com/inconshreveable/mousetrap v1.1.0 // indirect
                \tgolang.org/x/text v0.14.0
                )

                replace (
                \tgolang.org/x/text v0.14.0 => ../text
                )
            """,
            "cmd/tool/main.go": """
                // Command tool converts things.
                package main

                import "github.com/spf13/cobra"

                func main() {
                \t_ = cobra.Command{}
                }
            """,
            "cmd/tool/flags.go": "package main\n\nvar verbose bool\n",
            "lib/lib.go": "package lib\n\nfunc Do() {}\n",
            "main.go": "package main\n\nfunc main() {}\n",
            "main_test.go": "package main\n\nfunc main() {}\n",
            "gen/gen.go": "//go:build ignore\n\npackage main\n\nfunc main() {}\n",
            "testdata/fixture/main.go": "package main\n\nfunc main() {}\n",
        }
    )

    assert scan_native(files) == Findings(
        projects=[
            ProjectMeta(
                name="github.com/acme/gotool/v2",
                evidence=ev("go.mod", 1, "module github.com/acme/gotool/v2"),
            )
        ],
        dependencies=[
            Dependency(
                ecosystem="go",
                name="github.com/spf13/cobra",
                spec="v1.8.0",
                evidence=ev("go.mod", 5, "require github.com/spf13/cobra v1.8.0"),
            ),
            Dependency(
                ecosystem="go",
                name="github.com/inconshreveable/mousetrap",
                spec="v1.1.0 // indirect",
                evidence=ev("go.mod", 8, "github.com/inconshreveable/mousetrap v1.1.0 // indirect"),
            ),
            Dependency(
                ecosystem="go",
                name="golang.org/x/text",
                spec="v0.14.0",
                evidence=ev("go.mod", 9, "golang.org/x/text v0.14.0"),
            ),
        ],
        entry_points=[
            EntryPointFinding(
                kind="go_main",
                name="tool",
                command=["bin/tool"],
                file="cmd/tool/main.go",
                line=6,
                framework="cobra",
                language="go",
                description="Command tool converts things.",
                evidence=[ev("cmd/tool/main.go", 6, "func main() {")],
            ),
            EntryPointFinding(
                kind="go_main",
                name="gotool",
                command=["bin/gotool"],
                file="main.go",
                line=3,
                framework="go",
                language="go",
                evidence=[ev("main.go", 3, "func main() {}")],
            ),
        ],
        toolchains=[
            ToolchainFinding(
                name="go",
                kind="toolchain",
                found=False,
                debian_package="golang-go",
                evidence=[
                    ev("go.mod", 3, "go 1.21"),
                    ev("cmd/tool/main.go", 6, "func main() {"),
                    ev("main.go", 3, "func main() {}"),
                ],
            )
        ],
    )


def test_gemfile_groups_and_gemspec_dependencies(repo_files: MakeRepo) -> None:
    files = repo_files(
        {
            "Gemfile": """
                source "https://rubygems.org"

                gem "rails", "~> 7.1"
                gem 'pg', '>= 1.1', '< 2.0', require: false
                platforms :jruby do
                  gem "puma" # the "fast" server
                end

                group :development, :test do
                  gem "rspec-rails", "~> 6.0"
                end

                gem "rubocop", group: :development
            """,
            "tool.gemspec": """
                Gem::Specification.new do |spec|
                  spec.add_dependency "thor", "~> 1.3"
                  spec.add_development_dependency "rake"
                end
            """,
        }
    )

    def gem(name: str, spec: str, line: int, detail: str, dev: bool = False) -> Dependency:
        file = "tool.gemspec" if "spec." in detail else "Gemfile"
        return Dependency(
            ecosystem="ruby", name=name, spec=spec, dev=dev, evidence=ev(file, line, detail)
        )

    assert scan_native(files) == Findings(
        dependencies=[
            gem("rails", "~> 7.1", 3, 'gem "rails", "~> 7.1"'),
            gem("pg", ">= 1.1, < 2.0", 4, "gem 'pg', '>= 1.1', '< 2.0', require: false"),
            gem("puma", "", 6, 'gem "puma" # the "fast" server'),
            gem("rspec-rails", "~> 6.0", 10, 'gem "rspec-rails", "~> 6.0"', dev=True),
            gem("rubocop", "", 13, 'gem "rubocop", group: :development', dev=True),
            gem("thor", "~> 1.3", 2, 'spec.add_dependency "thor", "~> 1.3"'),
            gem("rake", "", 3, 'spec.add_development_dependency "rake"', dev=True),
        ],
        toolchains=[
            ToolchainFinding(
                name="ruby",
                kind="toolchain",
                found=False,
                debian_package="ruby",
                evidence=[ev("Gemfile"), ev("tool.gemspec")],
            ),
            ToolchainFinding(
                name="bundle",
                kind="toolchain",
                found=False,
                debian_package="ruby-bundler",
                evidence=[ev("Gemfile")],
            ),
        ],
    )


def test_composer_json_packages_without_platform_requirements(repo_files: MakeRepo) -> None:
    files = repo_files(
        {
            "composer.json": """
                {
                  "name": "acme/tool",
                  "description": "A PHP tool",
                  "license": ["MIT", "Apache-2.0"],
                  "require": {
                    "php": ">=8.1",
                    "ext-json": "*",
                    "guzzlehttp/guzzle": "^7.8"
                  },
                  "require-dev": {
                    "phpunit/phpunit": "^10.5"
                  }
                }
            """,
            "other/composer.json": "[]",
        }
    )

    assert scan_native(files) == Findings(
        projects=[
            ProjectMeta(
                name="acme/tool",
                description="A PHP tool",
                license="MIT OR Apache-2.0",
                evidence=ev("composer.json", 2, '"name": "acme/tool",'),
            )
        ],
        dependencies=[
            Dependency(
                ecosystem="php",
                name="guzzlehttp/guzzle",
                spec="^7.8",
                evidence=ev("composer.json", 8, '"guzzlehttp/guzzle": "^7.8"'),
            ),
            Dependency(
                ecosystem="php",
                name="phpunit/phpunit",
                spec="^10.5",
                dev=True,
                evidence=ev("composer.json", 11, '"phpunit/phpunit": "^10.5"'),
            ),
        ],
        toolchains=[
            ToolchainFinding(
                name="php",
                kind="toolchain",
                found=False,
                debian_package="php-cli",
                evidence=[ev("composer.json", 6, '"php": ">=8.1",')],
            ),
            ToolchainFinding(
                name="composer",
                kind="toolchain",
                found=False,
                debian_package="composer",
                evidence=[ev("composer.json")],
            ),
        ],
        notes=["other/composer.json: not a JSON object, skipped"],
    )


def test_makefile_of_a_c_tool_with_help_comments(repo_files: MakeRepo) -> None:
    files = repo_files(
        {
            "Makefile": """
                CC ?= gcc
                CFLAGS := -O2
                PREFIX ::= /usr/local

                .PHONY: all clean help

                all: resize ## Build the resize tool

                # Compile the tool
                # from one source file.
                resize: resize.c
                \t$(CC) $(CFLAGS) -o $@ resize.c

                %.o: %.c
                \t$(CC) -c $<

                resize.o: resize.c

                debug: CFLAGS += -g

                define BANNER
                banner: not a rule
                endef

                clean:
                \trm -f resize

                help: ## Show this help
                \t@grep -E '^[a-z]+:' Makefile
            """,
            "resize.c": "int main(void) { return 0; }\n",
        }
    )

    def target(
        name: str, line: int, detail: str, description: str, confidence: float
    ) -> EntryPointFinding:
        return EntryPointFinding(
            kind="make_target",
            name=name,
            command=["make", name],
            file="Makefile",
            line=line,
            framework="make",
            language="make",
            description=description,
            evidence=[ev("Makefile", line, detail)],
            confidence=confidence,
        )

    assert scan_native(files) == Findings(
        entry_points=[
            target("all", 7, "all: resize ## Build the resize tool", "Build the resize tool", 0.4),
            target("resize", 11, "resize: resize.c", "Compile the tool from one source file.", 0.6),
            target("clean", 25, "clean:", "", 0.4),
            target("help", 28, "help: ## Show this help", "Show this help", 0.6),
        ],
        toolchains=[
            ToolchainFinding(
                name="make",
                kind="toolchain",
                found=True,
                debian_package="make",
                evidence=[ev("Makefile")],
            ),
            ToolchainFinding(
                name="cc",
                kind="toolchain",
                found=True,
                debian_package="gcc",
                evidence=[ev("Makefile", 1, "CC ?= gcc")],
            ),
        ],
        notes=[".: build with make"],
    )


def test_makefile_of_tasks_needs_no_compiler_and_no_build(repo_files: MakeRepo) -> None:
    files = repo_files(
        {
            "docs/Makefile": "html:\n\tsphinx-build . _build\n",
            "tests/Makefile": "run:\n\ttrue\n",
        }
    )

    found = scan_native(files)

    assert found.entry_points == [
        EntryPointFinding(
            kind="make_target",
            name="html",
            root="docs",
            command=["make", "html"],
            file="docs/Makefile",
            line=1,
            framework="make",
            language="make",
            evidence=[ev("docs/Makefile", 1, "html:")],
            confidence=0.6,
        )
    ]
    assert [t.name for t in found.toolchains] == ["make"]
    assert found.notes == []


def test_shell_script_with_usage_becomes_an_interface(repo_files: MakeRepo) -> None:
    files = repo_files(
        {
            "scripts/resize.sh*": """
                #!/usr/bin/env bash
                # shellcheck disable=SC2086
                # Resize an image to a given width.
                # Usage: resize.sh INPUT WIDTH [OUTPUT_FILE] [-q] [OPTIONS] <extra-dirs>...
                set -e
            """,
            "tools/report*": "#!/usr/bin/python3.11\n# Print a report.\nprint('x')\n",
            "install.sh": "#!/bin/sh\necho 'usage: install.sh' >&2\n",
            "tool.py*": "#!/usr/bin/env python3\nprint(1)\n",
            "tests/run.sh*": "#!/bin/sh\necho\n",
            "ci/release.sh*": "#!/bin/sh\necho\n",
            ".github/hook.sh*": "#!/bin/sh\necho\n",
            "notes.sh": "echo no shebang\n",
            "data.txt": "#!/bin/sh\nnot executable, not .sh\n",
        }
    )

    assert scan_native(files).entry_points == [
        EntryPointFinding(
            kind="shell_script",
            name="install",
            command=["./install.sh"],
            file="install.sh",
            line=1,
            language="shell",
            interface=Interface(
                framework="help",
                parameters={"type": "object", "properties": {}, "required": []},
                evidence=ev("install.sh", 2, "Usage: install.sh"),
            ),
            evidence=[ev("install.sh", 1, "#!/bin/sh")],
            confidence=0.5,
        ),
        EntryPointFinding(
            kind="shell_script",
            name="resize",
            command=["./scripts/resize.sh"],
            file="scripts/resize.sh",
            line=1,
            language="shell",
            description="Resize an image to a given width.",
            interface=Interface(
                framework="help",
                description="Resize an image to a given width.",
                parameters={
                    "type": "object",
                    "properties": {
                        "input": {"type": "string", "format": "path"},
                        "width": {"type": "string"},
                        "output_file": {"type": "string", "format": "path"},
                        "extra_dirs": {
                            "type": "array",
                            "items": {"type": "string", "format": "path"},
                        },
                    },
                    "required": ["input", "width", "extra_dirs"],
                },
                args={
                    "input": {"position": 0},
                    "width": {"position": 1},
                    "output_file": {"position": 2},
                    "extra_dirs": {"position": 3},
                },
                evidence=ev(
                    "scripts/resize.sh",
                    4,
                    "Usage: resize.sh INPUT WIDTH [OUTPUT_FILE] [-q] [OPTIONS] <extra-dirs>...",
                ),
            ),
            evidence=[ev("scripts/resize.sh", 1, "#!/usr/bin/env bash")],
            confidence=0.7,
        ),
        EntryPointFinding(
            kind="shell_script",
            name="report",
            command=["./tools/report"],
            file="tools/report",
            line=1,
            language="python",
            description="Print a report.",
            evidence=[ev("tools/report", 1, "#!/usr/bin/python3.11")],
            confidence=0.7,
        ),
    ]


def test_magic_comments_do_not_describe_a_script(repo_files: MakeRepo) -> None:
    files = repo_files(
        {
            "bin/greet*": """
                #!/usr/bin/env ruby
                # frozen_string_literal: true
                # -*- coding: utf-8 -*-
                # Greets people.
                puts "hi"
            """
        }
    )

    assert [(e.name, e.language, e.description) for e in scan_native(files).entry_points] == [
        ("greet", "ruby", "Greets people.")
    ]


@pytest.mark.parametrize(
    ("shebang", "language"),
    [
        ("#!/bin/sh", "shell"),
        ("#!/usr/bin/env -S bash -e", "shell"),
        ("#!/usr/bin/env node", "javascript"),
        ("#!/usr/bin/perl -w", "perl"),
        ("#!/usr/bin/env ruby", "ruby"),
        ("#!/usr/local/bin/tclsh8.6", "tclsh"),
    ],
)
def test_script_language_comes_from_the_shebang_interpreter(
    repo_files: MakeRepo, shebang: str, language: str
) -> None:
    files = repo_files({"run*": f"{shebang}\nexit 0\n"})

    assert [e.language for e in scan_native(files).entry_points] == [language]


def test_an_empty_repository_has_no_native_findings(repo_files: MakeRepo) -> None:
    assert scan_native(repo_files({"README.md": "# nothing\n"})) == Findings()
