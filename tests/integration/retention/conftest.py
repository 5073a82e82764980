"""A register spanning two rounds, built through the ordinary intake path (PDFs in the
inbox, ``run_pass``), decisions and notices; plus two mails and a roster entry of one
person, for the deletion and access tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from ews.core.models import MailKind
from ews.intake import passes as intake
from ews.letters.samples import filled_form_pdf
from ews.network.roster import join
from ews.outbox.acknowledgments import queue_acknowledgments
from ews.outbox.office import office_mail
from ews.outbox.queue import enqueue
from ews.register import cases as register
from ews.register import correspondence
from ews.register import mails as mail_register
from ews.register.database import transaction
from ews.register.schema import LetterRow
from ews.runtime import storage
from ews.runtime.settings import RoundSettings, Settings
from ews.selection import decisions as selection
from ews.selection import notices
from tests.conftest import make_settings, open_deadline
from tests.support.pdfgen import VALUES

PERSON = "Dörte Überall-Nußbaum"
EMAIL = "Doerte.Ueberall@Bochum.de"
#: (round, ags, kommune, decision) — the person is on the team of the EWS 5 Absage (Bochum)
CASES = {
    "teilnahme5": ("EWS 5", "05111000", "Stadt Düsseldorf", "angenommen"),
    "absage5": ("EWS 5", "05911000", "Stadt Bochum", "abgelehnt"),
    "gesperrt5": ("EWS 5", "05913000", "Stadt Dortmund", "abgelehnt"),
    "teilnahme6": ("EWS 6", "05315000", "Stadt Köln", "angenommen"),
    "absage6": ("EWS 6", "05962032", "Stadt Lüdenscheid", "abgelehnt"),
}


@dataclass
class TwoRounds:
    settings: Settings  # of round EWS 6, the one open now
    start: datetime  # when the register was built (decisions, notices)
    azs: dict[str, str]  # case name → Az.


def round_settings(root: Path, name: str, database_url: str | None = None) -> Settings:
    return make_settings(root, round=RoundSettings(name=name, deadline=open_deadline()),
                         retention_file=root / "config" / "aufbewahrung.toml",
                         database_url=database_url)


def application(name: str, ags: str, kommune: str) -> bytes:
    values = dict(VALUES) | {"runde": name, "ags": ags, "kommune_name": kommune,
                             "ort": kommune.removeprefix("Stadt ")}
    if ags == "05911000":
        values |= {"team1_name": PERSON, "team1_email": EMAIL}
    return filled_form_pdf(values, name)


def take_round(settings: Settings, cases: dict[str, tuple[str, str, str, str]],
               start: datetime, late: set[str]) -> dict[str, str]:
    """The round's applications through the inbox, decided and noticed; its Azs."""
    for key, (name, ags, kommune, _) in cases.items():
        (settings.inbox_dir / f"Bewerbung {key}.pdf").write_bytes(application(name, ags, kommune))
    intake.run_pass(settings)
    azs = {}
    with transaction(settings.db_url) as session:
        by_ags = {row.ags: row.az for row in register.application_rows(session)
                  if row.round_name == settings.round.name}
        for key, (_, ags, _, decision) in cases.items():
            azs[key] = by_ags[ags]
            when = start + timedelta(days=91) if key in late else start
            selection.decide(session, azs[key], decision, seats=17, actor="frau.meier",
                             now=when, reason="plaetze" if decision == "abgelehnt" else None)
    notices.send_notices(settings, start, actor="frau.meier")
    return azs


