"""Hidden dependencies: third-party modules the code imports that no dependency file declares.

A bare script with ``import cv2`` and no requirements file is common; installing it needs
``opencv-python``, a name the import does not tell. Imports are read with ``ast`` (never
executed). Not counted: the standard library, the repository's own modules, relative and
``__future__`` imports, imports guarded by ``except ImportError`` (the code runs without them;
a bare ``except`` or ``except Exception`` guards too), imports under ``if TYPE_CHECKING:``,
and files that only tests, docs or packaging run (tests/, test_*.py, *_test.py, conftest.py,
docs/, setup.py, noxfile.py).

For namespace packages (``google``, ``azure``) the top-level name says nothing, so the
reported ``module`` is the dotted name that picks the distribution: ``google.cloud.storage``
-> ``google-cloud-storage``, ``azure.identity`` -> ``azure-identity``.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import PurePosixPath

from assistant.plugins.analysis.files import MentionedLines, RepoFiles
from assistant.plugins.analysis.profile import (
    MAX_EVIDENCE,
    Dependency,
    Evidence,
    HiddenDependency,
    evidence_at,
)
from assistant.plugins.analysis.python_packaging import normalize_name

# Import name -> the distribution pip installs it from, where the two differ.
IMPORT_TO_DISTRIBUTION: dict[str, str] = {
    "AppKit": "pyobjc",
    "Bio": "biopython",
    "Crypto": "pycryptodome",
    "Cryptodome": "pycryptodomex",
    "Foundation": "pyobjc",
    "MySQLdb": "mysqlclient",
    "OpenGL": "pyopengl",
    "OpenSSL": "pyopenssl",
    "PIL": "pillow",
    "Quartz": "pyobjc-framework-quartz",
    "RPi": "rpi-gpio",
    "Xlib": "python-xlib",
    "apiclient": "google-api-python-client",
    "argon2": "argon2-cffi",
    "attr": "attrs",
    "barcode": "python-barcode",
    "bluetooth": "pybluez",
    "board": "adafruit-blinka",
    "bs4": "beautifulsoup4",
    "bson": "pymongo",
    "cairo": "pycairo",
    "camelot": "camelot-py",
    "can": "python-can",
    "cassandra": "cassandra-driver",
    "community": "python-louvain",
    "corsheaders": "django-cors-headers",
    "cpuinfo": "py-cpuinfo",
    "cv2": "opencv-python",
    "dateutil": "python-dateutil",
    "dbus": "dbus-python",
    "decouple": "python-decouple",
    "discord": "discord-py",
    "dns": "dnspython",
    "docx": "python-docx",
    "dotenv": "python-dotenv",
    "engineio": "python-engineio",
    "environ": "django-environ",
    "faiss": "faiss-cpu",
    "ffmpeg": "ffmpeg-python",
    "fitz": "pymupdf",
    "fpdf": "fpdf2",
    "gi": "pygobject",
    "git": "gitpython",
    "github": "pygithub",
    "gitlab": "python-gitlab",
    "google.protobuf": "protobuf",
    "googleapiclient": "google-api-python-client",
    "gridfs": "pymongo",
    "grpc": "grpcio",
    "grpc_tools": "grpcio-tools",
    "imblearn": "imbalanced-learn",
    "jenkins": "python-jenkins",
    "jose": "python-jose",
    "jwt": "pyjwt",
    "kafka": "kafka-python",
    "ldap": "python-ldap",
    "llama_cpp": "llama-cpp-python",
    "magic": "python-magic",
    "markdown_it": "markdown-it-py",
    "memcache": "python-memcached",
    "mpl_toolkits": "matplotlib",
    "multipart": "python-multipart",
    "mysql": "mysql-connector-python",
    "nacl": "pynacl",
    "nats": "nats-py",
    "newspaper": "newspaper3k",
    "nmap": "python-nmap",
    "objc": "pyobjc",
    "odf": "odfpy",
    "opensearchpy": "opensearch-py",
    "osgeo": "gdal",
    "paho": "paho-mqtt",
    "pdfminer": "pdfminer-six",
    "pkg_resources": "setuptools",
    "pptx": "python-pptx",
    "pydispatch": "pydispatcher",
    "pylab": "matplotlib",
    "pythoncom": "pywin32",
    "pywintypes": "pywin32",
    "pyximport": "cython",
    "rest_framework": "djangorestframework",
    "rtmidi": "python-rtmidi",
    "ruamel": "ruamel-yaml",
    "sdl2": "pysdl2",
    "serial": "pyserial",
    "shapefile": "pyshp",
    "skimage": "scikit-image",
    "sklearn": "scikit-learn",
    "skopt": "scikit-optimize",
    "slack": "slackclient",
    "slugify": "python-slugify",
    "snappy": "python-snappy",
    "socketio": "python-socketio",
    "socks": "pysocks",
    "speech_recognition": "speechrecognition",
    "surprise": "scikit-surprise",
    "tabula": "tabula-py",
    "telegram": "python-telegram-bot",
    "umap": "umap-learn",
    "usb": "pyusb",
    "vertexai": "google-cloud-aiplatform",
    "vlc": "python-vlc",
    "weaviate": "weaviate-client",
    "websocket": "websocket-client",
    "whisper": "openai-whisper",
    "whois": "python-whois",
    "win32api": "pywin32",
    "win32com": "pywin32",
    "win32con": "pywin32",
    "win32gui": "pywin32",
    "wx": "wxpython",
    "yaml": "pyyaml",
    "zmq": "pyzmq",
}
# Other distributions that provide the same import: declaring any of them declares it.
ALSO_PROVIDED_BY: dict[str, tuple[str, ...]] = {
    "Crypto": ("pycrypto",),
    "PIL": ("pillow-simd",),
    "bs4": ("bs4",),
    "cv2": (
        "opencv-python-headless",
        "opencv-contrib-python",
        "opencv-contrib-python-headless",
        "opencv",
        "py-opencv",
    ),
    "faiss": ("faiss-gpu",),
    "fpdf": ("fpdf",),
    "magic": ("python-magic-bin",),
    "psycopg2": ("psycopg2-binary",),
    "sklearn": ("sklearn",),
    "tensorflow": ("tensorflow-cpu", "tensorflow-gpu", "tf-nightly"),
    "torch": ("pytorch",),
    # Always installed by a framework the code is built on: importing them with only the
    # framework declared is how such projects are written, not a missing dependency.
    "pydantic": ("fastapi", "pydantic-settings", "sqlmodel", "openai", "anthropic", "langchain"),
    "starlette": ("fastapi",),
    "click": ("typer", "flask"),
    "jinja2": ("flask",),
    "werkzeug": ("flask",),
    "httpx": ("openai", "anthropic"),
}
# Namespace packages: how many dotted parts of an import name the distribution.
NAMESPACE_DEPTH = {
    "google": 2,
    "google.cloud": 3,
    "azure": 2,
    "azure.ai": 3,
    "azure.keyvault": 3,
    "azure.mgmt": 3,
    "azure.storage": 3,
}
TEST_AND_DOC_FOLDERS = frozenset(
    {"test", "tests", "testing", "doc", "docs", "docs_src", "examples", "example", "benchmarks"}
)
# Modules of Windows-only packages: a Linux environment cannot install them, so code that
# imports them does so on Windows only.
WINDOWS_ONLY = frozenset({"win32api", "win32con", "win32job", "win32com", "pywintypes", "wmi"})
NOT_RUNTIME_FILES = frozenset({"conftest.py", "setup.py", "noxfile.py"})
IMPORT_ERRORS = frozenset({"ImportError", "ModuleNotFoundError", "Exception", "BaseException"})
LOCAL_SUFFIXES = (".py", ".pyi", ".pyx")
COMPOUND_STATEMENTS = (
    ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.If, ast.For, ast.AsyncFor,
    ast.While, ast.With, ast.AsyncWith, ast.Try, ast.TryStar, ast.Match,
)  # fmt: skip


def hidden_dependencies(files: RepoFiles, declared: list[Dependency]) -> list[HiddenDependency]:
    """Third-party imports of the code that run needs and no python/conda dependency declares,
    sorted by module, each with up to five import lines as evidence."""
    local = local_names(files)
    declared_names = {
        normalize_name(d.name) for d in declared if d.ecosystem in ("python", "conda")
    }
    evidence: dict[str, list[Evidence]] = {}
    for path, module, line in runtime_imports(files):
        top = module.split(".")[0]
        if top in local or top in WINDOWS_ONLY or _in_stdlib(top):
            continue
        if providers(module) & declared_names:
            continue
        found = evidence.setdefault(module, [])
        if len(found) < MAX_EVIDENCE:
            found.append(evidence_at(path, files.lines(path), line))
    return [
        HiddenDependency(module=module, distribution=distribution_for(module), evidence=items)
        for module, items in sorted(evidence.items(), key=lambda kv: (kv[0].lower(), kv[0]))
    ]


def _in_stdlib(top: str) -> bool:
    """Standard library, also under its Python 2 name (``SocketServer``, ``ConfigParser``)."""
    return top in sys.stdlib_module_names or top.lower() in sys.stdlib_module_names


def distribution_for(module: str) -> str:
    """What to pip install for an import (`PIL.Image` -> `pillow`,
    `google.cloud.storage` -> `google-cloud-storage`); otherwise the name normalised."""
    key = import_key(module)
    top = key.split(".")[0]
    known = IMPORT_TO_DISTRIBUTION.get(key) or IMPORT_TO_DISTRIBUTION.get(top)
    return known or normalize_name(key)


def import_key(module: str) -> str:
    """The part of a dotted import that names its distribution: the top-level name, or more
    parts inside a namespace package (`google.cloud.storage.Client` -> `google.cloud.storage`)."""
    parts = module.split(".")
    depth = 1
    for size in range(len(parts), 0, -1):
        depth = NAMESPACE_DEPTH.get(".".join(parts[:size]), 0)
        if depth:
            break
    return ".".join(parts[: max(depth, 1)])


def providers(module: str) -> set[str]:
    """Every normalised distribution name whose declaration covers this import."""
    key = import_key(module)
    alternatives = ALSO_PROVIDED_BY.get(key, ())
    return {distribution_for(key), normalize_name(key), *map(normalize_name, alternatives)}


def local_names(files: RepoFiles) -> set[str]:
    """Every name the repository itself can satisfy: each module file's stem and each folder
    holding Python files (packages, src/ layouts, a script's sibling modules)."""
    names: set[str] = set()
    for path in files.with_suffix(*LOCAL_SUFFIXES):
        pure = PurePosixPath(path)
        names.add(pure.name.split(".")[0])
        names.update(pure.parent.parts)
    return names


def is_runtime_file(path: str) -> bool:
    """False for tests, docs and packaging scripts: what they import is not needed to run."""
    pure = PurePosixPath(path)
    name = pure.name
    return not (
        TEST_AND_DOC_FOLDERS.intersection(pure.parent.parts)
        or name in NOT_RUNTIME_FILES
        or name.startswith("test_")
        or name.endswith("_test.py")
    )


def runtime_imports(files: RepoFiles) -> Iterator[tuple[str, str, int]]:
    """(file, import key, line) of every required absolute import, files in path order."""
    for path in files.with_suffix(".py"):
        text = files.text(path)
        if not text or "import" not in text or not is_runtime_file(path):
            continue
        tree = files.python(path)
        if tree is not None:
            for module, line in imports_in(tree.body, MentionedLines(text, "import")):
                yield path, module, line


def imports_in(body: list[ast.stmt], lines: MentionedLines) -> Iterator[tuple[str, int]]:
    """(import key, line) in these statements and the ones nested in them. Only statements are
    visited, never expressions: imports are statements, and this keeps the walk cheap."""
    for statement in body:
        if isinstance(statement, ast.Import):
            for alias in statement.names:
                yield import_key(alias.name), statement.lineno
        elif isinstance(statement, ast.ImportFrom):
            yield from from_import_keys(statement)
        elif isinstance(statement, COMPOUND_STATEMENTS) and lines.within(statement):
            for nested in required_bodies(statement):
                yield from imports_in(nested, lines)


def from_import_keys(statement: ast.ImportFrom) -> Iterator[tuple[str, int]]:
    """`from a.b import c` names `a.b.c`, which matters in namespaces (`from google.cloud
    import storage`); relative and `__future__` imports are skipped."""
    if statement.level or not statement.module or statement.module == "__future__":
        return
    module = statement.module
    keys = (import_key(module if a.name == "*" else f"{module}.{a.name}") for a in statement.names)
    for key in dict.fromkeys(keys):  # `from PIL import Image, ImageOps` is one import of PIL
        yield key, statement.lineno


def required_bodies(statement: ast.stmt) -> list[list[ast.stmt]]:
    """The nested statement lists whose imports the program needs: all of them except an
    ImportError-guarded `try` body and an `if TYPE_CHECKING:` body."""
    bodies = [
        value
        for name in ("body", "orelse", "finalbody")
        if isinstance(value := getattr(statement, name, None), list)
    ]
    bodies += [handler.body for handler in getattr(statement, "handlers", ())]
    bodies += [case.body for case in getattr(statement, "cases", ())]
    if isinstance(statement, ast.Try | ast.TryStar) and guards_import_error(statement):
        return [b for b in bodies if b is not statement.body]
    if isinstance(statement, ast.If) and is_type_checking(statement.test):
        return [statement.orelse]
    return bodies


def guards_import_error(statement: ast.Try | ast.TryStar) -> bool:
    return any(
        handler.type is None or caught_names(handler.type) & IMPORT_ERRORS
        for handler in statement.handlers
    )


def caught_names(node: ast.expr) -> set[str]:
    """Exception class names of an `except` clause (`except (ImportError, OSError)`)."""
    if isinstance(node, ast.Tuple):
        return {name for element in node.elts for name in caught_names(element)}
    if isinstance(node, ast.Attribute):
        return {node.attr}
    return {node.id} if isinstance(node, ast.Name) else set()


def is_type_checking(test: ast.expr) -> bool:
    """`if TYPE_CHECKING:` / `if typing.TYPE_CHECKING:`: imports for the type checker only."""
    name = test.attr if isinstance(test, ast.Attribute) else getattr(test, "id", "")
    return name == "TYPE_CHECKING"
