"""Letters planned in the register, written as .docx into the case folders of the outbox
(I/O: files through the store; no database)."""

from __future__ import annotations

from ews.core.models import LETTER_TITLES, LetterState
from ews.core.names import safe_title
from ews.letters.render import LetterData, letter_bytes
from ews.register.schema import LetterRow
from ews.runtime import storage
from ews.runtime.settings import Settings

PlannedLetter = tuple[int, LetterData, str]  # letter id, its data, where its .docx goes


def letter_path(data: LetterData, settings: Settings) -> str:
    """Where a letter goes: one folder per case in the outbox (or the store's ``ausgang``)."""
    folder_name = safe_title(f"{data.reference} {data.kommune_name}")
    return storage.output_store(settings).location(
        f"{folder_name}/{data.letter_date:%Y-%m-%d} {LETTER_TITLES[data.kind]}.docx")


def planned_letters(letters: list[LetterRow]) -> list[PlannedLetter]:
    """Those of an input's letters that still have to be rendered."""
    return [(letter.id, LetterData.model_validate(letter.data), letter.docx_path)
            for letter in letters if letter.state == LetterState.PLANNED]


def render_planned(letters: list[PlannedLetter], settings: Settings) -> None:
    """Stage 2 (no database): write the .docx files; rendering again overwrites them."""
    if not letters:
        return
    store = storage.output_store(settings)
    for _letter_id, data, location in letters:
        store.put(location, letter_bytes(data, settings.office, settings.templates_dir))
