"""The hostile corpus (tests/hostilegen.py) through a whole pass, by the inbox folder and by a
real Dovecot + SMTP, on SQLite and on PostgreSQL: no input may stall, flood or steer the
service.

Each pass is ``intake.run_pass`` (what ``ews process`` runs), bounded in time. After
each batch: the ordinary application sent behind it is registered and answered; every input has
exactly one outcome (a German reason when invalid); every input's bytes lie in the archive or in
quarantine; no sender gets more than one answer and nobody the attacker named gets any; a second
pass changes nothing. Each test collects every broken case before it fails, so one run names
them all.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
import time
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import select

from ews.intake import passes as intake
from ews.register.database import session_factory
from ews.register.reports import application_records, journal_records
from ews.register.schema import Input, MailInput, MailRow
from ews.runtime.folders import REFUSED_FOLDER, reason_file
from ews.runtime.settings import (
    IntakeSettings,
    Settings,
)
from tests.conftest import make_settings
from tests.integration.intake.test_mail_intake import mail_settings
from tests.support import hostilegen
from tests.support.hostilegen import ATTACKER_DOMAIN, OFFICE, FileCase, MailCase
from tests.support.mailserver import MailServerError, MailServers

pytestmark = pytest.mark.ocr

SEED = 20261205
#: seconds one input may take in its worker (intake.read_timeout_seconds)
READ_TIMEOUT = 45.0
#: seconds a whole pass over the hostile batch may take
PASS_BOUND = 200.0
DONE = "Bewerbungen/Verarbeitet"
#: words one of which every German reason contains
_GERMAN = re.compile(r"\b(der|die|das|ist|nicht|kein\w*|wurde|werden|Datei|enthält|Bewerbung|"
                     r"Sie|ein\w*|zu|mit|ohne|PDF)\b", re.IGNORECASE)


# -- fixtures ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def inbox_corpus() -> list[FileCase]:
    return hostilegen.inbox_cases(SEED)


@pytest.fixture(scope="module")
def mail_corpus() -> list[MailCase]:
    return hostilegen.mail_cases(SEED)


@pytest.fixture(params=hostilegen.INBOX_BATCHES)
def inbox_batch(request: pytest.FixtureRequest, inbox_corpus: list[FileCase]) -> list[FileCase]:
    return [case for case in inbox_corpus if case.batch == request.param]


@pytest.fixture(params=hostilegen.MAIL_BATCHES)
def mail_batch(request: pytest.FixtureRequest, mail_corpus: list[MailCase]) -> list[MailCase]:
    return [case for case in mail_corpus if case.batch == request.param]


def hostile_settings(root: Path, database_url: str | None, mail: MailServers | None = None
                     ) -> Settings:
    """Settings of the pass (its deadline still open: the pass reads the clock), with the
    mail servers when given (``test_mail_intake.mail_settings``, longer timeouts)."""
    values: dict[str, object] = {
        "intake": IntakeSettings(stable_seconds=0.05, workers=2, ocr=True,
                                 read_timeout_seconds=READ_TIMEOUT),
    }
    if database_url is not None:
        values["database_url"] = SecretStr(database_url)
    if mail is None:
        return make_settings(root, **values)
    settings = mail_settings(root, mail, **values)
    settings.imap.timeout_seconds = settings.smtp.timeout_seconds = 30
    return settings


@dataclass(frozen=True)
class PassRun:
    seconds: float
    #: the error the pass raised (the service itself disturbed), None when it finished
    error: BaseException | None

    @property
    def problems(self) -> list[str]:
        return [] if self.error is None else [
            f"pass raised {type(self.error).__name__}: {str(self.error)[:300]}"]


def run_pass(settings: Settings) -> PassRun:
    """``intake.run_pass`` (what ``ews process`` runs); its error is a finding, not a crash of
    the test. The time bound is the test's timeout marker and ``PASS_BOUND``."""
    started = time.monotonic()
    try:
        intake.run_pass(settings)
    except Exception as exc:  # noqa: BLE001 - any error of the pass is reported with the rest
        return PassRun(time.monotonic() - started, exc)
    return PassRun(time.monotonic() - started, None)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def stored_bytes(location: str | None) -> bytes | None:
    if not location or not Path(location).is_file():
        return None
    return Path(location).read_bytes()


def reason_problems(label: str, record: dict[str, Any]) -> list[str]:
    """A non-registered input needs at least one German reason."""
    if record["outcome"] in ("registered", "declaration", "late"):
        return []
    reasons = record["reasons"]
    if not reasons:
        return [f"{label}: outcome {record['outcome']} without a reason"]
    return [f"{label}: reason not German: {reason[:120]!r}" for reason in reasons
            if not _GERMAN.search(reason)]


