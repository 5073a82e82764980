"""Deleting the files a deletion names, through the store API of their location (I/O:
local folders or any fsspec storage)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from ews.runtime.settings import Settings
from ews.runtime.storage import local_root, open_store


def remove_files(settings: Settings, locations: Iterable[str]) -> int:
    """Delete every location (a missing one counts as deleted); returns how many existed.
    An empty case folder of letters left behind on a local store goes too."""
    existed = 0
    for location in locations:
        local = local_root(location)
        folder: str | Path = local.parent if local is not None else location.rpartition("/")[0]
        store = open_store(folder, settings.storage.options)
        if store.exists(location):
            existed += 1
            store.remove(location)
        output = local_root(settings.output_root)
        if local is not None and output is not None and local.parent.parent == output:
            _drop_if_empty(local.parent)  # a letter's case folder
    return existed


def _drop_if_empty(folder: Path) -> None:
    try:
        folder.rmdir()  # only an empty folder: anything else stays
    except OSError:
        pass
