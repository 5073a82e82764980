"""The outbox ledger on the embedded register: answers need a fixed number of queries."""

from __future__ import annotations

from datetime import UTC, datetime

from ews.register import outbox as ledger
from ews.register.database import migrate, transaction
from ews.register.schema import (
    ApplicationRow,
    DeclarationRow,
    Input,
    LetterRow,
    MailInput,
    MailRow,
)
from ews.runtime.settings import Settings
from tests.support.sql import statements_sent

NOW = datetime(2027, 3, 1, 13, 3, tzinfo=UTC)




def add_mails(url: str, count: int, start: int) -> None:
    with transaction(url) as session:
        for number in range(start, start + count):
            item = Input(source_name=f"{number}.pdf", sha256=f"{number:064d}", size=1,
                         received_at=NOW, claim_path=f"/in/{number}.pdf", state="done",
                         outcome="registered", reasons=[])
            session.add(item)
            session.flush()
            application = ApplicationRow(
                az=f"13.0.70-{number:03d}/2027", az_year=2027, az_serial=number,
                round_name="EWS 6", ags=f"{number:08d}", kommune_name=f"Stadt {number}",
                status="registered", received_at=NOW, deadline_last_day="2027-03-01",
                fields={"team1_email": f"team{number}@x.example"}, input_id=item.id)
            session.add(application)
            session.flush()
            declaration = DeclarationRow(az=f"E-{number}", ags=f"{number:08d}",
                                         kommune_name="x", issued_by="test", issued_at=NOW)
            session.add(declaration)
            session.flush()
            item.application_id, item.declaration_id = application.id, declaration.id
            mail = MailRow(account="a", folder="INBOX", uidvalidity=1, uid=number,
                           sha256=f"{number:064d}", internaldate=NOW, sender="b@x.example",
                           kind="application", reasons=[], raw_path=f"/m/{number}.eml")
            session.add(mail)
            session.flush()
            session.add(MailInput(input_id=item.id, mail_id=mail.id))
            session.add(LetterRow(input_id=item.id, application_id=application.id,
                                  kind="eingangsbestaetigung", reference="r",
                                  docx_path=f"/out/{number}.docx", data={}, state="rendered"))


def test_mails_to_answer_carry_plain_data_in_four_queries(settings: Settings) -> None:
    url = settings.db_url
    migrate(url)
    add_mails(url, 1, 1)
    with statements_sent(url) as one, transaction(url) as session:
        found = ledger.mails_to_answer(session, ("application",), "antwort")
    add_mails(url, 9, 2)
    with statements_sent(url) as ten, transaction(url) as session:
        assert len(ledger.mails_to_answer(session, ("application",), "antwort")) == 10
    assert len(one) == len(ten)
    assert len([s for s in ten if s.lstrip().upper().startswith("SELECT")]) == 4
    [mail] = found
    [item] = mail.inputs
    assert (mail.sender, item.declaration_az, item.application and item.application.az) == (
        "b@x.example", "E-1", "13.0.70-001/2027")
    assert item.letters == (ledger.LetterFile("eingangsbestaetigung", "rendered",
                                              "/out/1.docx"),)
