"""Python entry points found by reading (never running) the code: scripts, `python -m`
packages, HTTP routes, MCP servers and agent projects, each with its exact command."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from assistant.plugins.analysis.files import RepoFiles
from assistant.plugins.analysis.profile import EntryPointFinding, Evidence, Interface
from assistant.plugins.analysis.python_entries import scan_python_entries

MakeRepo = Callable[[dict[str, str | bytes]], RepoFiles]
# The app is found by path: runs start in a scratch folder, and the adapter makes "."
# (the plugin's folder) absolute.
UVICORN = ["python", "-m", "uvicorn", "--app-dir", ".", "app:app"]
UVICORN += ["--host", "127.0.0.1", "--port", "{port}"]


@pytest.fixture
def entries(repo_files: MakeRepo) -> Callable[[dict[str, str | bytes]], list[EntryPointFinding]]:
    return lambda tree: scan_python_entries(repo_files(tree)).entry_points


def test_argparse_script_with_docstring_and_main_call(entries) -> None:
    found = entries(
        {
            "requirements.txt": "pillow\n",
            "resize.py": '''
                """Resize images
                to a given width.

                Details nobody reads.
                """
                import argparse


                def main():
                    argparse.ArgumentParser().parse_args()


                if __name__ == "__main__":
                    main()
            ''',
        }
    )
    assert found == [
        EntryPointFinding(
            kind="python_script",
            name="resize",
            command=["python", "resize.py"],
            function="main",
            file="resize.py",
            line=13,
            framework="argparse",
            description="Resize images to a given width.",
            evidence=[Evidence(file="resize.py", line=13, detail='if __name__ == "__main__":')],
            confidence=0.9,
        )
    ]


def test_click_script_in_a_subproject_runs_from_its_root(entries) -> None:
    found = entries(
        {
            "tools/convert/pyproject.toml": "[project]\nname = 'convert'\n",
            "tools/convert/cli/convert.py": """
                import sys

                import click


                @click.command()
                def cli():
                    pass


                if "__main__" == __name__:
                    sys.exit(cli())
            """,
        }
    )
    assert [e.model_dump(exclude_defaults=True) for e in found] == [
        {
            "kind": "python_script",
            "name": "convert",
            "root": "tools/convert",
            "command": ["python", "cli/convert.py"],
            "function": "cli",
            "file": "tools/convert/cli/convert.py",
            "line": 11,
            "framework": "click",
            "evidence": [
                {
                    "file": "tools/convert/cli/convert.py",
                    "line": 11,
                    "detail": 'if "__main__" == __name__:',
                }
            ],
            "confidence": 0.9,
        }
    ]


def test_main_block_without_a_simple_call_has_no_function(entries) -> None:
    found = entries(
        {
            "typed.py": """
                import typer

                app = typer.Typer()

                if __name__ == "__main__":
                    print("hello")
                    typer.run(app)
            """,
            "loop.py": """
                if __name__ == "__main__":
                    for x in range(3):
                        print(x)
            """,
        }
    )
    assert [(e.name, e.function, e.framework) for e in found] == [
        ("loop", None, None),
        ("typed", "app", "typer"),
    ]


def test_script_with_relative_imports_runs_as_a_module(entries) -> None:
    found = entries(
        {
            "pkg/__init__.py": "",
            "pkg/tool.py": """
                import asyncio

                from .core import main

                if __name__ == "__main__":
                    asyncio.run(main())
            """,
        }
    )
    assert [(e.command, e.module, e.function) for e in found] == [
        (["python", "-m", "pkg.tool"], "pkg.tool", "main")
    ]


def test_package_with_main_in_src_layout(entries) -> None:
    found = entries(
        {
            "pyproject.toml": "[project]\nname = 'imgtool'\n",
            "src/imgtool/__init__.py": "",
            "src/imgtool/__main__.py": '''
                """Image tool."""
                import typer

                from imgtool.cli import app

                if __name__ == "__main__":
                    app()
            ''',
        }
    )
    assert found == [
        EntryPointFinding(
            kind="python_module",
            name="imgtool",
            command=["python", "-m", "imgtool"],
            module="imgtool.__main__",
            file="src/imgtool/__main__.py",
            line=6,
            framework="typer",
            description="Image tool.",
            evidence=[
                Evidence(
                    file="src/imgtool/__main__.py", line=6, detail='if __name__ == "__main__":'
                )
            ],
        )
    ]


def test_main_py_runs_by_path_when_its_folder_is_not_importable(entries) -> None:
    found = entries({"my-tool/requirements.txt": "", "my-tool/app/__main__.py": "print(1)\n"})
    assert [(e.name, e.root, e.command, e.module, e.line) for e in found] == [
        ("app", "my-tool", ["python", "-m", "app"], "app.__main__", 1)
    ]
    found = entries({"my-tool/__main__.py": "print(1)\n"})
    assert [(e.name, e.command, e.module) for e in found] == [
        ("my-tool", ["python", "my-tool"], None)
    ]


def test_tests_docs_setup_and_conftest_are_not_entry_points(entries) -> None:
    main_block = 'if __name__ == "__main__":\n    main()\n'
    found = entries(
        {
            "tests/helper.py": main_block,
            "tests/pkg/__main__.py": main_block,
            "docs/conf.py": main_block,
            "test_speed.py": main_block,
            "speed_test.py": main_block,
            "conftest.py": main_block,
            "setup.py": main_block,
        }
    )
    assert found == []


def test_example_scripts_are_less_certain(entries) -> None:
    found = entries(
        {
            "examples/demo.py": """
                def main():
                    pass

                if __name__ == "__main__":
                    main()
            """
        }
    )
    assert [(e.name, e.command, e.function, e.confidence) for e in found] == [
        ("demo", ["python", "examples/demo.py"], "main", 0.5)
    ]


def test_fastapi_app_yields_one_finding_per_route(entries) -> None:
    found = entries(
        {
            "requirements.txt": "fastapi\n",
            "app.py": '''
                from fastapi import FastAPI

                app = FastAPI(title="Images")


                @app.post("/resize")
                async def resize(width: int) -> dict:
                    """Resize an image.

                    Longer text.
                    """
                    return {}


                @app.get(path="/health")
                def health():
                    return {"ok": True}
            ''',
        }
    )
    app_line = Evidence(file="app.py", line=3, detail='app = FastAPI(title="Images")')
    assert found == [
        EntryPointFinding(
            kind="http_app",
            name="resize",
            command=UVICORN,
            module="app",
            function="resize",
            url="/resize",
            method="POST",
            file="app.py",
            line=6,
            framework="fastapi",
            description="Resize an image.",
            evidence=[Evidence(file="app.py", line=6, detail='@app.post("/resize")'), app_line],
        ),
        EntryPointFinding(
            kind="http_app",
            name="health",
            command=UVICORN,
            module="app",
            function="health",
            url="/health",
            method="GET",
            file="app.py",
            line=15,
            framework="fastapi",
            evidence=[
                Evidence(file="app.py", line=15, detail='@app.get(path="/health")'),
                app_line,
            ],
        ),
    ]


def test_fastapi_routers_included_from_other_files(entries) -> None:
    found = entries(
        {
            "pyproject.toml": "[project]\nname = 'svc'\n",
            "src/svc/__init__.py": "",
            "src/svc/main.py": """
                import fastapi
                from .routers import items
                from svc.routers.users import router as users_router

                api = fastapi.FastAPI()
                api.include_router(items.router, prefix="/items")
                api.include_router(users_router)
            """,
            "src/svc/routers/__init__.py": "",
            "src/svc/routers/items.py": """
                from fastapi import APIRouter

                router = APIRouter()
                inner = APIRouter(prefix="/tags")
                router.include_router(inner)

                @router.get("/")
                def list_items(): ...

                @inner.delete("/{tag}")
                def drop_tag(tag: str): ...
            """,
            "src/svc/routers/users.py": """
                from fastapi import APIRouter

                router = APIRouter(prefix="/users")

                @router.post("")
                def create_user(): ...
            """,
        }
    )
    serve = ["python", "-m", "uvicorn", "--app-dir", "src", "svc.main:api"]
    serve += ["--host", "127.0.0.1", "--port", "{port}"]
    assert [(e.name, e.method, e.url, e.module, e.file, e.line) for e in found] == [
        ("list_items", "GET", "/items/", "svc.routers.items", "src/svc/routers/items.py", 7),
        (
            "drop_tag",
            "DELETE",
            "/items/tags/{tag}",
            "svc.routers.items",
            "src/svc/routers/items.py",
            10,
        ),
        ("create_user", "POST", "/users", "svc.routers.users", "src/svc/routers/users.py", 5),
    ]
    assert {tuple(e.command or []) for e in found} == {tuple(serve)}
    assert found[0].evidence[1] == Evidence(
        file="src/svc/main.py", line=5, detail="api = fastapi.FastAPI()"
    )


def test_route_under_a_computed_prefix_is_less_certain(entries) -> None:
    found = entries(
        {
            "app.py": """
                from fastapi import APIRouter, FastAPI

                from settings import API_PREFIX

                app = FastAPI()
                api = APIRouter()
                app.include_router(api, prefix=API_PREFIX)

                @api.get("/ping")
                def ping(): ...
            """,
        }
    )
    assert [(e.url, e.confidence) for e in found] == [("/ping", 0.6)]


def test_flask_app_with_methods(entries) -> None:
    found = entries(
        {
            "server/app.py": '''
                from flask import Flask

                web = Flask(__name__)


                @web.route("/convert", methods=["POST", "put"])
                def convert():
                    """Convert a document."""


                @web.route("/")
                def index():
                    return "hi"
            ''',
        }
    )
    # The file alone: "server/app.py:web" is no path the adapter can make absolute, and flask
    # finds the module's only app whatever its name.
    serve = ["python", "-m", "flask", "--app", "server/app.py", "run", "--host", "127.0.0.1"]
    serve += ["--port", "{port}"]
    route_line = Evidence(
        file="server/app.py", line=6, detail='@web.route("/convert", methods=["POST", "put"])'
    )
    app_line = Evidence(file="server/app.py", line=3, detail="web = Flask(__name__)")
    convert = EntryPointFinding(
        kind="http_app",
        name="convert_post",
        command=serve,
        module="server.app",
        function="convert",
        url="/convert",
        method="POST",
        file="server/app.py",
        line=6,
        framework="flask",
        description="Convert a document.",
        evidence=[route_line, app_line],
    )
    assert found == [
        convert,
        convert.model_copy(update={"name": "convert_put", "method": "PUT"}),
        EntryPointFinding(
            kind="http_app",
            name="index",
            command=serve,
            module="server.app",
            function="index",
            url="/",
            method="GET",
            file="server/app.py",
            line=11,
            framework="flask",
            evidence=[
                Evidence(file="server/app.py", line=11, detail='@web.route("/")'),
                app_line,
            ],
        ),
    ]


MICROBLOG = {
    "requirements.txt": "flask\n",
    "microblog.py": "from app import create_app\n\napp = create_app()\n",
    "app/__init__.py": """
        from flask import Flask

        from config import Config


        def create_app(config_class=Config):
            app = Flask(__name__)
            app.config.from_object(config_class)

            from app.auth import bp as auth_bp
            app.register_blueprint(auth_bp, url_prefix="/auth")

            from app.main import bp as main_bp
            app.register_blueprint(main_bp)

            @app.route("/health")
            def health():
                return "ok"

            return app
    """,
    "app/auth/__init__.py": """
        from flask import Blueprint

        bp = Blueprint("auth", __name__)

        from app.auth import routes
    """,
    "app/auth/routes.py": '''
        from app.auth import bp


        @bp.route("/login", methods=["GET", "POST"])
        def login():
            """Sign in."""
    ''',
    "app/main/__init__.py": """
        from flask import Blueprint

        bp = Blueprint("main", __name__)

        from . import routes
    """,
    "app/main/routes.py": """
        from flask import render_template

        from . import bp


        @bp.route("/")
        @bp.route("/index")
        def index():
            return render_template("index.html")
    """,
}
# The package's folder: flask imports package `app` from its parent and calls `create_app()`.
FLASK_PACKAGE = ["python", "-m", "flask", "--app", "app", "run", "--host", "127.0.0.1"]
FLASK_PACKAGE += ["--port", "{port}"]


def test_flask_factory_with_blueprints_declared_in_other_files(entries) -> None:
    found = entries(MICROBLOG)
    factory_line = Evidence(file="app/__init__.py", line=7, detail="app = Flask(__name__)")
    login = EntryPointFinding(
        kind="http_app",
        name="login_get",
        command=FLASK_PACKAGE,
        module="app.auth.routes",
        function="login",
        url="/auth/login",
        method="GET",
        file="app/auth/routes.py",
        line=4,
        framework="flask",
        description="Sign in.",
        evidence=[
            Evidence(
                file="app/auth/routes.py",
                line=4,
                detail='@bp.route("/login", methods=["GET", "POST"])',
            ),
            factory_line,
        ],
    )
    index = EntryPointFinding(
        kind="http_app",
        name="index",
        command=FLASK_PACKAGE,
        module="app.main.routes",
        function="index",
        url="/",
        method="GET",
        file="app/main/routes.py",
        line=6,
        framework="flask",
        evidence=[
            Evidence(file="app/main/routes.py", line=6, detail='@bp.route("/")'),
            factory_line,
        ],
    )
    assert found == [
        EntryPointFinding(
            kind="http_app",
            name="health",
            command=FLASK_PACKAGE,
            module="app",
            function="health",
            url="/health",
            method="GET",
            file="app/__init__.py",
            line=16,
            framework="flask",
            evidence=[
                Evidence(file="app/__init__.py", line=16, detail='@app.route("/health")'),
                factory_line,
            ],
        ),
        login,
        login.model_copy(update={"name": "login_post", "method": "POST"}),
        index,
        index.model_copy(
            update={
                "url": "/index",
                "line": 7,
                "evidence": [
                    Evidence(file="app/main/routes.py", line=7, detail='@bp.route("/index")'),
                    factory_line,
                ],
            }
        ),
    ]


def test_flask_factory_that_flask_cannot_find_by_itself_is_less_certain(entries) -> None:
    found = entries(
        {
            "web.py": """
                import flask

                def build():
                    server = flask.Flask(__name__)

                    @server.get("/ping")
                    def ping(): ...

                    return server

                def not_a_factory():
                    other = flask.Flask(__name__)
                    other.run()
            """,
        }
    )
    serve = ["python", "-m", "flask", "--app", "web.py", "run", "--host", "127.0.0.1"]
    serve += ["--port", "{port}"]
    assert [(e.name, e.url, e.command, e.module, e.line, e.confidence) for e in found] == [
        ("ping", "/ping", serve, "web", 6, 0.6)
    ]


def test_routes_declared_on_an_app_imported_from_its_package(entries) -> None:
    found = entries(
        {
            "app/__init__.py": """
                from flask import Flask

                app = Flask(__name__)

                from app import routes
            """,
            "app/routes.py": """
                from app import app

                @app.route("/")
                def index(): ...
            """,
        }
    )
    assert [(e.name, e.url, e.command, e.module, e.file) for e in found] == [
        ("index", "/", FLASK_PACKAGE, "app.routes", "app/routes.py")
    ]


def test_fastmcp_server_with_two_tools(entries) -> None:
    found = entries(
        {
            "pyproject.toml": "[project]\nname = 'calc'\n",
            "calc_server.py": """
                from mcp.server.fastmcp import FastMCP

                mcp = FastMCP("Calculator Server!")


                @mcp.tool()
                def add(a: int, b: int) -> int:
                    return a + b


                @mcp.tool(name="search")
                def find(query: str) -> str:
                    return query


                if __name__ == "__main__":
                    mcp.run()
            """,
        }
    )
    assert found[-1] == EntryPointFinding(
        kind="mcp_server",
        name="calculator-server",
        command=["python", "calc_server.py"],
        module="calc_server",
        file="calc_server.py",
        line=3,
        framework="fastmcp",
        description="MCP server with tools: add, search",
        evidence=[
            Evidence(file="calc_server.py", line=3, detail='mcp = FastMCP("Calculator Server!")')
        ],
    )
    assert [e.kind for e in found] == ["python_script", "mcp_server"]  # the analyzer merges them


def test_fastmcp_server_without_main_block_runs_as_module(entries) -> None:
    found = entries(
        {
            "pkg/__init__.py": "",
            "pkg/server.py": """
                from fastmcp import FastMCP

                server = FastMCP(name="")

                @server.tool
                def ping() -> str:
                    return "pong"
            """,
        }
    )
    assert [(e.name, e.command, e.module, e.framework, e.description) for e in found] == [
        (
            "server",
            ["python", "-m", "pkg.server"],
            "pkg.server",
            "fastmcp",
            "MCP server with tools: ping",
        )
    ]


def test_mcp_server_built_in_a_function_starts_through_its_package(entries) -> None:
    found = entries(
        {
            "pyproject.toml": "[project]\nname = 'mcp-server-notes'\n",
            "src/notes/__init__.py": """
                from .server import serve

                def main():
                    import asyncio
                    asyncio.run(serve())

                if __name__ == "__main__":
                    main()
            """,
            "src/notes/__main__.py": "from notes import main\n\nmain()\n",
            "src/notes/server.py": """
                from mcp.server import Server
                from mcp.server.stdio import stdio_server

                async def serve():
                    server = Server("notes")
            """,
        }
    )
    assert [(e.kind, e.name, e.command, e.module) for e in found] == [
        ("python_module", "notes", ["python", "-m", "notes"], "notes.__main__"),
        ("mcp_server", "notes", ["python", "-m", "notes"], "notes.server"),
    ]


def test_low_level_mcp_server_over_stdio(entries) -> None:
    found = entries(
        {
            "server.py": """
                import asyncio

                import mcp.types as types
                from mcp.server import Server
                from mcp.server.stdio import stdio_server


                async def main():
                    app = Server("files")

                    @app.list_tools()
                    async def list_tools():
                        return [types.Tool(name="read", inputSchema={}), types.Tool(name="write", inputSchema={})]

                    async with stdio_server() as (read, write):
                        await app.run(read, write, app.create_initialization_options())


                if __name__ == "__main__":
                    asyncio.run(main())
            """,
        }
    )
    assert found[-1] == EntryPointFinding(
        kind="mcp_server",
        name="files",
        command=["python", "server.py"],
        module="server",
        file="server.py",
        line=9,
        framework="mcp",
        description="MCP server with tools: read, write",
        evidence=[Evidence(file="server.py", line=9, detail='app = Server("files")')],
    )


def test_low_level_server_without_stdio_is_not_an_mcp_server(entries) -> None:
    found = entries(
        {"sse.py": 'from mcp.server.lowlevel import Server\n\nserver = Server("web")\n'}
    )
    assert found == []


CREW = '''
    """The research crew."""
    from crewai import Agent, Crew, Process, Task
    from crewai.project import CrewBase, agent, crew, task


    @CrewBase
    class Research:
        @crew
        def crew(self) -> Crew:
            return Crew(agents=self.agents, tasks=self.tasks, process=Process.sequential)
'''


def test_crewai_project_layout(entries) -> None:
    found = entries(
        {
            "pyproject.toml": "[project]\nname = 'research'\ndependencies = ['crewai']\n",
            "src/research/__init__.py": "",
            "src/research/crew.py": CREW,
            "src/research/main.py": """
                from research.crew import Research


                def train():
                    Research().crew().train(n_iterations=2)


                def run():
                    Research().crew().kickoff(inputs={"topic": "AI"})
            """,
        }
    )
    assert found == [
        EntryPointFinding(
            kind="agent",
            name="research",
            module="research.main",
            function="run",
            file="src/research/main.py",
            line=8,
            framework="crewai",
            evidence=[
                Evidence(file="src/research/crew.py", line=6, detail="@CrewBase"),
                Evidence(file="src/research/main.py", line=8, detail="def run():"),
            ],
        )
    ]


def test_crewai_flow_kicks_off_its_crews_from_the_package_main(entries) -> None:
    found = entries(
        {
            "src/book/__init__.py": "",
            "src/book/main.py": """
                from crewai.flow.flow import Flow

                class BookFlow(Flow):
                    pass

                def kickoff():
                    BookFlow().kickoff()
            """,
            "src/book/crews/outline/__init__.py": "",
            "src/book/crews/outline/outline_crew.py": CREW,
            "src/book/crews/chapter/__init__.py": "",
            "src/book/crews/chapter/chapter_crew.py": CREW,
        }
    )
    assert [(e.name, e.module, e.function, e.file, e.line, e.evidence[0].file) for e in found] == [
        (
            "book",
            "book.main",
            "kickoff",
            "src/book/main.py",
            6,
            "src/book/crews/chapter/chapter_crew.py",
        )
    ]


def test_crewai_crew_without_a_kickoff_function_points_at_the_class(entries) -> None:
    found = entries({"crew.py": CREW})
    assert [(e.name, e.module, e.function, e.line, e.confidence) for e in found] == [
        ("crew", "crew", "Research", 7, 0.6)
    ]


def test_langgraph_json_declares_the_graphs(entries) -> None:
    found = entries(
        {
            "agents/langgraph.json": """
                {
                  "dependencies": ["."],
                  "graphs": {
                    "chat": "./src/chat/graph.py:graph",
                    "planner": {"path": "planner.agent:make_graph"},
                    "missing": "./gone.py:graph"
                  }
                }
            """,
            "agents/src/chat/__init__.py": "",
            "agents/src/chat/graph.py": '''
                """A chat agent."""
                from langgraph.graph import StateGraph

                builder = StateGraph(dict)
                graph = builder.compile()
            ''',
            "agents/planner/agent.py": """
                from langgraph.graph import StateGraph

                def make_graph(config):
                    return StateGraph(dict).compile()
            """,
        }
    )
    config = "agents/langgraph.json"
    assert found == [
        EntryPointFinding(
            kind="agent",
            name="chat",
            root="agents",
            module="chat.graph",
            function="graph",
            file="agents/src/chat/graph.py",
            line=5,
            framework="langgraph",
            description="A chat agent.",
            evidence=[
                Evidence(file=config, line=4, detail='"chat": "./src/chat/graph.py:graph",'),
                Evidence(
                    file="agents/src/chat/graph.py", line=5, detail="graph = builder.compile()"
                ),
            ],
        ),
        EntryPointFinding(
            kind="agent",
            name="planner",
            root="agents",
            module="planner.agent",
            function="make_graph",
            file="agents/planner/agent.py",
            line=3,
            framework="langgraph",
            evidence=[
                Evidence(
                    file=config, line=5, detail='"planner": {"path": "planner.agent:make_graph"},'
                ),
                Evidence(file="agents/planner/agent.py", line=3, detail="def make_graph(config):"),
            ],
        ),
        EntryPointFinding(
            kind="agent",
            name="missing",
            root="agents",
            function="graph",
            file=config,
            line=6,
            framework="langgraph",
            evidence=[Evidence(file=config, line=6, detail='"missing": "./gone.py:graph"')],
        ),
    ]


def test_compiled_graph_without_langgraph_json(entries) -> None:
    found = entries(
        {
            "agent.py": """
                from langgraph.graph import END, StateGraph
                from langgraph.prebuilt import create_react_agent

                workflow = StateGraph(dict)
                workflow.add_edge("a", END)
                app = workflow.compile(checkpointer=None)
                direct = StateGraph(dict).compile()
                react = create_react_agent("model", tools=[])
                other = compile("1", "x", "eval")
            """,
        }
    )
    assert found[0] == EntryPointFinding(
        kind="agent",
        name="app",
        module="agent",
        function="app",
        file="agent.py",
        line=6,
        framework="langgraph",
        evidence=[
            Evidence(file="agent.py", line=6, detail="app = workflow.compile(checkpointer=None)")
        ],
        confidence=0.7,
    )
    assert [(e.function, e.line) for e in found] == [("app", 6), ("direct", 7), ("react", 8)]


def test_langgraph_typed_dict_state_is_the_graphs_input(entries) -> None:
    found = entries(
        {
            "graph.py": '''
                from typing import Annotated, TypedDict

                from langgraph.graph import StateGraph, add_messages
                from typing_extensions import NotRequired


                class Base(TypedDict, total=False):
                    thread: str


                class State(Base):
                    """What the chat agent works on."""

                    messages: Annotated[list, add_messages]
                    topic: NotRequired[str]
                    retries: int


                builder = StateGraph(State)
                graph = builder.compile()
            ''',
        }
    )
    assert found[0].interface == Interface(
        framework="signature",
        description="What the chat agent works on.",
        parameters={
            "type": "object",
            "properties": {
                "thread": {"type": "string"},
                "messages": {"type": "array"},
                "topic": {"type": "string"},
                "retries": {"type": "integer"},
            },
            "required": ["messages", "retries"],
            "additionalProperties": False,
        },
        evidence=Evidence(file="graph.py", line=11, detail="class State(Base):"),
    )


def test_langgraph_input_schema_is_preferred_to_the_state(entries) -> None:
    found = entries(
        {
            "langgraph.json": '{"graphs": {"research": "./agent.py:make_graph"}}',
            "agent.py": """
                from typing import TypedDict

                from langgraph.graph import StateGraph


                class InputState(TypedDict):
                    question: str


                class State(InputState):
                    notes: list[str]


                def make_graph(config):
                    builder = StateGraph(State, input=InputState)
                    return builder.compile()
            """,
        }
    )
    assert [(e.function, e.interface) for e in found] == [
        (
            "make_graph",
            Interface(
                framework="signature",
                parameters={
                    "type": "object",
                    "properties": {"question": {"type": "string"}},
                    "required": ["question"],
                    "additionalProperties": False,
                },
                evidence=Evidence(file="agent.py", line=6, detail="class InputState(TypedDict):"),
            ),
        )
    ]


def test_langgraph_dataclass_state_fields_with_defaults_are_optional(entries) -> None:
    found = entries(
        {
            "agent.py": """
                from dataclasses import dataclass, field
                from typing import ClassVar

                from langgraph.graph import StateGraph


                @dataclass(kw_only=True)
                class State:
                    query: str
                    limit: int = 5
                    sources: list[str] = field(default_factory=list)
                    mode: str = field(default="fast")
                    label: ClassVar[str] = "state"


                graph = StateGraph(input_schema=State, state_schema=dict).compile()
                unknown = StateGraph(Missing).compile()
            """,
        }
    )
    assert [(e.function, e.interface) for e in found] == [
        (
            "graph",
            Interface(
                framework="signature",
                parameters={
                    "type": "object",
                    "properties": {
                        "query": {"type": "string"},
                        "limit": {"type": "integer", "default": 5},
                        "sources": {"type": "array", "items": {"type": "string"}},
                        "mode": {"type": "string", "default": "fast"},
                    },
                    "required": ["query"],
                    "additionalProperties": False,
                },
                evidence=Evidence(file="agent.py", line=8, detail="class State:"),
            ),
        ),
        ("unknown", None),
    ]


def test_langgraph_pydantic_state_is_read_as_a_model(entries) -> None:
    found = entries(
        {
            "agent.py": """
                from langgraph.graph import StateGraph
                from pydantic import BaseModel, Field


                class State(BaseModel):
                    city: str = Field(description="Where to look.")
                    days: int = 3


                graph = StateGraph(State).compile()
            """,
        }
    )
    assert found[0].interface == Interface(
        framework="signature",
        parameters={
            "type": "object",
            "properties": {
                "city": {"type": "string", "description": "Where to look."},
                "days": {"type": "integer", "default": 3},
            },
            "required": ["city"],
            "additionalProperties": False,
        },
        evidence=Evidence(file="agent.py", line=5, detail="class State(BaseModel):"),
    )


def test_autogpt_forge_agent_started_from_its_package(entries) -> None:
    found = entries(
        {
            "forge/pyproject.toml": "[project]\nname = 'forge'\n",
            "forge/forge/__init__.py": "",
            "forge/forge/__main__.py": """
                import uvicorn

                if __name__ == "__main__":
                    uvicorn.run("forge.app:app")
            """,
            "forge/forge/app.py": """
                from forge.agent.forge_agent import ForgeAgent

                app = ForgeAgent().get_agent_app()
            """,
        }
    )
    assert found[-1] == EntryPointFinding(
        kind="agent",
        name="forge",
        root="forge",
        command=["python", "-m", "forge"],
        module="forge.__main__",
        file="forge/forge/__main__.py",
        line=3,
        framework="autogpt",
        evidence=[
            Evidence(file="forge/forge/__main__.py", line=3, detail='if __name__ == "__main__":')
        ],
        confidence=0.8,
    )
    assert [e.kind for e in found] == ["python_module", "agent"]


def test_agent_protocol_agent_without_a_visible_start(entries) -> None:
    found = entries(
        {"handlers.py": "from agent_protocol import Agent, Step, Task\n\nAgent.setup_agent(1, 2)\n"}
    )
    assert [(e.name, e.command, e.module, e.line, e.confidence) for e in found] == [
        ("handlers", None, "handlers", 1, 0.5)
    ]


def test_unparsable_and_unrelated_files_give_nothing(entries) -> None:
    found = entries(
        {
            "broken.py": 'if __name__ == "__main__":\n    main(\n',
            "lib.py": "def helper():\n    return 1\n",
            "image.py": b"\x89PNG\x00\x00__main__",
        }
    )
    assert found == []
