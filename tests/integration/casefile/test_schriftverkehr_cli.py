"""``ews schriftverkehr``: staff see the correspondence the intake filed, mark a release
confirmation (closing the case's release follow-up), file a piece by hand; refusals in German.
The pieces come through the ordinary intake (a file in an Az.-named inbox folder)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fpdf import FPDF
from typer.testing import CliRunner

from ews.core.models import FollowUpKind
from ews.intake import passes as intake
from ews.register import follow_ups
from ews.register.database import transaction
from ews.register.schema import ApplicationRow, CorrespondenceRow, EventRow, FollowUpRow
from ews.runtime.settings import Settings
from flows.cli import app
from tests.conftest import cli_env, make_settings
from tests.support import pdfgen


def release_letter() -> bytes:
    """A signed release confirmation as a municipality scans or writes it: a PDF, no form."""
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=12)
    pdf.multi_cell(0, 8, "Bestaetigung der Freistellung des Teams fuer die Werkstatt.")
    return bytes(pdf.output())


def ews(settings: Settings, *args: str) -> tuple[int, str]:
    outcome = CliRunner().invoke(app, ["schriftverkehr", *args],
                                 env={**cli_env(settings), "COLUMNS": "250"})
    return outcome.exit_code, outcome.output


def test_staff_mark_a_release_confirmation_and_file_a_piece_by_hand(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "ablage", letters={"pdf": False})
    (settings.inbox_dir / "bewerbung.pdf").write_bytes(pdfgen.filled_form())
    [first] = intake.run_pass(settings)
    assert first.az
    now = datetime.now(UTC)
    with transaction(settings.db_url) as session:
        application = session.query(ApplicationRow).filter_by(az=first.az).one()
        follow_ups.open_follow_up(session, az=first.az, kind=FollowUpKind.RELEASE,
                                  due_on=now.date() + timedelta(days=14), actor="test",
                                  now=now, application_id=application.id)
    key, rest = first.az.split("-", 1)
    serial, year = rest.split("/")
    folder = settings.inbox_dir / f"{key}-{serial}_{year}"
    folder.mkdir()
    (folder / "Freistellung.pdf").write_bytes(release_letter())
    assert intake.run_pass(settings) == []  # filed to the case: no new input
    with transaction(settings.db_url) as session:
        [piece] = session.query(CorrespondenceRow).all()
        piece_id = piece.id
        assert piece.az == first.az
        # a second piece, as a mail without a case would leave it: for staff
        session.add(CorrespondenceRow(channel="postfach", matched_by="keine", subject="Frage",
                                      sender="kaemmerei@example.org", received_at=now,
                                      attachments=[], sha256="0" * 64))

    code, output = ews(settings, "--json")
    records = [json.loads(line) for line in output.splitlines()]
    assert code == 0 and sorted(str(r["aktenzeichen"]) for r in records) == [first.az, "None"]
    [filed] = [r for r in records if r["aktenzeichen"] == first.az]
    assert filed["anhaenge"] == ["Freistellung.pdf"] and filed["zugeordnet_durch"] == "ordner"
    [stray] = [r["id"] for r in records if r["aktenzeichen"] is None]
    code, output = ews(settings)
    assert code == 0 and "Freistellung.pdf" in output and "Aktenordner im Posteingang" in output

    code, output = ews(settings, "erledigt", str(stray), "--freistellung")
    assert code == 2 and "keinem Fall" in output
    code, output = ews(settings, "zuordnen", str(stray), "13.0.70 – 999/1999")
    assert code == 2 and "nicht vergeben" in output
    code, output = ews(settings, "zuordnen", str(stray), first.az.replace("-", " – "))
    assert code == 0 and first.az in output
    code, output = ews(settings, "erledigt", str(piece_id), "--freistellung",
                       "--notiz", "Freistellung liegt vor", "--von", "Frau Schmitz")
    assert code == 0 and "Freistellung" in output
    code, output = ews(settings, "erledigt", str(stray), "--freistellung")
    assert code == 2 and "keine Bestätigung der Freistellung offen" in output
    code, output = ews(settings, "erledigt", "999")
    assert code == 2 and "gibt es nicht" in output

    with transaction(settings.db_url) as session:
        [release] = session.query(FollowUpRow).all()
        assert (release.state, release.closed_by, release.close_note) == (
            "erledigt", "Frau Schmitz", "Freistellung liegt vor")
        actions = {event.action for event in session.query(EventRow)}
    assert {"schriftverkehr-erledigt", "schriftverkehr-zugeordnet",
            "wiedervorlage-erledigt"} <= actions
    code, output = ews(settings, "--json")
    assert code == 0 and [json.loads(line)["id"] for line in output.splitlines()] == [stray]