def timeout_problems(label: str, record: dict[str, Any]) -> list[str]:
    """No input of the corpus may need the emergency stop: its cost is bounded by reading it
    carefully, not by killing its worker."""
    return [f"{label}: needed the read timeout ({READ_TIMEOUT:.0f} s) to end: {reason[:80]}"
            for reason in record["reasons"] if "dauerte länger als" in reason][:1]


#: characters that make a name read differently from what it is (bidi overrides, isolates)
_BIDI = {"\u200e", "\u200f", *map(chr, range(0x202A, 0x202F)), *map(chr, range(0x2066, 0x206A))}


def name_problems(label: str, source: str) -> list[str]:
    """A name the office reads (journal, letters) holds no control or bidi characters."""
    odd = sorted({f"U+{ord(c):04X}" for c in source
                  if c in _BIDI or unicodedata.category(c) == "Cc"})
    return [f"{label}: the journal shows {source[:30]!r} with {', '.join(odd[:5])}"] \
        if odd else []


def snapshot(settings: Settings) -> tuple[Any, ...]:
    """What a second pass must leave alone: journal, register, stored files, mail ledger."""
    files = sorted((str(path.relative_to(settings.data_dir.parent)), sha256(path.read_bytes()))
                   for folder in (settings.archive_dir, settings.quarantine_dir,
                                  settings.outbox_dir) if folder.is_dir()
                   for path in folder.rglob("*") if path.is_file())
    with session_factory(settings.db_url).begin() as session:
        mails = sorted((row.uid, row.kind, row.state, tuple(row.reasons))
                       for row in session.scalars(select(MailRow)))
    return journal_records(settings), application_records(settings), files, mails


def fail_on(problems: list[str], run: PassRun) -> None:
    if problems:
        pytest.fail(f"{len(problems)} problems (pass: {run.seconds:.0f} s):\n"
                    + "\n".join(problems), pytrace=False)


# -- the inbox folder ----------------------------------------------------------------------------


@pytest.mark.timeout(2 * PASS_BOUND + 120)
def test_hostile_inbox_files_each_end_with_one_outcome_and_stall_nothing(
        tmp_path: Path, database_url: str | None, inbox_batch: list[FileCase]) -> None:
    inbox_corpus = inbox_batch
    settings = hostile_settings(tmp_path, database_url)
    outside = tmp_path / "draussen"
    (outside / "fremd").mkdir(parents=True)
    outside_pdf = hostilegen.outside_application(SEED)
    (outside / "fremd" / "Bewerbung.pdf").write_bytes(outside_pdf)
    entries = {case.name: hostilegen.place_in_inbox(case, settings.inbox_dir, outside)
               for case in inbox_corpus}
    ordinary = hostilegen.ordinary_file(SEED)
    time.sleep(0.05)  # behind the hostile files: the latest mtime
    hostilegen.place_in_inbox(ordinary, settings.inbox_dir, outside)

    run = run_pass(settings)

    problems = run.problems
    if run.seconds > PASS_BOUND:
        problems.append(f"pass: took {run.seconds:.0f} s")
    journal = journal_records(settings)
    by_sha: dict[str, list[dict[str, Any]]] = {}
    for record in journal:
        by_sha.setdefault(record["sha256"], []).append(record)
    problems += _ordinary_file_problems(ordinary, by_sha, settings)
    for case in inbox_corpus:
        if case.expected == "skipped":
            problems += _skipped_problems(case, entries[case.name], by_sha)
        else:
            problems += _file_problems(case, by_sha.get(case.sha256, []))
    if sha256(outside_pdf) in by_sha:
        problems.append("symlink-to-application: the file outside the inbox was read")
    if (outside / "fremd" / "Bewerbung.pdf").read_bytes() != outside_pdf:
        problems.append("symlink-to-application: the file outside the inbox was changed")
    known = {case.sha256 for case in inbox_corpus} | {ordinary.sha256}
    problems += [f"journal: an input nobody sent ({record['source'][:80]!r})"
                 for record in journal if record["sha256"] not in known]
    problems += _second_pass_problems(settings)
    fail_on(problems, run)


def _ordinary_file_problems(ordinary: FileCase, by_sha: dict[str, list[dict[str, Any]]],
                            settings: Settings) -> list[str]:
    records = by_sha.get(ordinary.sha256, [])
    if len(records) != 1 or records[0]["outcome"] != "registered":
        return [f"ordinary application behind the batch: {[r['outcome'] for r in records]}"]
    [app] = [a for a in application_records(settings) if a["az"] == records[0]["az"]]
    letters = [path for path in app["letters"] if Path(path).is_file()]
    return [] if letters else ["ordinary application: no letter written"]


