"""Small but realistic repositories, one per form the analyser must recognise.

Each is written the way such projects are written in the wild (a click app with
``[project.scripts]``, a crewAI project layout, a Go module with ``cmd/``...), small enough to
read in the test that uses it. None has a mark1.plugin.yml unless its name says so.
"""

from __future__ import annotations

FORMS: dict[str, dict[str, str]] = {
    "click-pyproject": {
        "pyproject.toml": """
            [project]
            name = "shrinkpic"
            version = "1.2.0"
            description = "Shrink images to a maximum width"
            requires-python = ">=3.9"
            dependencies = ["click>=8", "pillow>=9"]

            [project.scripts]
            shrinkpic = "shrinkpic.cli:main"

            [build-system]
            requires = ["setuptools>=61"]
            build-backend = "setuptools.build_meta"
        """,
        "shrinkpic/__init__.py": "",
        "shrinkpic/cli.py": '''
            """Shrink an image so it is at most WIDTH pixels wide."""
            import click
            from PIL import Image


            @click.command()
            @click.argument("source", type=click.Path(exists=True))
            @click.option("--width", type=int, default=800, help="Maximum width in pixels.")
            @click.option("--output", "-o", type=click.Path(), default="small.png",
                          help="Where to write the PNG.")
            def main(source, width, output):
                """Shrink SOURCE to at most WIDTH pixels wide."""
                image = Image.open(source)
                ratio = min(1.0, width / image.width)
                image.resize((int(image.width * ratio), int(image.height * ratio))).save(output)
                click.echo(output)


            if __name__ == "__main__":
                main()
        ''',
    },
    "setup-py-only": {
        "setup.py": """
            from setuptools import setup, find_packages

            REQUIRES = ["requests>=2.20"]

            setup(
                name="wordcount-tool",
                version="0.3.0",
                description="Count words in text files",
                packages=find_packages(),
                install_requires=REQUIRES,
                python_requires=">=3.8",
                entry_points={"console_scripts": ["wordcount = wordcount.main:run"]},
            )
        """,
        "wordcount/__init__.py": "",
        "wordcount/main.py": """
            import argparse


            def run():
                parser = argparse.ArgumentParser(description="Count words in a text file.")
                parser.add_argument("path", help="The text file to read")
                parser.add_argument("--lower", action="store_true", help="Fold case first")
                args = parser.parse_args()
                with open(args.path) as handle:
                    words = handle.read().split()
                print(len(words))
        """,
    },
    "argparse-hidden-deps": {
        "thumbs.py": '''
            """Make a thumbnail of every image listed in a YAML file."""
            import argparse

            import yaml
            from PIL import Image


            def main():
                parser = argparse.ArgumentParser(description=__doc__)
                parser.add_argument("listing", help="YAML file listing the images")
                parser.add_argument("--size", type=int, default=128, help="Thumbnail edge")
                args = parser.parse_args()
                with open(args.listing) as handle:
                    names = yaml.safe_load(handle)
                for name in names:
                    image = Image.open(name)
                    image.thumbnail((args.size, args.size))
                    image.save(name + ".thumb.png")
                print(len(names))


            if __name__ == "__main__":
                main()
        ''',
        "README.md": "# thumbs\n\nMake thumbnails of the images a YAML file lists.\n",
    },
    "typer-app": {
        "requirements.txt": "typer>=0.9\n",
        "notes.py": '''
            """Keep short notes in a JSON file."""
            import json
            from pathlib import Path

            import typer

            app = typer.Typer()


            @app.command()
            def add(text: str, tag: str = typer.Option("misc", help="Tag for the note")):
                """Add a note."""
                store = Path("notes.json")
                notes = json.loads(store.read_text()) if store.exists() else []
                notes.append({"text": text, "tag": tag})
                store.write_text(json.dumps(notes))


            @app.command("list")
            def list_notes(tag: str = typer.Option(None, help="Only this tag")):
                """List notes."""
                print(Path("notes.json").read_text())


            if __name__ == "__main__":
                app()
        ''',
    },
    "library-no-cli": {
        "pyproject.toml": """
            [project]
            name = "textstats"
            version = "0.1.0"
            description = "Statistics about text"
        """,
        "textstats/__init__.py": """
            from textstats.core import readability, word_count

            __all__ = ["word_count", "readability"]
        """,
        "textstats/core.py": '''
            def word_count(text: str) -> int:
                """Count the words in a text.

                Args:
                    text: The text to count.
                """
                return len(text.split())


            def readability(text: str, language: str = "en") -> float:
                """Score how easy a text is to read.

                Args:
                    text: The text to score.
                    language: Its language code.
                """
                return 1.0
        ''',
    },
    "node-bin": {
        "package.json": """
            {
              "name": "jsonpick",
              "version": "2.0.1",
              "description": "Pick a field from a JSON file",
              "bin": {"jsonpick": "bin/jsonpick.js"},
              "license": "MIT"
            }
        """,
        "bin/jsonpick.js*": """
            #!/usr/bin/env node
            const fs = require("fs");
            const [file, field] = process.argv.slice(2);
            if (!file || file === "--help") {
              console.log("usage: jsonpick FILE FIELD");
              process.exit(0);
            }
            console.log(JSON.stringify(JSON.parse(fs.readFileSync(file, "utf8"))[field]));
        """,
    },
    "shell-script": {
        "backup.sh*": """
            #!/bin/sh
            # Copy a folder into a dated tar archive.
            # Usage: backup.sh SOURCE_DIR
            if [ "$1" = "--help" ] || [ -z "$1" ]; then
              echo "Usage: backup.sh SOURCE_DIR"
              exit 0
            fi
            tar czf "backup-$(date +%Y%m%d).tar.gz" "$1"
        """,
    },
    "makefile-c": {
        "Makefile": """
            CC ?= cc

            ## Build the wc2 tool
            wc2: wc2.c
            \t$(CC) -O2 -o wc2 wc2.c

            clean:
            \trm -f wc2
        """,
        "wc2.c": """
            #include <stdio.h>
            int main(void) { int c, n = 0; while ((c = getchar()) != EOF) n += c == '\\n';
              printf("%d\\n", n); return 0; }
        """,
    },
    "go-main": {
        "go.mod": "module example.com/greeter\n\ngo 1.21\n",
        "cmd/greet/main.go": """
            package main

            import (
            \t"flag"
            \t"fmt"
            )

            func main() {
            \tname := flag.String("name", "world", "who to greet")
            \tflag.Parse()
            \tfmt.Printf("hello %s\\n", *name)
            }
        """,
    },
    "rust-bin": {
        "Cargo.toml": """
            [package]
            name = "upper"
            version = "0.1.0"
            edition = "2021"

            [[bin]]
            name = "upper"
            path = "src/main.rs"
        """,
        "src/main.rs": """
            use std::io::Read;
            fn main() {
                if std::env::args().any(|a| a == "--help") { println!("usage: upper < TEXT"); return; }
                let mut s = String::new();
                std::io::stdin().read_to_string(&mut s).unwrap();
                print!("{}", s.to_uppercase());
            }
        """,
    },
    "dockerfile-only": {
        "Dockerfile": """
            FROM debian:bookworm-slim
            RUN apt-get update && apt-get install -y --no-install-recommends \\
                imagemagick \\
                ghostscript
            ENV OUTPUT_DIR=/out
            COPY convert.sh /usr/local/bin/convert.sh
            ENTRYPOINT ["/usr/local/bin/convert.sh"]
        """,
        "convert.sh": '#!/bin/sh\nconvert "$1" "$OUTPUT_DIR/out.pdf"\n',
    },
    "fastapi-app": {
        "requirements.txt": "fastapi\nuvicorn\n",
        "app.py": '''
            from fastapi import FastAPI
            from pydantic import BaseModel, Field

            app = FastAPI(title="Temperature converter")


            class Reading(BaseModel):
                celsius: float = Field(description="Temperature in degrees Celsius")
                label: str = ""


            @app.get("/health")
            def health():
                """Is the service up."""
                return {"ok": True}


            @app.post("/convert")
            def convert(reading: Reading):
                """Convert Celsius to Fahrenheit."""
                return {"fahrenheit": reading.celsius * 9 / 5 + 32, "label": reading.label}
        ''',
    },
    "python-mcp": {
        "requirements.txt": "mcp\n",
        "server.py": '''
            from mcp.server.mcpserver import MCPServer

            mcp = MCPServer("calculator")


            @mcp.tool()
            def add(a: int, b: int) -> int:
                """Add two numbers."""
                return a + b


            @mcp.tool()
            def multiply(a: int, b: int) -> int:
                """Multiply two numbers."""
                return a * b


            if __name__ == "__main__":
                mcp.run()
        ''',
    },
    "node-mcp": {
        "package.json": """
            {
              "name": "notes-mcp",
              "version": "0.1.0",
              "type": "module",
              "bin": {"notes-mcp": "index.js"},
              "dependencies": {"@modelcontextprotocol/sdk": "^1.0.0", "zod": "^3.22.0"}
            }
        """,
        "index.js": """
            #!/usr/bin/env node
            import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
            import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
            import { z } from "zod";

            const server = new McpServer({ name: "notes", version: "0.1.0" });
            server.tool("save_note", { text: z.string() }, async ({ text }) => ({
              content: [{ type: "text", text: "saved " + text }],
            }));
            await server.connect(new StdioServerTransport());
        """,
    },
    "langgraph": {
        "langgraph.json": """
            {
              "dependencies": ["."],
              "graphs": {"researcher": "./agent/graph.py:graph"},
              "env": ".env"
            }
        """,
        "requirements.txt": "langgraph\nlangchain-openai\n",
        ".env.example": "# Key for the model provider\nOPENAI_API_KEY=\n",
        "agent/__init__.py": "",
        "agent/graph.py": """
            import os
            from typing import TypedDict

            from langgraph.graph import END, StateGraph


            class State(TypedDict):
                question: str
                answer: str


            def answer(state: State) -> State:
                return {"question": state["question"], "answer": os.environ["OPENAI_API_KEY"][:0]}


            builder = StateGraph(State)
            builder.add_node("answer", answer)
            builder.set_entry_point("answer")
            builder.add_edge("answer", END)
            graph = builder.compile()
        """,
    },
    "crewai": {
        "pyproject.toml": """
            [project]
            name = "trip_planner"
            version = "0.1.0"
            description = "Plan a trip with a crew of agents"
            requires-python = ">=3.10,<3.14"
            dependencies = ["crewai[tools]>=0.80"]

            [project.scripts]
            run_crew = "trip_planner.main:run"
        """,
        "src/trip_planner/__init__.py": "",
        "src/trip_planner/crew.py": '''
            from crewai import Agent, Crew, Process, Task
            from crewai.project import CrewBase, agent, crew, task


            @CrewBase
            class TripPlanner:
                """Plans trips."""

                @agent
                def planner(self) -> Agent:
                    return Agent(config=self.agents_config["planner"])

                @task
                def plan(self) -> Task:
                    return Task(config=self.tasks_config["plan"])

                @crew
                def crew(self) -> Crew:
                    return Crew(agents=self.agents, tasks=self.tasks, process=Process.sequential)
        ''',
        "src/trip_planner/main.py": '''
            from trip_planner.crew import TripPlanner


            def run():
                """Plan a trip."""
                TripPlanner().crew().kickoff(inputs={"city": "Lisbon"})
        ''',
    },
    "notebook-only": {
        "analysis.ipynb": '{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}',
        "README.md": "# Sales analysis\n\nA notebook exploring the 2023 sales figures.\n",
    },
    "monorepo": {
        "README.md": "# Tools\n\nA few small tools.\n",
        "tools/slugify/slugify.py": '''
            """Turn a title into a URL slug."""
            import argparse
            import re


            def main():
                parser = argparse.ArgumentParser(description="Turn a title into a URL slug")
                parser.add_argument("title")
                print(re.sub(r"[^a-z0-9]+", "-", parser.parse_args().title.lower()).strip("-"))


            if __name__ == "__main__":
                main()
        ''',
        "tools/count/package.json": """
            {"name": "count-lines", "version": "1.0.0", "bin": {"count-lines": "count.js"}}
        """,
        "tools/count/count.js": """
            #!/usr/bin/env node
            const fs = require("fs");
            console.log(fs.readFileSync(process.argv[2], "utf8").split("\\n").length);
        """,
    },
    "env-and-database": {
        "requirements.txt": "psycopg2-binary\nrequests\n",
        ".env.example": """
            # PostgreSQL connection string
            DATABASE_URL=postgresql://user:pass@localhost:5432/shop
            # Token for the shipping API
            SHIPPING_API_TOKEN=
            LOG_LEVEL=info
        """,
        "sync_orders.py": '''
            """Copy new orders from the shop database to the shipping API."""
            import argparse
            import os

            import psycopg2
            import requests


            def main():
                parser = argparse.ArgumentParser(description=__doc__)
                parser.add_argument("--since", help="Only orders after this date (YYYY-MM-DD)")
                args = parser.parse_args()
                db = psycopg2.connect(os.environ["DATABASE_URL"])
                token = os.environ["SHIPPING_API_TOKEN"]
                level = os.getenv("LOG_LEVEL", "info")
                rows = db.cursor().execute("SELECT id FROM orders WHERE created > %s", (args.since,))
                requests.post("https://api.shipping.example.com/v1/orders", json=rows,
                              headers={"Authorization": token})
                print(level)


            if __name__ == "__main__":
                main()
        ''',
    },
}
