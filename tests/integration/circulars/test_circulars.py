"""Circulars end to end on the real servers: a draft, a Probelauf, the issue with its number
and PDF/A, one personalised mail per municipality read back from Dovecot, a crash in the
middle of the sending, concurrent numbering by two processes, withdrawal, and a bounce."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import func, select

from ews.circulars.distribution import ListSpec
from ews.circulars.drafts import Draft, create_draft, read_draft
from ews.circulars.issuing import issue_circular
from ews.circulars.mailing import probelauf, send_circulars
from ews.circulars.reports import circular_details, circular_records, withdraw
from ews.core.municipalities import all_municipalities
from ews.intake import passes as intake
from ews.outbox.delivery import send_due
from ews.register.database import session_factory
from ews.register.schema import BounceRow, CircularRow, Input, NetworkMember, OutgoingMail
from ews.runtime.settings import CircularSettings, LetterSettings, Settings
from tests.conftest import REPO, make_settings
from tests.integration.intake.test_mail_intake import OFFICE, mail_settings
from tests.support import bouncegen, pdfgen
from tests.support.mailserver import MailboxMissing, MailServers

NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
STAFF = "buero@ews.test"
TEXT = textwrap.dedent("""\
    wir laden {{ kommune }} zum Netzwerktreffen im {{ monat }} ein.

    ## Programm

    - Austausch der Mitglieder
    - Bericht aus der Runde {{ runde }} & <Ausblick>

    Rückfragen bitte unter Angabe von Az. {{ aktenzeichen }}.
    """)


def _address(index: int) -> str:
    return f"engagement{index}@kommune{index}.example"


def add_members(settings: Settings, count: int, *, without: tuple[int, ...] = ()) -> None:
    """``count`` network members with a contact address each, except ``without``."""
    municipalities = [m for m in all_municipalities() if len(m.ags) == 8][:count]
    with session_factory(settings.db_url).begin() as session:
        for index, municipality in enumerate(municipalities):
            session.add(NetworkMember(
                ags=municipality.ags, kommune_name=municipality.letter_name,
                joined_on="2025-01-15", contact_person=f"Erika Muster{index}",
                contact_email="" if index in without else _address(index),
                source="EWS 5", updated_by="test", updated_at=NOW))


def write_draft(settings: Settings, *, title: str = "Netzwerktreffen", text: str = TEXT,
                name: str | None = None) -> Path:
    path = create_draft(settings.drafts_dir, settings.templates_dir, title=title,
                        az="13.0.70-001", list_spec=ListSpec("netzwerk"), name=name)
    header = path.read_text(encoding="utf-8").split("---\n")[1]
    header = header.replace("anlagen: []", "anlagen:\n- Programm.pdf")
    (path.parent / "Programm.pdf").write_bytes(pdfgen.filled_form())
    path.write_text(f"---\n{header}---\n{text}", encoding="utf-8")
    return path.parent


def _inbox(mail: MailServers, address: str) -> list[EmailMessage]:
    try:
        return [stored.message for stored in mail.dovecot.messages(address)]
    except MailboxMissing:
        return []


@pytest.fixture
def office(tmp_path: Path, mail: MailServers) -> Settings:
    settings = mail_settings(tmp_path, mail,
                             letters=LetterSettings(pdf=True, timeout_seconds=240),
                             rundschreiben=CircularSettings(
                                 test_address=STAFF, contacts_file=tmp_path / "kontakte.csv"))
    intake.prepare(settings)
    return settings


@pytest.mark.libreoffice
def test_circular_to_30_municipalities_after_a_probelauf(office: Settings,
                                                         mail: MailServers) -> None:
    add_members(office, 32, without=(5, 17))
    draft = read_draft(write_draft(office), office.round.name)

    probe = probelauf(office, draft, NOW, actor="test")
    assert (probe.queued, probe.sent) == (30, 30)
    staff = _inbox(mail, STAFF)
    assert len(staff) == 30
    assert all(str(m["Subject"]).startswith("[Probelauf] Mitteilung (Entwurf)/2026")
               for m in staff)
    assert "wäre an" in staff[0].get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert _inbox(mail, _address(0)) == []
    assert circular_records(office) == []  # no number taken

    issued = issue_circular(office, draft, actor="test", now=NOW)
    assert issued.label == "1/2026" and issued.created
    assert len(issued.without_address) == 2
    report = send_circulars(office, NOW)
    assert (report.queued, report.sent, report.failed) == (30, 30, 0)

    for index in (0, 12, 31):
        [message] = _inbox(mail, _address(index))
        assert message["Subject"] == "Mitteilung 1/2026: Netzwerktreffen"
        assert message["X-EWS-Versand"].startswith("rundschreiben/")
        plain = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
        municipality = [m for m in all_municipalities() if len(m.ags) == 8][index]
        assert plain.startswith(f"Guten Tag Erika Muster{index},")
        assert f"wir laden {municipality.letter_name} zum Netzwerktreffen" in plain
        assert "Dezember 2026" in plain and "EWS 6 & <Ausblick>" in plain
        assert "&amp; &lt;Ausblick&gt;" in html and "<li>" in html
        names = [part.get_filename() for part in message.iter_attachments()]
        assert names == ["Mitteilung_001-2026.pdf", "Programm.pdf"]
        pdf = next(message.iter_attachments()).get_content()
        assert pdf.startswith(b"%PDF") and b"pdfaid" in pdf
    assert _inbox(mail, _address(5)) == []

    again = send_circulars(office, NOW)
    assert (again.queued, again.sent) == (0, 0)
    assert len(_inbox(mail, _address(0))) == 1
    [record] = circular_records(office)
    assert record["versand"] == {"gesendet": 30, "ohne_adresse": 2}
    assert record["dokument"].endswith("Mitteilung_001-2026.pdf")
    _, entries = circular_details(office, "1/2026")
    missing = [e for e in entries if e["status"] == "ohne_adresse"]
    assert len(missing) == 2 and all("E-Mail-Adresse" in e["hinweis"] for e in missing)


class CrashAfter:
    """A clock for the outbox's pacer that ends the process (as a kill would) while it waits
    to send the mail after the ``count``-th."""

    def __init__(self, count: int) -> None:
        self.count, self.waits = count, 0

    def monotonic(self) -> float:
        return 0.0  # time stands still: the pacer waits before every mail but the first

    def sleep(self, seconds: float) -> None:
        self.waits += 1
        if self.waits == self.count:
            raise KeyboardInterrupt("Stromausfall")


def test_crash_after_10_of_30_mails_resumes_without_sending_twice(
        office: Settings, mail: MailServers) -> None:
    office.letters = LetterSettings(pdf=False)
    office.smtp.rate_per_minute = 6000
    add_members(office, 30)
    issue_circular(office, read_draft(write_draft(office), office.round.name), actor="test",
                   now=NOW)
    from ews.circulars.mailing import queue_circular
    from ews.outbox.sending import open_mailbox

    assert queue_circular(office, 1, NOW) == 30
    with pytest.raises(KeyboardInterrupt), open_mailbox(office) as mailbox:
        send_due(office, NOW, copy_to_sent=mailbox.append_sent,
                          in_sent=lambda mid: mailbox.has_message_id("Sent", mid),
                          clock=CrashAfter(10))
    assert sum(len(_inbox(mail, _address(i))) for i in range(30)) == 10

    report = send_circulars(office, NOW)
    assert (report.queued, report.sent) == (0, 20)
    assert [len(_inbox(mail, _address(i))) for i in range(30)] == [1] * 30
    assert len(mail.dovecot.messages(OFFICE, "Sent")) == 30


def test_withdrawn_circular_keeps_its_number_and_stops_its_mails(office: Settings,
                                                                  mail: MailServers) -> None:
    office.letters = LetterSettings(pdf=False)
    add_members(office, 4)
    draft = read_draft(write_draft(office), office.round.name)
    first = issue_circular(office, draft, actor="test", now=NOW)
    from ews.circulars.mailing import queue_circular

    queue_circular(office, first.id, NOW)
    assert withdraw(office, "Mitteilung 1/2026", reason="Termin verschoben", actor="test",
                    now=NOW) == ("1/2026", 4)
    second = issue_circular(office, draft, actor="test", now=NOW)
    assert second.label == "2/2026"
    send_circulars(office, NOW)
    assert len(_inbox(mail, _address(0))) == 1  # only the second circular
    records = {r["nummer"]: r for r in circular_records(office)}
    assert records["1/2026"]["status"] == "aufgehoben"
    assert records["1/2026"]["versand"] == {"entfallen": 4}
    assert records["1/2026"]["aufgehoben_grund"] == "Termin verschoben"


def test_new_year_starts_again_at_1(settings: Settings) -> None:
    intake.prepare(settings)
    add_members(settings, 1)
    draft = read_draft(write_draft(settings), settings.round.name)
    for moment in (datetime(2026, 12, 31, 22, 59, tzinfo=UTC),
                   datetime(2026, 12, 31, 23, 1, tzinfo=UTC)):  # 00:01 in Berlin
        issue_circular(settings, draft, actor="test", now=moment)
    assert [r["nummer"] for r in circular_records(settings)] == ["1/2027", "1/2026"]


CONCURRENT = """
import sys
from datetime import UTC, datetime
from pathlib import Path
from ews.circulars.drafts import read_draft
from ews.circulars.issuing import issue_circular
from tests.conftest import make_settings
settings = make_settings(Path(sys.argv[1]))
draft = read_draft(settings.drafts_dir / sys.argv[2], settings.round.name)
for _ in range(int(sys.argv[3])):
    issue_circular(settings, draft, actor=sys.argv[2], now=datetime.now(UTC))
