"""Returned declarations through detect_declaration and the intake's reader: real pypdf,
pdftoppm, zxing and tesseract.

Every variant of ``tests/declgen.py``: the text layer, scans, a stamp over the QR code, a phone
photo, a handwritten date, a page fed upside down, a scanner's own OCR, and the office's own
template rendered by LibreOffice. Applications and other people's QR codes are no declaration.
Codes with a forged, altered or no checksum are read with what they carry, and the intake
refuses them with the reason; staff file one by hand (``ews netzwerk zuordnen``).
"""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import zxingcpp
from sqlalchemy import select
from typer.testing import CliRunner

from ews.core.errors import ConfigurationError, NotAPdf, UnreadablePdf
from ews.core.models import DeclarationMark
from ews.core.municipalities import by_key
from ews.documents.declaration_scan import detect_declaration, qr_marks
from ews.intake import passes as intake
from ews.intake.reading import assess_document
from ews.network.declarations import issue_on_demand
from ews.network.roster import roster
from ews.register.database import session_factory
from ews.register.reports import journal_records
from ews.register.schema import EventRow
from ews.runtime.settings import NetworkSettings, Settings
from flows.cli import app
from tests.conftest import QR_KEY, cli_env, make_settings
from tests.support import declgen, pdfgen
from tests.support.declgen import Declaration, Scan

pytestmark = pytest.mark.ocr

MARK = DeclarationMark(
    az="13.0.70-007/2027", ags="05914000", method="qr", signatory="Erik O. Schulz",
    function="Oberbürgermeister", signed_on=date(2027, 5, 12), place="Hagen",
    checksum=declgen.checksum("13.0.70-007/2027", "05914000"),
)  # fmt: skip
DEPUTY = Declaration(
    az="13.0.70-012/2027", ags="05958", kommune="Hochsauerlandkreis", name="Dr. Anna Beispiel",
    function="Erster Beigeordneter", date_text="Meschede, 3.6.27",
)  # fmt: skip
DEPUTY_MARK = DeclarationMark(
    az="13.0.70-012/2027", ags="05958", method="ocr", signatory="Dr. Anna Beispiel",
    function="Erster Beigeordneter", signed_on=date(2027, 6, 3), place="Meschede",
)  # fmt: skip


# --- the QR code ----------------------------------------------------------------------------


def test_qr_codes_of_others_are_read_but_ignored() -> None:
    data = declgen.foreign_codes_pdf()
    page = pdfgen.rendered_pages(data, dpi=150)[0]
    assert len(zxingcpp.read_barcodes(page)) == 2  # both codes are legible …
    assert qr_marks(data) == []  # … and none is ours
    assert detect_declaration(data) is None


# --- documents with a text layer ------------------------------------------------------------


def test_text_layer_declaration_is_read_completely() -> None:
    assert detect_declaration(declgen.declaration_pdf()) == MARK.model_copy(
        update={"method": "text"}
    )


def test_text_layer_declaration_without_qr_code_is_read_from_its_text() -> None:
    mark = detect_declaration(declgen.declaration_pdf(qr=False), ocr=False)
    assert mark == MARK.model_copy(update={"method": "text", "checksum": None})


def test_qr_code_wins_when_the_text_names_another_az() -> None:
    other = declgen.signed_payload("13.0.70-008/2027", "05914000")
    mark = detect_declaration(declgen.declaration_pdf(qr_text=other))
    assert mark == MARK.model_copy(update={
        "az": "13.0.70-008/2027", "checksum": declgen.checksum("13.0.70-008/2027", "05914000")})


def test_text_layer_given_by_the_caller_is_used() -> None:
    texts = ["", "Gemeinsame Erklärung … nichts davon"]
    data = declgen.declaration_pdf(qr=False)
    assert detect_declaration(data, page_texts=texts, ocr=False) is None
    assert detect_declaration(data, page_texts=[]) is None


@pytest.mark.libreoffice
def test_office_template_rendered_by_libreoffice_is_read_from_its_text_layer() -> None:
    mark = detect_declaration(declgen.office_declaration())
    assert mark == MARK.model_copy(update={"method": "text", "signed_on": None, "place": None})


def test_scanner_ocr_text_layer_is_enough() -> None:
    assert detect_declaration(declgen.searchable_scan()) == MARK.model_copy(
        update={"method": "text"}
    )