def _file_problems(case: FileCase, records: list[dict[str, Any]]) -> list[str]:
    label = f"{case.name} ({case.file_name[:40]!r})"
    if len(records) != 1:
        return [f"{label}: {len(records)} journal entries, expected exactly one"]
    [record] = records
    if record["state"] != "done":
        return [f"{label}: left in state {record['state']!r}, no outcome"]
    problems = []
    if case.expected is not None and record["outcome"] != case.expected:
        problems.append(f"{label}: outcome {record['outcome']}, expected {case.expected} "
                        f"{record['reasons'][:1]}")
    problems += reason_problems(label, record) + name_problems(label, record["source"])
    problems += name_problems(label, record["kommune_name"] or "")
    problems += timeout_problems(label, record)
    if stored_bytes(record["stored_path"]) != case.data:
        problems.append(f"{label}: not byte for byte in archive or quarantine "
                        f"({record['stored_path']!r})")
    return problems


def _skipped_problems(case: FileCase, entry: Path, by_sha: dict[str, list[dict[str, Any]]]
                      ) -> list[str]:
    """A symlink, FIFO or hidden file is no input: it is never read. A hidden file stays as it
    is; a symlink or FIFO stays, or is moved itself (never its target) into the inbox's folder
    of refused entries with a German reason beside it."""
    label = f"{case.name} ({case.file_name[:40]!r})"
    try:
        mode = os.lstat(entry).st_mode
    except FileNotFoundError:
        refused = entry.parent / REFUSED_FOLDER
        moved = [path for path in refused.iterdir() if path.name.endswith(f"__{entry.name}")] \
            if refused.is_dir() and case.kind != "file" else []
        if len(moved) != 1 or not reason_file(moved[0]).is_file():
            return [f"{label}: removed from the inbox, not set aside with a reason"]
        entry, mode = moved[0], os.lstat(moved[0]).st_mode
    if case.kind == "symlink" and not stat.S_ISLNK(mode):
        return [f"{label}: no longer a symlink"]
    if case.kind == "fifo" and not stat.S_ISFIFO(mode):
        return [f"{label}: no longer a FIFO"]
    if case.kind == "file" and entry.read_bytes() != case.data:
        return [f"{label}: changed in the inbox"]
    if case.kind == "file" and case.sha256 in by_sha:
        return [f"{label}: taken although hidden"]
    return []


def _second_pass_problems(settings: Settings, mail: MailServers | None = None) -> list[str]:
    before = snapshot(settings)
    sent = len(mail.smtp.received) if mail is not None else 0
    run = run_pass(settings)
    problems = [f"second {problem}" for problem in run.problems]
    after = snapshot(settings)
    for part, old, new in zip(("journal", "register", "stored files", "mail ledger"),
                              before, after, strict=True):
        if old != new:
            problems.append(f"second pass changed the {part}: {_difference(old, new)}")
    if mail is not None and len(mail.smtp.received) != sent:
        problems.append(f"second pass sent {len(mail.smtp.received) - sent} more mails")
    return problems


def _difference(old: list[Any], new: list[Any]) -> str:
    added = [item for item in new if item not in old]
    removed = [item for item in old if item not in new]
    return f"+{str(added)[:300]} -{str(removed)[:300]}"


# -- the mailbox -------------------------------------------------------------------------------


def store_mail(mail: MailServers, raw: bytes) -> None:
    """IMAP APPEND; what the server refuses to append arrives by LMTP, as from an MTA."""
    try:
        mail.dovecot.append(OFFICE, raw)
    except MailServerError:
        mail.dovecot.deliver(raw, OFFICE)


@pytest.mark.timeout(2 * PASS_BOUND + 120)
def test_hostile_mails_each_end_with_one_outcome_and_at_most_one_answer(
        tmp_path: Path, database_url: str | None, mail: MailServers,
        mail_batch: list[MailCase]) -> None:
    mail_corpus = mail_batch
    settings = hostile_settings(tmp_path, database_url, mail)
    cases_by_uid: dict[int, MailCase] = {}
    for case in mail_corpus:
        store_mail(mail, case.raw)
    ordinary = hostilegen.ordinary_mail(SEED)
    store_mail(mail, ordinary.raw)
    stored = mail.dovecot.messages(OFFICE)  # the bytes as the server keeps them
    for message, case in zip(stored, [*mail_corpus, ordinary], strict=True):
        cases_by_uid[message.uid] = case
    raw_by_uid = {message.uid: message.raw for message in stored}

    run = run_pass(settings)

    problems = run.problems
    if run.seconds > PASS_BOUND:
        problems.append(f"pass: took {run.seconds:.0f} s")
    answers = _answers_by_recipient(mail)
    for uid, case in cases_by_uid.items():
        problems += _mail_problems(settings, uid, case, raw_by_uid[uid], answers)
    if not any("Eingangsbestätigung" in str(envelope.message["Subject"])
               for envelope in answers.get(ordinary.sender or "", [])):
        problems.append("ordinary application behind the batch: no Eingangsbestätigung sent")
    problems += [f"an answer went to {address} (named by an attacker)"
                 for address in answers if address.endswith("@" + ATTACKER_DOMAIN)]
    left = mail.dovecot.messages(OFFICE)
    done = len(mail.dovecot.messages(OFFICE, DONE)) if DONE in mail.dovecot.folders(OFFICE) else 0
    if done != len(cases_by_uid):
        problems.append(f"{done} of {len(cases_by_uid)} mails moved to {DONE}")
    if left:
        problems.append(f"{len(left)} mails left in the office INBOX (not marked done): "
                        + ", ".join(cases_by_uid[m.uid].name for m in left
                                    if m.uid in cases_by_uid))
    problems += _second_pass_problems(settings, mail)
    fail_on(problems, run)