"""


@pytest.mark.slow
def test_two_processes_issuing_at_once_get_unique_gap_free_numbers(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    intake.prepare(settings)
    add_members(settings, 3)
    for name in ("a", "b"):
        write_draft(settings, name=name)
    processes = [subprocess.Popen([sys.executable, "-c", CONCURRENT, str(tmp_path), name, "8"],
                                  cwd=REPO, stderr=subprocess.PIPE)
                 for name in ("a", "b")]
    for process in processes:
        _, stderr = process.communicate(timeout=300)
        assert process.returncode == 0, stderr.decode()
    with session_factory(settings.db_url).begin() as session:
        numbers = sorted(session.scalars(select(CircularRow.number)))
        by_draft = dict(session.execute(select(CircularRow.draft, func.count())
                                        .group_by(CircularRow.draft)).all())
    assert numbers == list(range(1, 17))
    assert by_draft == {"a": 8, "b": 8}


@pytest.mark.parametrize(("style", "state"), [
    ("postfix_de", "unzustellbar"), ("exim", "unzustellbar"), ("qmail", "unzustellbar"),
    ("exchange_de", "unzustellbar"), ("gmail", "unzustellbar"), ("delayed", "verzoegert")])
def test_bounce_is_linked_to_the_ledger_and_shown(office: Settings, mail: MailServers,
                                                  style: str, state: str) -> None:
    office.letters = LetterSettings(pdf=False)
    add_members(office, 3)
    issue_circular(office, read_draft(write_draft(office), office.round.name), actor="test",
                   now=NOW)
    send_circulars(office, NOW)
    [original] = _inbox(mail, _address(1))
    bounce = bouncegen.BOUNCE_STYLES[style](original, _address(1), "5.1.1",
                                            "550 5.1.1 <engagement1@kommune1.example>: "
                                            "Recipient address rejected: User unknown")
    mail.dovecot.append(OFFICE, bounce)
    intake.run_pass(office)

    _, entries = circular_details(office, "1/2026")
    states = {e["empfaenger"][0]: (e["status"], e["hinweis"]) for e in entries}
    assert states[_address(1)][0] == state
    if state == "unzustellbar":
        assert "gibt es nicht" in states[_address(1)][1]
    assert states[_address(0)][0] == "gesendet"
    with session_factory(office.db_url).begin() as session:
        [row] = session.scalars(select(BounceRow))
        linked = session.get(OutgoingMail, row.outgoing_mail_id)
        assert linked is not None
        assert f"{linked.purpose}/{linked.subject_key}" == original["X-EWS-Versand"]
        assert session.scalars(select(Input)).all() == []  # the returned PDF is no application


def issue_and_crash_before_the_documents(settings: Settings, draft: Draft,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """The process dies after the number is taken, before the documents are made."""
    import ews.circulars.issuing

    def crash(_settings: Settings, _circular_id: int) -> None:
        raise KeyboardInterrupt("Stromausfall")

    with monkeypatch.context() as patch:
        patch.setattr(ews.circulars.issuing, "finish_documents", crash)
        with pytest.raises(KeyboardInterrupt):
            issue_circular(settings, draft, actor="test", now=NOW)


def test_crash_between_the_number_and_the_documents_is_resumed(
        settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    intake.prepare(settings)
    add_members(settings, 2)
    draft = read_draft(write_draft(settings), settings.round.name)
    issue_and_crash_before_the_documents(settings, draft, monkeypatch)
    (draft.folder / "Programm.pdf").write_bytes(b"%PDF-1.4 changed later")  # staff edit on

    report = send_circulars(settings, NOW)  # no mail server: the mails are queued
    assert (report.circulars, report.queued) == (["1/2026"], 2)
    [record] = circular_records(settings)
    folder = Path(record["dokument"]).parent
    assert folder.name == "001_netzwerktreffen"
    assert (folder / "Programm.pdf").read_bytes() == pdfgen.filled_form()  # as issued
    assert not list((settings.circulars_dir / ".vorbereitung").iterdir())
