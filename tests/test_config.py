"""Layered settings and `mark1 config` / `mark1 init`."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from assistant import paths
from assistant.config import load_settings
from assistant.errors import ConfigError
from tests.conftest import CliResult

Cli = Callable[..., CliResult]


def test_every_path_follows_mark1_home(mark1_home: Path) -> None:
    for place in (
        paths.config_dir(),
        paths.data_dir(),
        paths.cache_dir(),
        paths.log_dir(),
        paths.db_path(),
        paths.plugins_dir(),
        paths.default_workspace(),
    ):
        assert mark1_home in place.parents
    assert not mark1_home.exists(), "computing paths creates nothing"


def test_layers_apply_in_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """defaults < user file < project file < MARK1_* env < flags."""
    assert load_settings().run.timeout == 300
    paths.config_file().parent.mkdir(parents=True)
    paths.config_file().write_text("[run]\ntimeout = 10\nkill_grace = 1\n")
    assert load_settings().run.timeout == 10
    project = tmp_path / "proj" / "sub"
    project.mkdir(parents=True)
    (tmp_path / "proj" / ".mark1").mkdir()
    (tmp_path / "proj" / ".mark1" / "config.toml").write_text("[run]\ntimeout = 20\n")
    monkeypatch.chdir(project)
    settings = load_settings()
    assert (settings.run.timeout, settings.run.kill_grace) == (20, 1), "project over user, merged"
    monkeypatch.setenv("MARK1_RUN__TIMEOUT", "30")
    assert load_settings().run.timeout == 30
    assert load_settings(run={"timeout": 40}).run.timeout == 40


def test_bad_config_file_names_the_file_and_key() -> None:
    paths.config_file().parent.mkdir(parents=True)
    paths.config_file().write_text("[run]\ntimeout = -1\n")
    with pytest.raises(ConfigError) as err:
        load_settings()
    assert str(err.value.where) == str(paths.config_file())
    assert "run.timeout" in err.value.message
    paths.config_file().write_text("[run]\ntimout = 5\n")
    with pytest.raises(ConfigError, match="unknown setting 'run.timout'"):
        load_settings()
    paths.config_file().write_text("[run\n")
    with pytest.raises(ConfigError, match="invalid TOML"):
        load_settings()


def test_config_commands(cli: Cli) -> None:
    assert cli("config", "get", "run.timeout").out.strip() == "300.0"
    assert cli("config", "set", "run.timeout", "45").code == 0
    assert json.loads(cli("config", "get", "run.timeout", "--json").out) == 45.0
    assert "timeout = 45.0" in paths.config_file().read_text()
    bad = cli("config", "set", "run.timeout", "soon")
    assert bad.code == 2 and "not a valid value for run.timeout" in bad.err
    unknown = cli("config", "set", "run.timeot", "5")
    assert unknown.code == 2 and "unknown setting" in unknown.err and "run.timeout" in unknown.err
    listing = json.loads(cli("config", "list", "--json").out)
    assert listing["run.timeout"] == 45.0 and "install.depth" in listing
    assert cli("config", "unset", "run.timeout").code == 0
    assert cli("config", "get", "run.timeout").out.strip() == "300.0"
    assert cli("config", "path").out.strip() == str(paths.config_file())


def test_init_creates_and_reports_everything(cli: Cli, tmp_path: Path) -> None:
    result = cli("init", "--workspace", str(tmp_path / "ws"), "--json")
    assert result.code == 0, result.err
    places = json.loads(result.out)
    assert places["workspace"] == str(tmp_path / "ws") and (tmp_path / "ws").is_dir()
    assert Path(places["database"]).is_file()
    assert load_settings().workspace == tmp_path / "ws"
    again = cli("init")
    assert again.code == 0 and str(tmp_path / "ws") in again.out, "init is repeatable"


def test_a_relative_workspace_is_fixed_where_it_was_typed(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert cli("config", "set", "workspace", "ws", "--json").code == 0
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    assert cli("config", "get", "workspace").out.strip() == str(tmp_path / "ws")