def test_qr_code_corrects_an_az_the_scanners_ocr_misread() -> None:
    data = declgen.searchable_scan(misread_az="13.0.70-001/2027")
    assert detect_declaration(data, ocr=False) == MARK


# --- scans ----------------------------------------------------------------------------------


def test_skewed_noisy_200_dpi_scan_is_recognised_by_its_qr_code() -> None:
    data = declgen.scanned_declaration()
    assert qr_marks(data) == [("13.0.70-007/2027", "05914000")]
    assert detect_declaration(data) == MARK


def test_without_ocr_a_scan_yields_only_what_the_qr_code_says() -> None:
    mark = detect_declaration(declgen.scanned_declaration(), ocr=False)
    assert mark == DeclarationMark(az="13.0.70-007/2027", ags="05914000", method="qr",
                                   checksum=MARK.checksum)


def test_scan_of_the_office_template_is_recognised_by_its_qr_code() -> None:
    data = declgen.scanned(declgen.office_declaration(), Scan(dpi=150, angle=2.0, blur=0.9))
    mark = detect_declaration(data)
    assert mark == MARK.model_copy(update={"signed_on": None, "place": None})


def test_stamp_over_the_qr_code_leaves_ocr_to_find_the_deputy_declaration() -> None:
    data = declgen.stamped_scan(DEPUTY)
    assert qr_marks(data) == []
    assert detect_declaration(data) == DEPUTY_MARK


def test_stamped_scan_is_not_recognised_without_ocr() -> None:
    assert detect_declaration(declgen.stamped_scan(DEPUTY), ocr=False) is None


def test_phone_photo_with_shadow_is_recognised_and_read() -> None:
    mark = detect_declaration(declgen.phone_photo())
    assert mark is not None
    assert (mark.az, mark.ags, mark.method) == ("13.0.70-007/2027", "05914000", "qr")
    assert (mark.function, mark.signed_on, mark.place) == (
        "Oberbürgermeister", date(2027, 5, 12), "Hagen",
    )  # fmt: skip
    assert mark.signatory is not None and "Schulz" in mark.signatory  # "O." may come as "O,"


def test_handwritten_date_above_the_line_is_read() -> None:
    declaration = Declaration(date_text="Hagen, den 12. Mai 2027", handwritten_date=True)
    assert detect_declaration(declgen.scanned_declaration(declaration)) == MARK


def test_page_fed_upside_down_is_turned_by_the_qr_code_before_ocr() -> None:
    assert detect_declaration(declgen.upside_down_scan()) == MARK


def test_upside_down_page_with_covered_qr_code_is_not_recognised() -> None:
    """tesseract reads no text upside down, and without the QR code nothing tells the turn."""
    page = pdfgen.rendered_pages(declgen.stamped_scan(), dpi=200)[0]
    buffer = io.BytesIO()
    page.rotate(180).save(buffer, "PDF", resolution=200)
    assert detect_declaration(buffer.getvalue()) is None


# --- applications and broken files -----------------------------------------------------------


def test_scanned_application_is_no_declaration() -> None:
    assert detect_declaration(pdfgen.scanned_office_form()) is None


def test_application_quoting_the_declaration_is_no_declaration() -> None:
    motivation = (
        "Wir sind 2026 beigetreten:\n"
        f"{declgen.TITLE}\n{declgen.SUBTITLE}\nAktenzeichen: 13.0.70-003/2026"
    )
    data = pdfgen.printed_form(dict(pdfgen.VALUES, motivation=motivation))
    assert detect_declaration(data) is None


