"""The correspondence repository on the real database: recorded once, listed by case and for
staff, handled and assigned with who and when, and the case of an outgoing Message-ID."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from ews.register import correspondence
from ews.register.database import migrate, session_factory
from ews.register.schema import EventRow, LetterRow, MailInput, MailRow, OutgoingMail
from ews.runtime.settings import Settings
from tests.integration.register.test_register import _application

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def _piece(session, **fields: object):
    values: dict[str, object] = {"channel": "postfach", "matched_by": "keine", "sender": "a@b.de",
                                 "subject": "Frage", "received_at": T0, "sha256": "0" * 64}
    values.update(fields)
    return correspondence.record(session, **values)


def test_recorded_once_listed_handled_and_assigned(settings: Settings) -> None:
    migrate(settings.db_url)
    with session_factory(settings.db_url).begin() as session:
        application = _application(session, 1, "05962024", T0)
        first = _piece(session, raw_path="/akte/a.pdf")
        assert _piece(session, raw_path="/akte/a.pdf").id == first.id  # same file again
        second = _piece(session, raw_path="/akte/b.pdf", az=application.az, matched_by="az")
        assert second.application_id == application.id
        assert [row.id for row in correspondence.unassigned(session)] == [first.id]
        assert [row.id for row in correspondence.by_az(session, application.az)] == [second.id]
        with pytest.raises(LookupError):
            correspondence.assign(session, first.id, "13.0.70-999/2026", actor="mia", now=T0)
        correspondence.assign(session, first.id, application.az, actor="mia", now=T0)
        correspondence.mark_handled(session, second.id, actor="tom", now=T0, note="erledigt")
        assert correspondence.unassigned(session) == []
        assert (second.state, second.handled_by) == ("erledigt", "tom")
        actions = [event.action for event in session.scalars(select(EventRow))]
        assert actions == ["schriftverkehr-zugeordnet", "schriftverkehr-erledigt"]


def test_the_case_of_our_outgoing_mails(settings: Settings) -> None:
    migrate(settings.db_url)
    with session_factory(settings.db_url).begin() as session:
        application = _application(session, 1, "05962024", T0)
        letter = LetterRow(input_id=application.input_id, application_id=application.id,
                           kind="zusage", reference=application.az, docx_path="/z.docx",
                           data={})
        mail = MailRow(account="o", folder="INBOX", uidvalidity=1, uid=1, sha256="1" * 64,
                       internaldate=T0, kind="application", raw_path="/m.eml")
        session.add_all([letter, mail])
        session.flush()
        session.add(MailInput(input_id=application.input_id, mail_id=mail.id))
        for purpose, key, message_id in (("bescheid", f"brief:{letter.id}", "<z@ews>"),
                                         ("antwort", f"mail:{mail.id}", "<a@ews>"),
                                         ("rundschreiben", "1:05962024", "<r@ews>"),
                                         ("antwort", f"eingang:{application.input_id}",
                                          "<e@ews>"),
                                         ("bescheid", application.az, "<b@ews>"),
                                         ("eingang", "absender:a@b.de:2026-03-02", "<q@ews>")):
            session.add(OutgoingMail(purpose=purpose, subject_key=key, message_id=message_id,
                                     recipients=[], eml_path="", next_attempt_at=T0))
        session.flush()
        assert correspondence.case_of_message_ids(session, ["z@ews"]) == application.az
        assert correspondence.case_of_message_ids(session, ["<a@ews>"]) == application.az
        assert correspondence.case_of_message_ids(session, ["r@ews", "x@y"]) is None
        assert correspondence.case_of_message_ids(session, ["x@y", "z@ews"]) == application.az
        assert correspondence.case_of_message_ids(session, ["<e@ews>"]) == application.az
        assert correspondence.case_of_message_ids(session, ["b@ews"]) == application.az
        assert correspondence.case_of_message_ids(session, ["<q@ews>"]) is None
        assert correspondence.az_exists(session, application.az)
        assert not correspondence.az_exists(session, "13.0.70-999/2026")