def _answers_by_recipient(mail: MailServers) -> dict[str, list[Any]]:
    answers: dict[str, list[Any]] = {}
    for envelope in mail.smtp.received:
        for address in envelope.rcpt_tos:
            answers.setdefault(address.lower(), []).append(envelope)
    return answers


def _mail_problems(settings: Settings, uid: int, case: MailCase, raw: bytes,
                   answers: dict[str, list[Any]]) -> list[str]:
    label = f"mail {case.name}"
    with session_factory(settings.db_url).begin() as session:
        rows = list(session.scalars(select(MailRow).where(MailRow.uid == uid)))
        if len(rows) != 1:
            return [f"{label}: {len(rows)} entries in the mail ledger, expected one"]
        [row] = rows
        inputs = list(session.scalars(select(Input).join(
            MailInput, MailInput.input_id == Input.id).where(MailInput.mail_id == row.id)))
        records = [{"outcome": i.outcome, "reasons": list(i.reasons), "state": i.state,
                    "sha256": i.sha256, "stored_path": i.stored_path, "source": i.source_name,
                    "kommune_name": i.kommune_name}
                   for i in inputs]
        kind, raw_path = row.kind, row.raw_path
    problems = []
    if stored_bytes(raw_path) != raw:
        problems.append(f"{label}: raw mail not byte for byte in the archive ({raw_path!r})")
    for record in records:
        if record["state"] != "done":
            problems.append(f"{label}: an input left in state {record['state']!r}")
            continue
        problems += reason_problems(label, record) + name_problems(label, record["source"])
        problems += name_problems(label, record["kommune_name"] or "")
        problems += timeout_problems(label, record)
        data = stored_bytes(record["stored_path"])
        if data is None or sha256(data) != record["sha256"]:
            problems.append(f"{label}: an input not byte for byte in archive or quarantine")
    problems += _mail_outcome_problems(label, case, kind, records)
    sent = len(answers.get((case.sender or "").lower(), [])) if case.sender else 0
    wanted = {"registered": (1, 1), "invalid": (1, 1), "automatic": (0, 0), "staff": (0, 0),
              "capped": (1, 1), "declaration": (0, 1)}.get(case.expected or "", (0, 1))
    if case.sender and not wanted[0] <= sent <= wanted[1]:
        problems.append(f"{label}: {sent} answers to the sender, expected "
                        f"{'–'.join(map(str, sorted(set(wanted))))}")
    return problems


def _mail_outcome_problems(label: str, case: MailCase, kind: str,
                           records: list[dict[str, Any]]) -> list[str]:
    outcomes = sorted(str(r["outcome"]) for r in records)
    if case.expected == "automatic":
        return [] if kind in ("automatic", "bounce") and not records else [
            f"{label}: kind {kind} with inputs {outcomes}, expected automatic without input"]
    if case.expected == "staff":  # its inputs are kept (receipt time), marked for staff
        return [] if kind in ("staff", "unverified") and records else [
            f"{label}: kind {kind} with inputs {outcomes}, expected marked for staff"]
    if case.expected == "capped":  # not split: the mail itself is the one input
        return [] if kind == "staff" and outcomes == ["invalid"] else [
            f"{label}: kind {kind} with inputs {_counted(outcomes)}, expected the mail as one "
            "invalid input for staff"]
    if not records:
        return [f"{label}: kind {kind} but no input in the journal"]
    if case.expected == "registered":
        if outcomes != ["registered"] * case.applications:
            return [f"{label}: outcomes {_counted(outcomes)}, expected "
                    f"{case.applications} × registered; reasons "
                    f"{[r['reasons'][:1] for r in records if r['reasons']][:2]}"]
    elif case.expected is not None and set(outcomes) != {case.expected}:
        return [f"{label}: outcomes {_counted(outcomes)}, expected {case.expected}"]
    return []


def _counted(outcomes: list[str]) -> str:
    return ", ".join(f"{outcomes.count(o)} × {o}" for o in sorted(set(outcomes)))