def person_elsewhere(settings: Settings, az: str, now: datetime, *, roster: bool = True
                     ) -> None:
    """Two mails from the person (archived raw), the answer to one, and the roster."""
    store = storage.archive_store(settings)
    with transaction(settings.db_url) as session:
        app = register.application_by_az(session, az)
        assert app is not None
        for uid in (1, 2):
            raw = (f"From: {PERSON} <{EMAIL}>\r\nTo: ews@example.org\r\nSubject: Frage {uid}"
                   f"\r\n\r\nViele Grüße\r\n{PERSON}\r\n").encode()
            location = store.write_bytes(f"mail/{uid:06d}.eml", raw)
            row = mail_register.add_mail(session, mail_register.new_mail(
                ("ews@test", "INBOX", 1, uid), message_id=f"<m{uid}@bochum.de>",
                sha256=f"{uid:064d}", internaldate=now, sender=f"{PERSON} <{EMAIL}>",
                subject=f"Frage {uid} zu {az}", kind="no_pdf", raw_path=location))
            if uid == 1:
                item = register.input_by_reference(session, az)
                assert item is not None
                mail_register.link_inputs(session, [(item.id, row.id)])
        letter = session.query(LetterRow).filter_by(application_id=app.id,
                                                    kind="absage").one()
        message = office_mail(settings, "Ihre Bewerbung", [EMAIL], now, "Text", [],
                              auto_submitted="auto-generated")
        enqueue(session, settings, f"brief:{letter.id}", message, [EMAIL], now)
        if roster:
            member = join(session, None, signatory=PERSON, function="Beigeordnete",
                          signed_on=now.date(), joined_on=now.date(), actor="frau.meier",
                          now=now, ags=app.ags, kommune_name=app.kommune_name)
            member.contact_person, member.contact_email = PERSON, EMAIL


def filed_question(settings: Settings, az: str, now: datetime) -> None:
    """A question of the person filed to the case ``az`` as correspondence (mail archived
    raw), and its acknowledgment queued the way the service does it (key
    ``absender:<address>:<day>``)."""
    raw = (f"From: {PERSON} <{EMAIL}>\r\nTo: ews@example.org\r\nSubject: AW: {az}\r\n\r\n"
           f"Wann beginnt die Werkstatt?\r\n{PERSON}\r\n").encode()
    location = storage.archive_store(settings).write_bytes("mail/000003.eml", raw)
    with transaction(settings.db_url) as session:
        row = mail_register.add_mail(session, mail_register.new_mail(
            ("ews@test", "INBOX", 1, 3), message_id="<m3@bochum.de>", sha256="3" * 64,
            internaldate=now, sender=f"{PERSON} <{EMAIL}>", subject=f"AW: {az}",
            kind=MailKind.CORRESPONDENCE.value, raw_path=location))
        correspondence.record(session, az=az, channel="postfach", mail_id=row.id,
                              matched_by="az", sender=f"{PERSON} <{EMAIL}>",
                              subject=f"AW: {az}", excerpt="Wann beginnt die Werkstatt?",
                              received_at=now, raw_path=location, sha256="3" * 64)
    assert len(queue_acknowledgments(settings, now)) == 1


def build_two_rounds(tmp_path: Path, database_url: str | None = None) -> TwoRounds:
    start = datetime.now(UTC).replace(microsecond=0)
    ews5 = round_settings(tmp_path, "EWS 5", database_url)
    intake.prepare(ews5)
    azs = take_round(ews5, {k: v for k, v in CASES.items() if v[0] == "EWS 5"}, start, set())
    ews6 = round_settings(tmp_path, "EWS 6", database_url)
    azs |= take_round(ews6, {k: v for k, v in CASES.items() if v[0] == "EWS 6"}, start,
                      {"absage6"})
    return TwoRounds(settings=ews6, start=start, azs=azs)


@pytest.fixture
def two_rounds(tmp_path: Path) -> TwoRounds:
    return build_two_rounds(tmp_path)


@pytest.fixture
def two_rounds_any_register(tmp_path: Path, database_url: str | None) -> TwoRounds:
    """The two rounds once on SQLite, once on PostgreSQL."""
    return build_two_rounds(tmp_path, database_url)


def proof_of_use(path: Path, round_name: str, day: date) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f'[verwendungsnachweis]\n"{round_name}" = {day.isoformat()}\n',
                    encoding="utf-8")
