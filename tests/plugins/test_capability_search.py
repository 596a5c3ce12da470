"""The capability index follows the registry: install, update and remove change what semantic
search can find, without a search in between (real installs, real Chroma under MARK1_HOME)."""

from __future__ import annotations

from collections.abc import Callable

from assistant.config import load_settings
from assistant.memory_access import capability_index
from assistant.plugins.capability_search import capability_text
from assistant.plugins.manifest import Capability
from assistant.plugins.registry import CapabilityRow
from tests.conftest import CSV_PLUGIN_MANIFEST, CliResult, Repo

Cli = Callable[..., CliResult]


def indexed() -> dict[str, str]:
    """What the index holds now: qualified name -> digest of the embedded text."""
    index = capability_index(load_settings())
    return {id: meta["digest"] for id, meta in index.vectors.metadatas(index.space).items()}


def test_install_update_and_remove_keep_the_index_in_step(csv_plugin: Repo, cli: Cli) -> None:
    installed = cli("plugin", "install", str(csv_plugin.path))
    assert installed.code == 0, installed.err
    first = indexed()
    assert list(first) == ["csvtool.count"]

    csv_plugin.commit(
        {
            "mark1.plugin.yml": CSV_PLUGIN_MANIFEST.replace(
                "Count the rows of a CSV file and write the count to a file",
                "Count the lines of a spreadsheet export",
            )
        },
        "describe it differently",
    )
    assert cli("plugin", "update", "csvtool").code == 0
    second = indexed()
    assert list(second) == ["csvtool.count"] and second != first  # re-embedded

    assert cli("plugin", "remove", "csvtool", "--yes").code == 0
    assert indexed() == {}


def test_the_embedded_text_says_what_a_request_would_say() -> None:
    capability = Capability.model_validate(
        {
            "name": "compress_images",
            "description": "Shrink JPEG and PNG files",
            "tags": ["photos"],
            "input_formats": ["jpg", "png"],
            "output_formats": ["jpg"],
            "parameters": {
                "type": "object",
                "properties": {"quality": {"type": "integer", "description": "1 to 100"}},
            },
            "entry_point": {"type": "cli", "command": ["squash"]},
        }
    )
    text = capability_text(CapabilityRow("imgtool", True, capability))
    assert text == (
        "compress images: Shrink JPEG and PNG files. tags: photos. takes jpg, png. gives jpg."
        " parameters: quality (1 to 100). plugin imgtool"
    )
