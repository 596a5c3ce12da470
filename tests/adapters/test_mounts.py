"""The sandbox's folders as bwrap mounts: the most specific rule wins, whatever the order the
policy lists them in, and a hidden folder inside another costs no mount."""

from __future__ import annotations

from pathlib import Path

from adapters.sandbox import SandboxPolicy, mounts


def test_mounts_go_from_the_widest_folder_to_the_narrowest(tmp_path: Path) -> None:
    home = tmp_path / "home"
    data = home / ".local" / "mark1"
    src = data / "plugins" / "p" / "src"
    work = data / "runs" / "r1"
    shared = tmp_path / "shared"
    for folder in (src, work, shared / "out", home / ".config"):
        folder.mkdir(parents=True)
    policy = SandboxPolicy(
        workdir=work,
        hidden=(home, data, home / ".config", tmp_path / "missing"),
        read_only=(src, tmp_path),  # a grant wide enough to contain the home folder
        read_write=(shared / "out",),
    )
    assert mounts(policy) == [
        *("--ro-bind", str(tmp_path), str(tmp_path)),
        *("--tmpfs", str(home)),  # hidden again inside the grant; data and .config with it
        *("--bind", str(shared / "out"), str(shared / "out")),
        *("--bind", str(work), str(work)),
        *("--ro-bind", str(src), str(src)),  # the plugin's files, bound back on top
    ]


def test_a_hidden_folder_inside_a_shared_one_gets_its_own_mount(tmp_path: Path) -> None:
    home, data = tmp_path / "home", tmp_path / "home" / "code" / "mark1"
    data.mkdir(parents=True)
    policy = SandboxPolicy(
        workdir=tmp_path, hidden=(home, data), read_only=(home / "code",), read_write=()
    )
    assert mounts(policy) == [
        *("--bind", str(tmp_path), str(tmp_path)),
        *("--tmpfs", str(home)),
        *("--ro-bind", str(home / "code"), str(home / "code")),
        *("--tmpfs", str(data)),  # inside the shared folder: hidden again
    ]
