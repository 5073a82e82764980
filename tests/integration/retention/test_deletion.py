"""The deletion run over a register of two rounds with the clock moved forward: exactly
the due cases go, the statistics stay, the log lists each deletion and keeps no content, a
held case stays, a second run deletes nothing, and no byte of the person is left."""

from __future__ import annotations

import json
import unicodedata
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from ews.register.database import engine_for, transaction
from ews.register.retention import notice_times
from ews.register.retention_tables import DeletionLogRow
from ews.register.schema import ApplicationRow, DecisionRow, LetterRow, OutgoingMail
from ews.retention.deletion import run_deletion
from ews.retention.holds import set_hold
from tests.integration.retention.conftest import (
    EMAIL,
    PERSON,
    TwoRounds,
    filed_question,
    person_elsewhere,
    proof_of_use,
)


def fields_by_az(two: TwoRounds) -> dict[str, dict[str, object]]:
    with transaction(two.settings.db_url) as session:
        return {row.az: row.fields for row in session.scalars(select(ApplicationRow))}


def variants(text: str) -> set[bytes]:
    """The byte forms a value may take on disk: UTF-8 in NFC and NFD, any case, JSON-escaped."""
    found = set()
    for form in ("NFC", "NFD"):
        for cased in (text, text.lower(), text.upper(), text.casefold()):
            value = unicodedata.normalize(form, cased)
            found |= {value.encode("utf-8"), json.dumps(value).strip('"').encode("ascii")}
    return found


def files_containing(roots: list[Path], needles: set[bytes]) -> list[str]:
    hits = []
    for root in roots:
        for path in sorted(root.rglob("*")):
            if path.is_file():
                data = path.read_bytes()
                lowered = data.lower()
                if any(needle in data or needle.lower() in lowered for needle in needles):
                    hits.append(str(path))
    return hits


def test_exactly_the_due_cases_go_and_the_statistics_stay(two_rounds_any_register: TwoRounds
                                                           ) -> None:
    two = two_rounds_any_register
    settings = two.settings
    azs = two.azs
    person_elsewhere(settings, azs["absage5"], two.start)
    proof_of_use(settings.retention_file, "EWS 5", (two.start - timedelta(days=5 * 365)).date())
    with transaction(settings.db_url) as session:
        set_hold(session, azs["gesperrt5"], "Klage anhängig", "frau.meier", two.start)
    before = fields_by_az(two)
    assert PERSON in json.dumps(before[azs["absage5"]], ensure_ascii=False)

    later = two.start + timedelta(days=7 * 31)
    probe = run_deletion(settings, now=later, actor="frau.meier", dry_run=True)
    assert fields_by_az(two) == before  # a Probelauf changes nothing
    first = run_deletion(settings, now=later, actor="zeitplan")

    gone = {entry.az for entry in first.entries if entry.az}
    assert gone == {azs["absage5"], azs["teilnahme5"]}
    assert [(e.az, e.counts) for e in probe.entries] == [(e.az, e.counts) for e in first.entries]
    stays = {stay.az: stay.reason for stay in first.stays}
    assert stays[azs["gesperrt5"]].startswith("gesperrt")
    assert "Verwendungsnachweis" in stays[azs["teilnahme6"]]
    assert "Monate nach dem Bescheid" in stays[azs["absage6"]]
    after = fields_by_az(two)
    assert after[azs["absage5"]] == {} and after[azs["teilnahme5"]] == {}
    assert after[azs["gesperrt5"]] == before[azs["gesperrt5"]]
    assert after[azs["absage6"]] == before[azs["absage6"]]

    with transaction(settings.db_url) as session:  # the statistics stay
        stats = {(a.round_name, a.ags, a.kommune_name, d.decision) for a, d in session.execute(
            select(ApplicationRow, DecisionRow).join(
                DecisionRow, DecisionRow.application_id == ApplicationRow.id))}
        log = list(session.scalars(select(DeletionLogRow).order_by(DeletionLogRow.id)))
    assert ("EWS 5", "05911000", "Stadt Bochum", "abgelehnt") in stats and len(stats) == 5
    deletions = [row for row in log if row.way == "anonymisiert"]
    assert {row.az for row in deletions} == gone
    assert all(row.actor == "zeitplan" and row.at == later for row in deletions)
    bochum = next(row for row in deletions if row.az == azs["absage5"])
    bochum_id = bochum.record_ids["bewerbungen"][0]
    assert bochum.rule == "nicht-ausgewaehlt"
    assert bochum.counts["bewerbungen"] == 1 and bochum.counts["mails"] == 1
    assert bochum.counts["ausgehende_mails"] == 1 and bochum.counts["dateien"] >= 4
    with transaction(settings.db_url) as session:  # nothing renders or mails them again
        states = {(row.state, row.data == {}) for row in session.scalars(select(LetterRow).where(
            LetterRow.application_id == bochum_id))}
        outgoing = session.scalars(select(OutgoingMail)).one()
    assert states == {("deleted", True)}
    assert outgoing.state == "storniert" and outgoing.recipients == []
    logged = json.dumps([(r.record_ids, r.counts, r.note) for r in log], ensure_ascii=False)
    assert "Nußbaum" not in logged and "ueberall" not in logged.lower()

    assert run_deletion(settings, now=later, actor="zeitplan").entries == []

    even_later = two.start + timedelta(days=10 * 31)
    third = run_deletion(settings, now=even_later, actor="zeitplan")
    assert {entry.az for entry in third.entries if entry.az} == {azs["absage6"]}


def test_after_deletion_no_byte_of_the_person_is_left(two_rounds: TwoRounds) -> None:
    settings = two_rounds.settings
    az = two_rounds.azs["absage5"]
    person_elsewhere(settings, az, two_rounds.start, roster=False)
    filed_question(settings, az, two_rounds.start)
    needles = variants(PERSON) | variants(EMAIL) | variants("Überall") | variants("Nußbaum")
    roots = [settings.data_dir, settings.outbox_dir]
    assert files_containing(roots, needles)  # the search can fail

    later = two_rounds.start + timedelta(days=7 * 31)
    run_deletion(settings, now=later, actor="zeitplan")
    engine_for(settings.db_url).dispose()

    assert files_containing(roots, needles) == []


def test_notice_times_are_the_latest_notice_of_non_selection(two_rounds: TwoRounds) -> None:
    """The period of a case not selected runs from its latest notice; acceptances do not
    count, and asking for some applications gives only theirs."""
    with transaction(two_rounds.settings.db_url) as session:
        apps = {row.az: row.id for row in session.scalars(select(ApplicationRow))}
        refused = [apps[two_rounds.azs[key]] for key in ("absage5", "absage6")]
        first = session.scalars(select(LetterRow).where(
            LetterRow.application_id == refused[0], LetterRow.kind == "absage")).one()
        later = first.created_at + timedelta(days=3)
        session.add(LetterRow(input_id=first.input_id, application_id=refused[0],
                              kind="verspaetungsschreiben", state=first.state,
                              data={}, reference=first.reference, docx_path="",
                              created_at=later))
        session.flush()
        times = notice_times(session)
        assert times[refused[0]] == later
        assert refused[1] in times
        assert apps[two_rounds.azs["teilnahme5"]] not in times
        assert notice_times(session, [refused[1]]) == {refused[1]: times[refused[1]]}