def test_damaged_files_raise_the_errors_of_the_pdf_reader() -> None:
    data = declgen.declaration_pdf()
    with pytest.raises(NotAPdf):
        detect_declaration(pdfgen.png_bytes())
    with pytest.raises(UnreadablePdf):
        detect_declaration(data[: len(data) // 2])
    with pytest.raises(UnreadablePdf):
        detect_declaration(pdfgen.encrypted_form("AES-256", user_password="geheim"))


def test_missing_pdftoppm_is_a_configuration_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ConfigurationError, match="pdftoppm"):
        detect_declaration(declgen.scanned_declaration())



# --- the intake's reader: the same recognition, one rasterisation --------------------------


@pytest.mark.parametrize("variant", ["text", "searchable_misread", "scan", "stamped", "photo",
                                     "upside_down"])
def test_the_intake_reads_every_variant_as_the_declaration_it_is(variant: str) -> None:
    data, expected = {
        "text": (declgen.declaration_pdf(), MARK.model_copy(update={"method": "text"})),
        "searchable_misread": (declgen.searchable_scan(misread_az="13.0.70-001/2027"), MARK),
        "scan": (declgen.scanned_declaration(), MARK),
        "stamped": (declgen.stamped_scan(DEPUTY), DEPUTY_MARK),
        "photo": (declgen.phone_photo(), None),
        "upside_down": (declgen.upside_down_scan(), MARK),
    }[variant]
    assessment = assess_document(data, Settings(_env_file=None))
    assert assessment.application is None and assessment.reasons == []
    mark = assessment.declaration
    assert mark is not None
    if expected is None:  # the photo: "Erik O. Schulz" may come as "Erik O, Schulz"
        assert mark.signatory is not None and "Schulz" in mark.signatory
        expected = MARK.model_copy(update={"signatory": mark.signatory})
    assert mark == expected


def test_the_intake_still_reads_a_scanned_application_as_an_application() -> None:
    assessment = assess_document(pdfgen.scanned_office_form(), Settings(_env_file=None))
    assert assessment.declaration is None and assessment.application is not None


# --- the checksum: forged, altered and unsigned codes ----------------------------------------

OLPE = Declaration(az="13.0.70-002/2027", ags="05966", kommune="Kreis Olpe", name="Theo Melcher",
                   function="Landrat", date_text="Olpe, 2.6.2027")


@pytest.mark.parametrize(("payload", "ags", "checksum"), [
    (declgen.forged_payload(OLPE.az, OLPE.ags), OLPE.ags, "forged"),
    (declgen.altered_payload(OLPE.az, "05914000", OLPE.ags), OLPE.ags, "of 05914000"),
    (declgen.unsigned_payload(OLPE.az, OLPE.ags), OLPE.ags, ""),
])
def test_scanned_code_is_read_with_the_checksum_it_carries(
        payload: str, ags: str, checksum: str) -> None:
    mark = detect_declaration(declgen.scanned(declgen.declaration_pdf(OLPE, qr_text=payload)),
                              ocr=False)
    assert mark is not None and (mark.az, mark.ags, mark.method) == (OLPE.az, ags, "qr")
    expected = {"forged": declgen.forged_payload(OLPE.az, OLPE.ags).rpartition("|")[2],
                "of 05914000": declgen.checksum(OLPE.az, "05914000"), "": ""}[checksum]
    assert mark.checksum == expected
    assert mark.checksum != declgen.checksum(OLPE.az, OLPE.ags)


def test_altered_code_wins_over_the_text_and_keeps_its_checksum() -> None:
    """The text says Hagen; the code was the office's for Hagen, with Olpe's key typed in."""
    hagen = Declaration(az=OLPE.az)
    altered = declgen.altered_payload(OLPE.az, hagen.ags, OLPE.ags)
    mark = detect_declaration(declgen.declaration_pdf(hagen, qr_text=altered))
    assert mark is not None and (mark.ags, mark.method) == (OLPE.ags, "qr")
    assert mark.checksum == declgen.checksum(OLPE.az, hagen.ags)


@pytest.fixture
def office(tmp_path: Path) -> tuple[Settings, dict[str, str]]:
    """A register in which Olpe's and Hagen's declarations were issued; their Az. by AGS."""
    settings = make_settings(tmp_path)
    intake.prepare(settings)
    azs = {}
    with session_factory(settings.db_url).begin() as session:
        for ags in (OLPE.ags, "05914000"):
            municipality = by_key(ags).municipality
            assert municipality is not None
            row, _data, _new = issue_on_demand(session, municipality, settings,
                                               datetime(2027, 5, 3, 9, tzinfo=UTC), actor="test")
            azs[ags] = row.az
    return settings, azs


def _returned(settings: Settings, name: str, declaration: Declaration, payload: str
              ) -> intake.InputResult:
    (settings.inbox_dir / name).write_bytes(declgen.declaration_pdf(declaration,
                                                                    qr_text=payload))
    [result] = intake.run_pass(settings)
    return result


def test_forged_code_is_quarantined_with_its_reason_and_filed_by_staff_by_hand(
        office: tuple[Settings, dict[str, str]]) -> None:
    settings, azs = office
    olpe = Declaration(**{**OLPE.__dict__, "az": azs[OLPE.ags]})

    result = _returned(settings, "Erklaerung Olpe.pdf", olpe,
                       declgen.forged_payload(olpe.az, olpe.ags))

    assert result.outcome.value == "invalid" and result.az is None
    assert result.reasons[0].startswith(
        "Der QR-Code der Gemeinsamen Erklärung ist nicht gültig (Prüfsumme stimmt nicht)")
    assert len(list(settings.quarantine_dir.glob("*Erklaerung Olpe.pdf"))) == 1
    [note] = settings.quarantine_dir.glob("*Grund*")
    assert "Prüfsumme stimmt nicht" in note.read_text(encoding="utf-8")
    with session_factory(settings.db_url).begin() as session:
        assert roster(session) == []

    # staff looked at it, phoned Olpe, and file it by hand
    runner = CliRunner()
    filed = runner.invoke(app, ["netzwerk", "zuordnen", str(result.input_id), olpe.az,
                                "--datum", "02.06.2027", "--von", "frau.meier"],
                          env=cli_env(settings))
    assert filed.exit_code == 0, filed.output
    assert f"als Gemeinsame Erklärung {olpe.az} von Kreis Olpe zugeordnet" in filed.output
    [record] = journal_records(settings)
    assert record["outcome"] == "declaration" and record["az"] == olpe.az
    assert "zugeordnet von frau.meier" in record["reasons"][0]
    with session_factory(settings.db_url).begin() as session:
        [member] = roster(session)
        [event] = session.scalars(select(EventRow).where(
            EventRow.action == "erklaerung-eingegangen")).all()
    assert (member["ags"], member["unterzeichnet_am"]) == (OLPE.ags, "2027-06-02")
    assert (event.actor, event.detail["erkannt"]) == ("frau.meier", "von Hand")
    assert any(p.name.endswith("Beitrittsbestätigung.docx")
               for p in settings.outbox_dir.rglob("*"))

    again = runner.invoke(app, ["netzwerk", "zuordnen", str(result.input_id), olpe.az],
                          env=cli_env(settings))
    assert again.exit_code == 2 and "abgewiesener" in " ".join(again.output.split())


def test_signed_code_files_the_return_and_altered_or_unsigned_ones_are_refused(
        office: tuple[Settings, dict[str, str]]) -> None:
    settings, azs = office
    olpe = Declaration(**{**OLPE.__dict__, "az": azs[OLPE.ags]})
    hagen = Declaration(az=azs["05914000"])

    # Hagen's own code with Olpe's key typed in, on a page saying Olpe
    altered = _returned(settings, "olpe-veraendert.pdf", olpe,
                        declgen.altered_payload(hagen.az, hagen.ags, olpe.ags))
    assert altered.outcome.value == "invalid"
    assert "Prüfsumme stimmt nicht" in altered.reasons[0]
    old = _returned(settings, "olpe-alt.pdf", olpe, declgen.unsigned_payload(olpe.az, olpe.ags))
    assert old.outcome.value == "invalid"
    assert "QR-Code ohne Prüfsumme" in old.reasons[0] and olpe.az in old.reasons[0]
    signed = _returned(settings, "olpe.pdf", olpe, declgen.signed_payload(olpe.az, olpe.ags))
    assert (signed.outcome.value, signed.az) == ("declaration", olpe.az)
    with session_factory(settings.db_url).begin() as session:
        assert [m["ags"] for m in roster(session)] == [OLPE.ags]


def test_unsigned_code_is_filed_by_itself_when_the_office_accepts_unsigned_ones(
        tmp_path: Path) -> None:
    settings = make_settings(tmp_path, network=NetworkSettings(qr_key=QR_KEY,
                                                               accept_unsigned=True))
    intake.prepare(settings)
    with session_factory(settings.db_url).begin() as session:
        municipality = by_key(OLPE.ags).municipality
        assert municipality is not None
        row, _data, _new = issue_on_demand(session, municipality, settings,
                                           datetime(2027, 5, 3, 9, tzinfo=UTC), actor="test")
        az = row.az
    olpe = Declaration(**{**OLPE.__dict__, "az": az})
    result = _returned(settings, "olpe-alt.pdf", olpe, declgen.unsigned_payload(az, OLPE.ags))
    assert (result.outcome.value, result.az) == ("declaration", az)
