"""Subject access and erasure: the export finds a person in an application, two mails and
the roster, as a PDF/A summary with the documents; the erasure takes what may go, shows what
stays and why, and both are logged without content."""

from __future__ import annotations

import json
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from ews.register.database import transaction
from ews.register.retention_tables import DeletionLogRow
from ews.register.schema import MailRow, NetworkMember
from ews.retention.access import find_person
from ews.retention.access_export import export_access
from ews.retention.erasure import erase_person
from ews.runtime.settings import LetterSettings
from tests.integration.retention.conftest import EMAIL, PERSON, TwoRounds, person_elsewhere


def poppler(tool: str, *args: str) -> str:
    return subprocess.run([tool, *args], capture_output=True, text=True, check=True,
                          timeout=60).stdout


def test_finding_is_case_accent_and_address_insensitive(two_rounds: TwoRounds) -> None:
    settings = two_rounds.settings
    person_elsewhere(settings, two_rounds.azs["absage5"], two_rounds.start)
    for query in (PERSON, "dorte uberall-nussbaum", "DÖRTE ÜBERALL", "doerte ueberall",
                  EMAIL.upper(), f"  {EMAIL.lower()} "):
        sources = sorted({f.source for f in find_person(settings, query)})
        assert {"Bewerbung", "E-Mail", "Netzwerkverzeichnis"} <= set(sources), query
    assert find_person(settings, "Niemand Unbekannt") == []


@pytest.mark.libreoffice
def test_access_export_finds_the_application_two_mails_and_the_roster(
        two_rounds: TwoRounds, tmp_path: Path) -> None:
    settings = two_rounds.settings.model_copy(update={"letters": LetterSettings(pdf=True)})
    az = two_rounds.azs["absage5"]
    person_elsewhere(settings, az, two_rounds.start)
    target = tmp_path / "auskunft"

    result = export_access(settings, PERSON.upper(), target, actor="frau.meier",
                           now=two_rounds.start)

    kinds = [(f.table, f.az) for f in result.findings]
    assert ("applications", az) in kinds and ("network_members", None) in kinds
    assert sum(1 for table, _ in kinds if table == "mails") == 2
    xmp = " ".join(poppler("pdfinfo", "-meta", str(result.summary)).split())
    assert "<pdfaid:part>2</pdfaid:part>" in xmp  # the letters' PDF/A-2b check
    assert "<pdfaid:conformance>B</pdfaid:conformance>" in xmp
    fonts = poppler("pdffonts", str(result.summary)).splitlines()[2:]
    assert fonts and all(" yes " in line for line in fonts), fonts
    text = " ".join(poppler("pdftotext", str(result.summary), "-").split())
    assert az in text and "Netzwerkverzeichnis" in text and EMAIL in text
    names = sorted(path.name for path in result.documents)
    assert any(name.endswith(".pdf") and "Bewerbung" in name for name in names)
    assert sum(1 for name in names if name.endswith(".eml")) == 2
    with transaction(settings.db_url) as session:
        log = list(session.scalars(select(DeletionLogRow)))
    assert [row.way for row in log] == ["auskunft"]
    assert "Überall" not in json.dumps([log[0].counts, log[0].record_ids, log[0].note])


def test_erasure_keeps_what_a_duty_holds_and_says_why(two_rounds: TwoRounds) -> None:
    settings = two_rounds.settings
    az = two_rounds.azs["absage5"]
    person_elsewhere(settings, az, two_rounds.start)
    probe = erase_person(settings, EMAIL, reason="Antrag vom 01.12.", actor="frau.meier",
                         now=two_rounds.start, dry_run=True)
    report = erase_person(settings, EMAIL, reason="Antrag vom 01.12.", actor="frau.meier",
                          now=two_rounds.start)

    assert [f.reference for f in probe.erased] == [f.reference for f in report.erased]
    stays = {f.table: why for f, why in report.stays}
    assert "nach dem Bescheid" in stays["applications"]  # within its six months
    erased = {f.table for f in report.erased}
    assert {"mails", "network_members"} <= erased
    with transaction(settings.db_url) as session:
        mails = list(session.scalars(select(MailRow).order_by(MailRow.id)))
        member = session.scalars(select(NetworkMember)).one()
        log = list(session.scalars(select(DeletionLogRow)))
    assert mails[0].sender and mails[1].sender is None  # the case's mail stays, the other not
    assert member.contact_email == "" and member.signed_by == PERSON
    assert log[-1].rule == "antrag-betroffene-person" and log[-1].note == "Antrag vom 01.12."

    later = erase_person(settings, EMAIL, reason="erneut", actor="frau.meier",
                         now=two_rounds.start + timedelta(days=7 * 31))
    assert "applications" in {f.table for f in later.erased}
