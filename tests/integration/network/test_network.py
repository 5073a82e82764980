"""The Kommunen-Netzwerk: a Gemeinsame Erklärung on demand for any NRW municipality, its
signed return recognised in the inbox, the roster on the command line and in Excel, and the
template check staff run after editing a template."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader
from typer.testing import CliRunner

from ews.documents.declaration_scan import qr_marks
from ews.intake import passes as intake
from ews.network.roster import roster
from ews.register.database import session_factory
from ews.register.reports import application_records, journal_records
from ews.runtime.settings import LetterSettings, Settings
from flows.cli import app
from tests.conftest import cli_env, make_settings
from tests.integration.letters.test_letters import TEMPLATES, append_paragraph
from tests.support import pdfgen

pytestmark = [pytest.mark.libreoffice, pytest.mark.ocr]


@pytest.fixture
def office(tmp_path: Path) -> Settings:
    settings = make_settings(tmp_path, letters=LetterSettings(pdf=True, timeout_seconds=240))
    intake.prepare(settings)
    return settings


def test_declaration_on_demand_is_recognised_when_it_comes_back_signed(
        office: Settings) -> None:
    runner = CliRunner()
    issued = runner.invoke(app, ["erklaerung", "Kreis Olpe", "--name", "Theo Melcher",
                                 "--funktion", "Landrat"], env=cli_env(office))
    assert issued.exit_code == 0, issued.output
    assert "Kreis Olpe erstellt" in issued.output
    pdf = next(office.outbox_dir.rglob("*Gemeinsame Erklärung.pdf"))
    text = PdfReader(pdf).pages[0].extract_text()
    assert "Kommune: Kreis Olpe" in text and "Funktion: Landrat" in text
    [(az, ags)] = qr_marks(pdf.read_bytes())
    assert ags == "05966" and f"Aktenzeichen: {az}" in text

    again = runner.invoke(app, ["erklaerung", "05966"], env=cli_env(office))
    assert again.exit_code == 0 and az in again.output and "erneut erstellt" in again.output
    unknown = runner.invoke(app, ["erklaerung", "Stadt Atlantis"], env=cli_env(office))
    assert unknown.exit_code == 2 and "nicht gefunden" in unknown.output

    (office.inbox_dir / "scan.pdf").write_bytes(pdfgen.scanned_pages(pdf.read_bytes(), dpi=200))
    [result] = intake.run_pass(office)
    assert (result.outcome.value, result.az) == ("declaration", az)
    assert application_records(office) == []  # not an application
    [record] = journal_records(office)
    assert record["outcome"] == "declaration" and record["az"] == az
    assert any("Datum der Unterschrift" in reason for reason in record["reasons"])
    with session_factory(office.db_url).begin() as session:
        [member] = roster(session)
    assert (member["ags"], member["kommune"]) == ("05966", "Kreis Olpe")
    assert (member["unterzeichnet_von"], member["funktion"]) == ("Theo Melcher", "Landrat")
    assert member["quelle"] == "Erklärung auf Anfrage"
    assert any(p.name.endswith("Beitrittsbestätigung.pdf") for p in office.outbox_dir.rglob("*"))

    # the same signed copy a second time: filed with the case, no second confirmation
    (office.inbox_dir / "scan noch einmal.pdf").write_bytes(
        pdfgen.scanned_pages(pdf.read_bytes(), dpi=200, seed=3))
    [second] = intake.run_pass(office)
    assert second.outcome.value == "declaration" and "bereits am" in second.reasons[0]
    assert len(list(office.outbox_dir.rglob("*Beitrittsbestätigung.docx"))) == 1


def test_roster_entries_by_staff_on_the_command_line_and_in_excel(office: Settings) -> None:
    runner = CliRunner()
    refused = runner.invoke(app, ["netzwerk", "setzen", "Stadt Troisdorf"], env=cli_env(office))
    assert refused.exit_code == 2 and "Beitrittsdatum" in refused.output
    done = runner.invoke(app, ["netzwerk", "setzen", "Stadt Troisdorf", "--beitritt",
                               "06.12.2017", "--ehrenamtskarte", "teilnahme", "--querschnitt",
                               "--ansprechperson", "Ute Beispiel", "--von", "frau.meier"],
                         env=cli_env(office))
    assert done.exit_code == 0, done.output
    wrong = runner.invoke(app, ["netzwerk", "setzen", "Stadt Troisdorf", "--ehrenamtskarte",
                                "vielleicht"], env=cli_env(office))
    assert wrong.exit_code == 2 and "vielleicht" in wrong.output

    listed = runner.invoke(app, ["netzwerk", "--json"], env=cli_env(office))
    [member] = [json.loads(line) for line in listed.output.splitlines()]
    assert member["beitritt"] == "2017-12-06" and member["ehrenamtskarte"] == "teilnahme"
    assert member["querschnittsaufgabe"] is True and member["kontinuierliche_mitarbeit"] is None
    table = runner.invoke(app, ["netzwerk"], env=cli_env(office) | {"COLUMNS": "200"})
    assert "Troisdorf" in table.output and "06.12.2017" in table.output

    target = office.data_dir / "netzwerk.xlsx"
    exported = runner.invoke(app, ["netzwerk", "export", str(target)], env=cli_env(office))
    assert exported.exit_code == 0, exported.output
    sheet = load_workbook(target)["Netzwerk"]
    header = [cell.value for cell in sheet[1]]
    row = dict(zip(header, [cell.value for cell in sheet[2]], strict=True))
    assert row["Gemeindeschlüssel"] == "05382068" and sheet.cell(2, 1).data_type == "s"
    assert row["Beitritt"].date() == date(2017, 12, 6)
    assert row["Ehrenamtskarte NRW"] == "nimmt teil" and row["Querschnittsaufgabe"] == "ja"
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref


def test_templates_check_names_template_tag_and_problem(tmp_path: Path) -> None:
    runner = CliRunner()
    templates = tmp_path / "vorlagen"
    shutil.copytree(TEMPLATES, templates)
    env = {"EWS_TEMPLATES_DIR": str(templates), "COLUMNS": "300"}
    fine = runner.invoke(app, ["templates", "check"], env=env)
    assert fine.exit_code == 0 and "in Ordnung" in fine.output

    append_paragraph(templates / "wartelistenbescheid.docx", "Platz {{ rnag }}")
    append_paragraph(templates / "zusage.docx", "Bis {{ rueckmeldung_", "bis }} bitte")  # split
    mail = templates / "mail" / "bescheid.txt.j2"
    mail.write_text(mail.read_text(encoding="utf-8") + "{{ aktenzeichn }}\n", encoding="utf-8")
    append_paragraph(templates / "rundschreiben.docx", "{{ mitteilnug }}")
    broken = runner.invoke(app, ["templates", "check"], env=env)
    assert broken.exit_code == 1
    output = " ".join(broken.output.split())
    assert "„wartelistenbescheid.docx“: Der Platzhalter „{{ rnag }}“ ist unbekannt" in output
    assert "Gemeint ist vielleicht „{{ rang }}“" in output
    assert "zusage.docx" not in output  # a tag split across runs by Word still works
    assert "„bescheid.txt.j2“" in output and "aktenzeichn" in output
    assert "„rundschreiben.docx“" in output and "mitteilnug" in output

    shutil.copy(TEMPLATES / "rundschreiben.docx", templates / "rundschreiben.docx")
    html = templates / "mail" / "rundschreiben.html.j2"
    html.write_text(html.read_text(encoding="utf-8") + "{{ betref }}", encoding="utf-8")
    output = " ".join(runner.invoke(app, ["templates", "check"], env=env).output.split())
    assert "Rundschreiben" in output and "betref" in output


def test_declaration_with_an_az_never_issued_is_quarantined_with_its_reason(
        office: Settings) -> None:
    from tests.support.declgen import HAGEN, declaration_pdf

    document = declaration_pdf(HAGEN)
    (office.inbox_dir / "Erklaerung Hagen.pdf").write_bytes(document)
    [result] = intake.run_pass(office)
    assert result.outcome.value == "invalid" and result.az is None
    assert "13.0.70-007/2027" in result.reasons[0] and "keine Erklärung" in result.reasons[0]
    [quarantined] = office.quarantine_dir.glob("*Erklaerung Hagen.pdf")
    assert quarantined.read_bytes() == document
    assert application_records(office) == []
