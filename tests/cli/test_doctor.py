"""`mark1 doctor` reports on the real machine: the tools, the sandbox, config and database."""

from __future__ import annotations

import json
from collections.abc import Callable

from assistant import paths
from tests.conftest import CliResult


def test_doctor_checks_this_machine(cli: Callable[..., CliResult]) -> None:
    result = cli("doctor", "--json")
    report = json.loads(result.out)
    checks = {c["name"]: c for c in report["checks"]}
    assert {"python", "git", "sandbox", "configuration", "database", "workspace"} <= set(checks)
    assert result.code == (0 if report["ok"] else 1)
    assert checks["database"]["detail"] == str(paths.db_path())


def test_doctor_names_a_broken_config_file(cli: Callable[..., CliResult]) -> None:
    paths.config_file().parent.mkdir(parents=True)
    paths.config_file().write_text("[run]\ntimeout = 'soon'\n")
    result = cli("doctor")
    assert result.code == 1
    assert f"✗ configuration: {paths.config_file()}" in result.out
