"""The file names of an Aktenauszug (pure)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ews.casefile.export import file_slug, planned_files
from ews.register.case_entries import CaseDocument, CaseEntry
from ews.register.case_file import CaseFile


@pytest.mark.parametrize(("text", "slug"), [
    ("Eingangsbestätigung", "Eingangsbestaetigung"),
    ("Gemeinsame Erklärung", "Gemeinsame_Erklaerung"),
    ("Freistellung unterschrieben", "Freistellung_unterschrieben"),
    ("Straße/Übersicht: ÄÖÜ", "Strasse_Uebersicht_AeOeUe"),
    ("a\u0308", "ae"),  # decomposed umlaut
    ("…", "Dokument"),
    ("x" * 100, "x" * 60),
])
def test_file_slugs_are_ascii(text: str, slug: str) -> None:
    assert file_slug(text) == slug


def test_files_are_numbered_in_the_order_of_the_entries_with_their_suffix() -> None:
    first = datetime(2026, 11, 30, 23, 30, tzinfo=UTC)  # 1 December in Berlin
    case = CaseFile(az="13.0.70-001/2026", kommune="Stadt X", ags="05962024",
                    round_name="EWS 6", azs=("13.0.70-001/2026",), entries=(
        CaseEntry(first, "brief", "Brief: Eingangsbestätigung", "", (
            CaseDocument("Eingangsbestätigung", "/a/2026-12-01 Eingangsbestätigung.PDF"),)),
        CaseEntry(first, "entscheidung", "Entscheidung", ""),
        CaseEntry(first, "post_ein", "Post", "", (
            CaseDocument("E-Mail", "s3://bucket/mail/1-2__AW Frage.eml"),
            CaseDocument("Anhang ohne Endung", "/b/anhang")))))
    assert [(item.entry, item.name) for item in planned_files(case)] == [
        (0, "001_2026-12-01_Eingangsbestaetigung.pdf"),
        (2, "002_2026-12-01_E-Mail.eml"),
        (2, "003_2026-12-01_Anhang_ohne_Endung")]
