"""A real plugin for workflow tests, installed from a real git repository.

``wftools`` is a Python CLI whose capabilities cover what the engine must handle: values in
and out, files in several formats, failures that heal after N tries, slow steps, and a
per-instance ledger (``runs.log`` in the step's own folder) that counts how often an instance
really ran, which is how the crash tests prove "exactly once".
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import CliResult, Repo

Cli = Callable[..., CliResult]

WFTOOLS_MANIFEST = """\
schema_version: "1.0"
plugin: {name: wftools, version: 1.0.0, description: Workflow test tools}
capabilities:
  - name: emit
    side_effects: read-only
    parameters:
      type: object
      additionalProperties: false
      properties:
        value: {}
        number: {type: number}
        items: {type: array}
        sleep: {type: number, default: 0}
    stdout: json
  - name: flaky
    description: Fails until it has been run TIMES times in the same folder
    parameters:
      type: object
      required: [times]
      properties: {times: {type: integer}}
    stdout: json
  - name: slow
    parameters:
      type: object
      required: [seconds]
      properties: {seconds: {type: number}, tag: {type: string}}
    stdout: json
  - name: fail
    parameters: {type: object, properties: {message: {type: string}}}
  - name: table
    description: Writes a CSV table of N rows
    outputs: [csv]
    parameters: {type: object, required: [rows], properties: {rows: {type: integer}}}
    produces: [{name: table, path: table.csv, format: csv}]
    stdout: json
  - name: count
    description: Counts the records of a JSON file
    inputs: [json]
    parameters:
      type: object
      required: [data]
      properties: {data: {type: string, format: path}}
    stdout: json
  - name: picture
    outputs: [png]
    parameters: {type: object, properties: {}}
    produces: [{name: image, path: pic.png, format: png}]
  - name: sneaky
    description: Declares as its file a symbolic link to a file outside its folder
    parameters: {type: object, required: [target], properties: {target: {type: string}}}
    produces: [{name: loot, path: loot.txt}]
  - name: deploy
    side_effects: external
    parameters: {type: object, properties: {target: {type: string}, seconds: {type: number}}}
    stdout: json
entry_points:
  - {capability: emit, type: cli, command: python t.py emit}
  - {capability: flaky, type: cli, command: python t.py flaky}
  - {capability: slow, type: cli, command: python t.py slow}
  - {capability: fail, type: cli, command: python t.py fail}
  - {capability: table, type: cli, command: python t.py table}
  - {capability: count, type: cli, command: python t.py count}
  - {capability: picture, type: cli, command: python t.py picture}
  - {capability: sneaky, type: cli, command: python t.py sneaky}
  - {capability: deploy, type: cli, command: python t.py deploy}
"""

WFTOOLS = """\
import json, os, sys, time
cmd, rest = sys.argv[1], sys.argv[2:]
args = {}
for k, v in zip(rest[::2], rest[1::2]):
    args.setdefault(k[2:], []).append(v)
one = {k: v[0] for k, v in args.items()}

def ran():
    with open("runs.log", "a") as f:
        f.write(cmd + "\\n")

if cmd == "emit":
    time.sleep(float(one.get("sleep", 0)))
    out = {}
    if "value" in one:
        try:
            out["value"] = json.loads(one["value"])
        except ValueError:
            out["value"] = one["value"]
    if "number" in one:
        out["number"] = float(one["number"])
    if "items" in args:
        out["items"] = args["items"]
    ran()
    print(json.dumps(out))
elif cmd == "flaky":
    tries = len(open("tries").read()) if os.path.exists("tries") else 0
    open("tries", "a").write("x")
    if tries + 1 < int(one["times"]):
        print(f"not yet: try {tries + 1}", file=sys.stderr)
        sys.exit(1)
    ran()
    print(json.dumps({"tries": tries + 1}))
elif cmd == "slow":
    time.sleep(float(one["seconds"]))
    ran()
    print(json.dumps({"slept": float(one["seconds"]), "tag": one.get("tag")}))
elif cmd == "fail":
    print(one.get("message", "it broke"), file=sys.stderr)
    sys.exit(3)
elif cmd == "table":
    with open("table.csv", "w") as f:
        f.write("n,square\\n" + "".join(f"{i},{i * i}\\n" for i in range(int(one["rows"]))))
    print(json.dumps({"rows": int(one["rows"])}))
elif cmd == "count":
    data = json.load(open(one["data"]))
    print(json.dumps({"records": len(data), "first": data[0] if data else None}))
elif cmd == "picture":
    open("pic.png", "wb").write(b"\\x89PNG\\r\\n\\x1a\\n")
elif cmd == "sneaky":
    os.symlink(one["target"], "loot.txt")
elif cmd == "deploy":
    time.sleep(float(one.get("seconds", 0)))
    ran()
    print(json.dumps({"deployed": one.get("target")}))
"""


@pytest.fixture
def wftools(make_repo: Callable[..., Repo], cli: Cli) -> Repo:
    repo = make_repo("wftools", {"mark1.plugin.yml": WFTOOLS_MANIFEST, "t.py": WFTOOLS})
    result = cli("plugin", "install", str(repo.path), "--yes")
    assert result.code == 0, result.err
    return repo


@pytest.fixture
def workflow_file(tmp_path: Path) -> Callable[[str], Path]:
    """Write a workflow's YAML to a file in ``tmp_path`` and return its path."""

    def write(text: str, name: str = "wf.yml") -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write


def run_json(cli: Cli, path: Path, *args: str) -> tuple[int, dict[str, Any], str]:
    """``mark1 workflow run PATH ARGS --json``: exit code, the JSON result, stderr."""
    result = cli("workflow", "run", str(path), "--json", *args)
    assert result.out.strip(), f"no JSON printed; stderr: {result.err}"
    return result.code, json.loads(result.out), result.err
