"""The StrEnum states of core/models: their values are the register's and --json's strings."""

from __future__ import annotations

import json

from ews.core.models import (
    CircularSendState,
    CircularState,
    Decision,
    DeclarationState,
    InputState,
    LetterState,
    MailKind,
    MailState,
    OutboxState,
    WatcherState,
    final_letter_states,
)


def test_the_values_are_the_strings_in_the_database() -> None:
    assert list(InputState) == ["claimed", "decided", "done"]
    assert list(LetterState) == ["planned", "rendered", "done"]
    assert list(MailState) == ["taken", "done"]
    assert list(MailKind) == ["application", "no_pdf", "automatic", "bounce", "duplicate",
                              "unverified", "staff", "schriftverkehr"]
    assert list(OutboxState) == ["queued", "sending", "sent", "failed", "withheld", "storniert"]
    assert list(Decision) == ["angenommen", "warteliste", "abgelehnt", "zurueckgezogen"]
    assert list(DeclarationState) == ["issued", "returned"]
    assert list(CircularState) == ["ausgegeben", "aufgehoben"]
    assert list(CircularSendState) == ["geplant", "eingereiht", "ohne_adresse", "entfallen"]
    assert list(WatcherState) == ["laeuft", "beendet", "gestoert"]


def test_a_member_is_its_string_in_comparisons_keys_and_json() -> None:
    assert Decision.WAITING == "warteliste" and {"warteliste": 1}[Decision.WAITING] == 1
    assert f"{Decision.WAITING} (Rang 2)" == "warteliste (Rang 2)"
    assert json.dumps({"state": OutboxState.SENT}) == '{"state": "sent"}'


def test_final_letter_states_depend_on_whether_pdfs_are_made() -> None:
    assert final_letter_states(True) == {"done"}
    assert final_letter_states(False) == {"rendered", "done"}
