"""Journal and register as plain records for the command line and exports (I/O: database)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from ews.core.deadlines import BERLIN
from ews.core.models import Outcome, ReadMethod
from ews.core.references import az_of_folder, case_folder_of
from ews.register import cases as register
from ews.register import correspondence
from ews.register.database import Session, session_factory
from ews.runtime.settings import Settings

#: the journal's note on an input whose values text recognition read (staff check them)
READ_NOTES = {ReadMethod.OCR.value: "Per Texterkennung gelesen: bitte die Werte prüfen."}


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(BERLIN).isoformat() if moment else None


def journal_records(settings: Settings) -> list[dict[str, Any]]:
    """One record per input file ever seen (the ``ews journal --json`` contract)."""
    with session_factory(settings.db_url).begin() as session:
        return [{
            "source": row.source_name,
            "sha256": row.sha256,
            "received_at": _iso(row.stamped_at or row.received_at),
            "outcome": row.outcome,
            "az": declaration_az or (app.az if app is not None and row.outcome in (
                Outcome.REGISTERED, Outcome.LATE) else None),
            "kommune_name": row.kommune_name,
            "reasons": list(row.reasons) if row.outcome != Outcome.REGISTERED else [],
            "eingangsnummer": row.id,
            "channel": row.channel,
            "first_seen_at": _iso(row.received_at),
            "stamped_at": _iso(row.stamped_at),
            "stored_path": row.stored_path,
            "state": row.state,
            "read_method": row.read_method,
            "notes": [READ_NOTES[row.read_method]] if row.read_method in READ_NOTES else [],
        } for row, app, declaration_az in register.journal_rows(session)]


def application_records(settings: Settings) -> list[dict[str, Any]]:
    """One record per application (the ``ews applications --json`` contract)."""
    with session_factory(settings.db_url).begin() as session:
        records = []
        for app in register.application_rows(session):
            letters = register.letters_of_application(session, app.id)
            replaced_by = register.application_of(session, app.replaced_by_id)
            records.append({
                "az": app.az, "kommune_name": app.kommune_name, "ags": app.ags,
                "status": app.status, "received_at": _iso(app.received_at),
                "round": app.round_name, "deadline_last_day": app.deadline_last_day,
                "replaced_by": replaced_by.az if replaced_by else None,
                "fields": app.fields,
                "letters": [p for letter in letters
                            for p in (letter.docx_path, letter.pdf_path) if p],
            })
        return records


def record_stamp(settings: Settings, file: Path, stamped: datetime, *, actor: str,
                 now: datetime) -> str:
    """Record a paper receipt stamp for a file waiting in the inbox; it overrides the time the
    service first sees the file. Returns a German confirmation."""
    path = file.resolve()
    if not path.is_file() or settings.inbox_dir.resolve() not in path.parents:
        return f"Die Datei {file} liegt nicht im Posteingang {settings.inbox_dir}."
    stat = path.stat()
    with session_factory(settings.db_url).begin() as session:
        seen = register.sighting(session, str(path), stat.st_size, stat.st_mtime_ns, now)
        seen.stamped_at = stamped
        # logged under the case when the file lies in its folder; else under the path until
        # the file is claimed (``cases.file_stamp_events``): the Akte and the deletion run
        # find it there, and a path may hold a person's name
        az = _case_of_folder(session, settings, path)
        register.log_event(session, actor=actor, action=register.STAMP, subject=az or str(path),
                           detail={"stamped_at": stamped.isoformat(),
                                   **({"datei": str(path)} if az else {})})
    return (f"Eingangsstempel {stamped:%d.%m.%Y %H:%M} Uhr für {file.name} erfasst; er gilt "
            "als Eingangszeit.")


def _case_of_folder(session: Session, settings: Settings, path: Path) -> str | None:
    """The Az. of the case whose folder in the inbox ``path`` lies in (as
    ``ews.intake.case_folders`` files its files), if that case exists."""
    folder = case_folder_of(path, settings.inbox_dir.resolve(), settings.az.file_plan_key)
    az = folder and az_of_folder(folder, settings.az.file_plan_key, settings.az.serial_digits)
    return az if az and correspondence.az_exists(session, az) else None


def input_id_for(settings: Settings, reference: str) -> int | None:
    """The Eingangsnummer of an input named by its number or its application's Az."""
    with session_factory(settings.db_url).begin() as session:
        row = register.input_by_reference(session, reference)
        return None if row is None else row.id
