"""A whole round over temporary folders, the real register, LibreOffice, Dovecot and SMTP:
25 applications for 17 seats, decisions, a crash between deciding and sending, the notices
(each exactly once), a withdrawal with a move-up, and the signed Gemeinsame Erklärung coming
back once as a scan into the inbox and once as a mail attachment."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import select
from typer.testing import CliRunner

from ews.core.deadlines import BERLIN
from ews.core.models import LetterKind
from ews.intake import passes as intake
from ews.letters.samples import sample_applications
from ews.network.roster import roster
from ews.register.database import session_factory
from ews.register.reports import application_records, journal_records
from ews.register.schema import LetterRow, OutgoingMail
from ews.runtime.settings import LetterSettings, RoundSettings, Settings
from ews.selection import decision_sheet as ds
from ews.selection import decisions as selection
from ews.selection import notices
from flows.cli import app
from tests.conftest import cli_env, open_deadline
from tests.integration.intake.test_mail_intake import OFFICE, application_mail, mail_settings
from tests.support import pdfgen
from tests.support.mailserver import MailboxMissing, MailServers

pytestmark = [pytest.mark.libreoffice, pytest.mark.ocr]

NOW = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)


def _inbox(mail: MailServers, address: str) -> list[EmailMessage]:
    try:
        return [stored.message for stored in mail.dovecot.messages(address)]
    except MailboxMissing:
        return []


def _letters(settings: Settings) -> Counter[tuple[int | None, str]]:
    with session_factory(settings.db_url).begin() as session:
        return Counter((row.application_id, row.kind) for row in session.scalars(
            select(LetterRow)))


def _team_address(record: dict[str, object]) -> str:
    fields = record["fields"]
    assert isinstance(fields, dict)
    return str(fields["team1_email"])


@pytest.fixture
def office(tmp_path: Path, mail: MailServers) -> Settings:
    settings = mail_settings(tmp_path, mail,
                             letters=LetterSettings(pdf=True, timeout_seconds=240),
                             round=RoundSettings(name="EWS 6", deadline=open_deadline(),
                                                 seats=17))
    intake.prepare(settings)
    return settings


def test_a_whole_round_from_25_applications_to_the_network(
        office: Settings, mail: MailServers, monkeypatch: pytest.MonkeyPatch) -> None:
    # 25 applications from 25 municipalities arrive in the inbox
    for name, data in sample_applications(25, seed=2027):
        (office.inbox_dir / name).write_bytes(data)
    results = intake.run_pass(office)
    assert Counter(r.outcome.value for r in results) == {"registered": 25}
    records = sorted(application_records(office), key=lambda r: str(r["az"]))
    azs = [str(r["az"]) for r in records]

    # the office decides in the exported sheet: 17 seats, 3 on the waiting list, 5 rejected;
    # the first attempt has three staff mistakes and changes nothing
    runner = CliRunner()
    sheet_path = office.data_dir / "register.xlsx"
    exported = runner.invoke(app, ["export", str(sheet_path)], env=cli_env(office))
    assert exported.exit_code == 0, exported.output
    wanted = {az: ("angenommen", None, None) for az in azs[:17]}
    wanted |= {az: ("Warteliste", rank, None) for rank, az in enumerate(azs[17:20], start=1)}
    wanted |= {az: ("abgelehnt", None, "plaetze") for az in azs[20:]}
    _fill_sheet(sheet_path, wanted, mistakes=True)
    refused = runner.invoke(app, ["import", str(sheet_path)], env=cli_env(office))
    assert refused.exit_code == 2
    assert "3 Problem(e)" in refused.output and "das Register ist unverändert" in \
        refused.output
    assert "angenomen" in refused.output and "fehlt" in refused.output
    with session_factory(office.db_url).begin() as session:
        assert not selection.accepted(session, "EWS 6")
    again = runner.invoke(app, ["export", str(sheet_path), "--ueberschreiben"],
                          env=cli_env(office))
    assert again.exit_code == 0, again.output
    _fill_sheet(sheet_path, wanted, mistakes=False)
    imported = runner.invoke(app, ["import", str(sheet_path), "--von", "frau.meier"],
                             env=cli_env(office))
    assert imported.exit_code == 0, imported.output
    assert "25 Entscheidung(en) übernommen" in imported.output

    # the service dies between deciding and sending: after the notices were planned
    def crash(_settings: Settings) -> int:
        raise RuntimeError("Stromausfall")

    monkeypatch.setattr(notices, "render_notices", crash)
    with pytest.raises(RuntimeError, match="Stromausfall"):
        notices.send_notices(office, NOW, actor="frau.meier")
    monkeypatch.undo()
    report = notices.send_notices(office, NOW, actor="frau.meier")
    assert report.planned == []  # planned before the crash, written now
    again = notices.send_notices(office, NOW, actor="frau.meier")
    assert again.planned == [] and again.queued == 0 and again.sent == 0

    letters = _letters(office)
    kinds = Counter(kind for (_, kind), count in letters.items() for _ in range(count))
    assert kinds[LetterKind.ZUSAGE.value] == 17
    assert kinds[LetterKind.GEMEINSAME_ERKLAERUNG.value] == 17
    assert kinds[LetterKind.WARTELISTENBESCHEID.value] == 3
    assert kinds[LetterKind.ABSAGE.value] == 5
    assert all(count == 1 for count in letters.values())
    with session_factory(office.db_url).begin() as session:
        sent = session.scalars(select(OutgoingMail).where(OutgoingMail.purpose == "bescheid"))
        assert sorted(row.state for row in sent) == ["sent"] * 25

    # every team got exactly one notice; an accepted one with the declaration as PDF/A
    for record in records:
        [notice] = [m for m in _inbox(mail, _team_address(record))
                    if str(record["az"]) in str(m["Subject"])]
        attached = [part.get_filename() for part in notice.iter_attachments()]
        assert all(name and name.endswith(".pdf") for name in attached)
    first = _inbox(mail, _team_address(records[0]))
    [zusage] = [m for m in first if "Zusage" in str(m["Subject"])]
    assert sorted(p.get_filename() or "" for p in zusage.iter_attachments())[1].endswith(
        "Zusage.pdf")
    assert "freigestellt" in zusage.get_body(("plain",)).get_content()

    # a participant withdraws: the first on the waiting list moves up and gets its letter
    withdrawn = runner.invoke(app, ["decide", azs[4], "zurueckgezogen", "--von", "frau.meier"],
                              env=cli_env(office))
    assert withdrawn.exit_code == 0, withdrawn.output
    assert f"{azs[17]}" in withdrawn.output and "nachgerückt" in withdrawn.output
    moved = notices.send_notices(office, NOW, actor="frau.meier")
    assert [(az, title) for az, _, title in moved.planned] == [
        (azs[17], "Nachrückerzusage"), (azs[17], "Gemeinsame Erklärung")]
    assert moved.sent == 1
    [nachruecker] = [m for m in _inbox(mail, _team_address(records[17]))
                     if "frei geworden" in str(m["Subject"])]
    assert len(list(nachruecker.iter_attachments())) == 2

    # the signed declarations come back: one scanned into the inbox …
    declaration_pdf = _declaration_pdf(office, azs[0])
    (office.inbox_dir / "Scan_0001.pdf").write_bytes(pdfgen.scanned_pages(declaration_pdf,
                                                                          dpi=200))
    # … one as a mail attachment from the municipality's team
    sender = _team_address(records[1])
    mail.dovecot.append(OFFICE, application_mail(
        ("Erklaerung_unterschrieben.pdf", _declaration_pdf(office, azs[1])), sender=sender,
        subject="Unterschriebene Gemeinsame Erklärung"))
    returned = intake.run_pass(office)
    assert sorted((r.outcome.value, r.az) for r in returned) == [
        ("declaration", azs[0]), ("declaration", azs[1])]
    assert len(application_records(office)) == 25  # neither was taken for an application
    journal = {r["source"]: r for r in journal_records(office)}
    assert journal["Scan_0001.pdf"]["az"] == azs[0]

    with session_factory(office.db_url).begin() as session:
        members = {m["ags"]: m for m in roster(session)}
    assert set(members) == {records[0]["ags"], records[1]["ags"]}
    scanned = members[records[0]["ags"]]
    fields0 = records[0]["fields"]
    assert isinstance(fields0, dict)
    assert scanned["unterzeichnet_von"] == fields0["hvb_name"]
    assert scanned["funktion"] == fields0["hvb_funktion"]
    assert scanned["beitritt"] == datetime.now(BERLIN).date().isoformat()  # the receipt day
    assert scanned["quelle"] == "EWS 6"
    confirmations = [kind for (app_id, kind) in _letters(office)
                     if kind == LetterKind.BEITRITTSBESTAETIGUNG.value]
    assert len(confirmations) == 2
    answer = [m for m in _inbox(mail, sender) if "Beitritt" in str(m["Subject"])]
    assert len(answer) == 1
    assert any((p.get_filename() or "").endswith("Beitrittsbestätigung.pdf")
               for p in answer[0].iter_attachments())

    # the roster on the command line
    listed = runner.invoke(app, ["netzwerk", "--json"], env=cli_env(office))
    assert listed.exit_code == 0, listed.output
    assert {json.loads(line)["ags"] for line in listed.output.splitlines()} == set(members)


def _fill_sheet(path: Path, wanted: dict[str, tuple[str, int | None, str | None]], *,
                mistakes: bool) -> None:
    """Staff fill the sheet „Entscheidungen“ in Excel; with ``mistakes``: an Az. changed by
    a slip of the finger, a misspelt decision and a deleted row."""
    book = load_workbook(path)
    sheet = book[ds.SHEET]
    columns = {cell.value: cell.column for cell in sheet[ds.HEADER_ROW]}
    rows = list(range(ds.HEADER_ROW + 1, sheet.max_row + 1))
    for row in rows:
        az = sheet.cell(row, columns[ds.AZ]).value
        decision, rank, reason = wanted[str(az)]
        sheet.cell(row, columns[ds.DECISION]).value = decision
        sheet.cell(row, columns[ds.RANK]).value = float(rank) if rank else None  # Excel: 1.0
        sheet.cell(row, columns[ds.REASON]).value = reason
    if mistakes:
        az_cell = sheet.cell(rows[0], columns[ds.AZ])
        az_cell.value = str(az_cell.value).replace("-0", "-", 1)  # 13.0.70-001 → 13.0.70-01
        sheet.cell(rows[1], columns[ds.DECISION]).value = "angenomen"
        sheet.delete_rows(rows[-1])
    book.save(path)


def _declaration_pdf(settings: Settings, az: str) -> bytes:
    with session_factory(settings.db_url).begin() as session:
        path = session.scalar(select(LetterRow.pdf_path).where(
            LetterRow.reference == az, LetterRow.kind == LetterKind.GEMEINSAME_ERKLAERUNG.value))
    assert path is not None
    return Path(path).read_bytes()
