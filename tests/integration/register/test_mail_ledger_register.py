"""The mail ledger in batches, on both registers: post-action notes for many mails in one
statement per thousand (an error noted without finishing, an earlier error kept when the next
try worked), and a fetch batch's look-up of the mails on file, kept up to date as it adds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from ews.core.models import MailState
from ews.register import mails
from ews.register.database import VALUES_PER_STATEMENT, migrate, transaction
from ews.register.schema import MailRow
from tests.conftest import make_settings

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def test_post_actions_are_noted_for_more_mails_than_one_statement_takes(
        tmp_path: Path, database_url: str | None) -> None:
    settings = make_settings(tmp_path, **({"database_url": database_url} if database_url else {}))
    migrate(settings.db_url)
    count = 2 * VALUES_PER_STATEMENT + 7  # three statements, the last one short
    with transaction(settings.db_url) as session:
        rows = [mails.add_mail(session, mails.new_mail(
            ("konto", "INBOX", 1, uid), message_id=f"<{uid}@x>", sha256=f"{uid:064d}",
            internaldate=T0, sender="a@b.de", subject="s", kind="application", reasons=[],
            raw_path=f"/archiv/{uid}.eml")) for uid in range(1, count + 1)]
    ids = [row.id for row in rows]
    failed, retried, finished = ids[:3], ids[3:5], ids[5:]
    later = T0 + timedelta(hours=1)
    with transaction(settings.db_url) as session:
        mails.note_post_actions(session, failed + retried, error="Server weg", done=False,
                                now=T0)
    with transaction(settings.db_url) as session:
        mails.note_post_actions(session, retried + finished, error=None, done=True, now=later)
        mails.note_post_actions(session, [], error="nie", done=True, now=later)  # nothing
    with transaction(settings.db_url) as session:
        found = {row.id: row for row in session.scalars(select(MailRow))}
        assert {found[i].state for i in failed} == {MailState.TAKEN}
        assert {found[i].error for i in failed + retried} == {"Server weg"}
        assert {found[i].state for i in retried + finished} == {MailState.DONE}
        assert {found[i].error for i in finished} == {None}
        assert {found[i].done_at for i in retried + finished} == {later}
        assert {found[i].done_at for i in failed} == {None}


def test_a_batch_knows_the_mails_on_file_and_those_it_adds(
        tmp_path: Path, database_url: str | None) -> None:
    settings = make_settings(tmp_path, **({"database_url": database_url} if database_url else {}))
    migrate(settings.db_url)

    def row(uid: int, message_id: str | None, digest: str, kind: str = "application",
            account: str = "konto") -> MailRow:
        return mails.new_mail((account, "INBOX", 1, uid), message_id=message_id,
                              sha256=digest * 64, internaldate=T0, sender=None, subject="",
                              kind=kind, reasons=[], raw_path=f"/archiv/{uid}.eml")

    with transaction(settings.db_url) as session:
        for added in (row(1, "<a@x>", "1"), row(2, None, "2"), row(3, "<d@x>", "3", "duplicate"),
                      row(4, "<o@x>", "4", account="anderes"), row(5, "<b@x>", "5", "automatic")):
            mails.add_mail(session, added)
    batch = [("<a@x>", "9"), (None, "2"), ("<d@x>", "8"), ("<o@x>", "7"), (None, "5"),
             ("<n@x>", "6"), (None, "6")]
    with transaction(settings.db_url) as session:
        seen = mails.SeenMails(session, "konto", batch)
        assert [seen.holds(message_id, digest * 64) for message_id, digest in batch] == [
            True,  # the same Message-ID on file
            True,  # no Message-ID: the same bytes on file
            False,  # on file only as a duplicate itself
            False,  # another account's
            True,  # no Message-ID: the bytes of a mail that has one
            False, False]
        seen.note(mails.add_mail(session, row(6, "<n@x>", "6")))
        seen.note(mails.add_mail(session, row(7, "<z@x>", "7", "duplicate")))
        assert seen.holds("<n@x>", "0" * 64) and seen.holds(None, "6" * 64)
        assert not seen.holds("<z@x>", "0" * 64)  # added as a duplicate
        # a mail the batch did not announce is looked up on its own
        assert seen.holds("<b@x>", "0" * 64) and not seen.holds("<q@x>", "0" * 64)
        assert seen.holds(None, "1" * 64) and not seen.holds(None, "3" * 64)
