"""Rendering the shipped letter templates with real docxtpl, read back with python-docx."""

from __future__ import annotations

import io
import os
import shutil
import zipfile
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from docx import Document
from docx.oxml.ns import qn
from docx.text.paragraph import Paragraph
from lxml import etree

from ews.core.errors import ConfigurationError, TemplateError
from ews.core.models import LetterKind, Recipient
from ews.letters.context import LetterData
from ews.letters.render import render_letter
from ews.letters.templates import check_templates
from ews.runtime.settings import OfficeSettings

TEMPLATES = Path(__file__).resolve().parents[3] / "templates"
OFFICE = OfficeSettings()


def make_data(kind: LetterKind, **changes: object) -> LetterData:
    values: dict[str, object] = {
        "kind": kind,
        "recipient": Recipient(
            lines=["Stadt Bergkamen", "Der Bürgermeister", "Rathausplatz 1", "59192 Bergkamen"],
            salutation="Sehr geehrter Herr Bürgermeister Schäfer,",
        ),
        "reference": "13.0.70-007/2024",
        "letter_date": date(2024, 3, 4),
        "round_name": "EWS 5",
        "kommune_name": "Stadt Bergkamen",
        "received_at": datetime(2024, 3, 1, 13, 3, tzinfo=UTC),
        "deadline_day": date(2024, 3, 1),
        "source_name": "Bewerbung Bergkamen.pdf",
        "summary": [
            ("Name der Kommune", "Stadt Bergkamen"),
            ("Motivation", "Wir wollen das Ehrenamt stärken.\nZweiter Absatz."),
        ],
    }
    values.update(changes)
    return LetterData.model_validate(values)


def paragraphs(path: Path) -> list[Paragraph]:
    """Every paragraph a reader sees: body, table cells, headers and footers."""
    document = Document(str(path))
    parts = [document.element.body]
    for section in document.sections:
        for part in (section.header, section.first_page_footer, section.footer):
            parts.append(part._element)
    return [Paragraph(p, document) for part in parts for p in part.iter(qn("w:p"))]


def text_of(path: Path) -> str:
    return "\n".join(paragraph.text for paragraph in paragraphs(path))


def render(
    kind: LetterKind, tmp_path: Path, templates: Path = TEMPLATES, **changes: object
) -> Path:
    return render_letter(make_data(kind, **changes), OFFICE, templates, tmp_path / "brief.docx")


@pytest.fixture
def template_copy(tmp_path: Path) -> Path:
    folder = tmp_path / "vorlagen"
    shutil.copytree(TEMPLATES, folder)
    return folder


def append_paragraph(template: Path, *runs: str) -> None:
    """Adds one paragraph; alternate runs are bold, as when Word splits text by formatting."""
    document = Document(str(template))
    paragraph = document.add_paragraph()
    for index, text in enumerate(runs):
        paragraph.add_run(text).bold = index % 2 == 1
    document.save(str(template))


def test_eingangsbestaetigung_states_az_receipt_time_and_deadline(tmp_path: Path) -> None:
    text = text_of(render(LetterKind.EINGANGSBESTAETIGUNG, tmp_path))

    assert "Stadt Bergkamen\nDer Bürgermeister\nRathausplatz 1\n59192 Bergkamen" in text
    assert "Sehr geehrter Herr Bürgermeister Schäfer," in text
    assert "am Freitag, 1. März 2024, um 14:03 Uhr erhalten" in text
    assert "unter dem Aktenzeichen 13.0.70-007/2024 registriert" in text
    assert "Bewerbungsfrist: Freitag, 1. März 2024, 24:00 Uhr" in text
    assert "Datum:\t04.03.2024" in text
    assert "Mit freundlichen Grüßen" in text
    assert "ersetzt" not in text


def test_eingangsbestaetigung_lists_the_form_values_with_their_line_breaks(
    tmp_path: Path,
) -> None:
    found = paragraphs(render(LetterKind.EINGANGSBESTAETIGUNG, tmp_path))

    texts = [paragraph.text for paragraph in found]
    assert "Anlage: Ihre Angaben" in texts
    assert texts.index("Motivation") + 1 == texts.index(
        "Wir wollen das Ehrenamt stärken.\nZweiter Absatz."
    )


def test_eingangsbestaetigung_names_the_replaced_application(tmp_path: Path) -> None:
    path = render(LetterKind.EINGANGSBESTAETIGUNG, tmp_path, replaces_reference="13.0.70-002/2024")

    text = " ".join(text_of(path).split())
    assert "ersetzt Ihre frühere Bewerbung mit dem Aktenzeichen 13.0.70-002/2024" in text


def test_eingangsbestaetigung_without_summary_has_no_attachment(tmp_path: Path) -> None:
    text = text_of(render(LetterKind.EINGANGSBESTAETIGUNG, tmp_path, summary=[]))

    assert "Anlage" not in text


def test_maengelschreiben_lists_each_reason_as_a_bullet(tmp_path: Path) -> None:
    reasons = ["Das Feld „Motivation“ ist leer.", "Die Einwilligung Datenschutz fehlt."]
    path = render(
        LetterKind.MAENGELSCHREIBEN, tmp_path, reasons=reasons, reference="Eingang 000042"
    )

    bullets = [p.text for p in paragraphs(path) if p.style is not None and "Bullet" in p.style.name]
    assert bullets == reasons
    text = text_of(path)
    assert "Unser Zeichen:\tEingang 000042" in text
    assert "Bewerbungsfrist: Freitag, 1. März 2024, 24:00 Uhr" in text
    assert "korrigierte Bewerbungsbogen bei uns eingeht" in text


def test_verspaetungsschreiben_contrasts_receipt_with_deadline(tmp_path: Path) -> None:
    received = datetime(2024, 3, 1, 23, 0, 5, tzinfo=UTC)
    text = text_of(render(LetterKind.VERSPAETUNGSSCHREIBEN, tmp_path, received_at=received))

    assert "am Samstag, 2. März 2024, um 00:00 Uhr bei uns eingegangen" in text
    assert "Die Bewerbungsfrist endete am Freitag, 1. März 2024, 24:00 Uhr" in text
    assert "unter dem Aktenzeichen 13.0.70-007/2024 als verspätet" in text


@pytest.mark.parametrize("value", ["{{ 7*7 }}", "<w:t>", "A & B", "</w:p>", "{%p endif %}"])
def test_values_that_look_like_markup_appear_literally(tmp_path: Path, value: str) -> None:
    path = render(
        LetterKind.EINGANGSBESTAETIGUNG,
        tmp_path,
        kommune_name=f"Stadt {value}",
        summary=[("Motivation", f"{value}\x01\x0b Ende")],
        source_name=f"{value}.pdf",
    )

    text = text_of(path)
    assert f"(Kommune: Stadt {value})" in text
    assert f"{value} Ende" in text
    assert "49" not in text
    with zipfile.ZipFile(path) as archive:
        for name in archive.namelist():
            if name.endswith(".xml"):
                etree.fromstring(archive.read(name))  # strict parser: raises when invalid


def test_rendering_replaces_an_existing_letter_without_leftovers(tmp_path: Path) -> None:
    (tmp_path / "brief.docx").write_bytes(b"alt")

    render(LetterKind.VERSPAETUNGSSCHREIBEN, tmp_path)

    assert [p.name for p in tmp_path.iterdir()] == ["brief.docx"]
    assert "Bewerbungsfrist" in text_of(tmp_path / "brief.docx")


def test_rendering_creates_the_letter_folder(tmp_path: Path) -> None:
    target = tmp_path / "ausgang" / "13.0.70-007-2024 Stadt Bergkamen" / "brief.docx"

    render_letter(make_data(LetterKind.EINGANGSBESTAETIGUNG), OFFICE, TEMPLATES, target)

    assert "13.0.70-007/2024" in text_of(target)


def test_changed_template_is_used_although_templates_are_cached(
    tmp_path: Path, template_copy: Path
) -> None:
    render(LetterKind.MAENGELSCHREIBEN, tmp_path, templates=template_copy)
    append_paragraph(template_copy / "maengelschreiben.docx", "Neuer Satz für {{ kommune }}.")

    text = text_of(render(LetterKind.MAENGELSCHREIBEN, tmp_path, templates=template_copy))

    assert "Neuer Satz für Stadt Bergkamen." in text


def _stored(template: bytes, old: bytes, new: bytes) -> bytes:
    """The .docx with its members stored uncompressed and ``old`` replaced by ``new`` (of the
    same length) in the document part: a file of exactly the same size."""
    assert len(old) == len(new)
    buffer = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(template)) as source, \
            zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as target:
        for info in source.infolist():
            content = source.read(info)
            if info.filename == "word/document.xml":
                assert content.count(old) == 1
                content = content.replace(old, new)
            info.compress_type = zipfile.ZIP_STORED
            target.writestr(info, content)
    return buffer.getvalue()


def test_a_template_replaced_with_the_same_size_and_mtime_is_used(
    tmp_path: Path, template_copy: Path
) -> None:
    """The template is keyed by its SHA-256, not by mtime and size: staff replacing it within
    one mtime tick with a file of the same size get their new text at once."""
    template = template_copy / "eingangsbestaetigung.docx"
    shipped = template.read_bytes()
    before = _stored(shipped, b"Telefon:", b"Telefon:")
    after = _stored(shipped, b"Telefon:", b"Telefax:")
    assert len(before) == len(after) and before != after
    template.write_bytes(before)
    tick = template.stat().st_mtime_ns
    os.utime(template, ns=(tick, tick))
    assert "Telefon:" in text_of(render(LetterKind.EINGANGSBESTAETIGUNG, tmp_path,
                                        templates=template_copy))

    replacement = template_copy / "neu.docx"
    replacement.write_bytes(after)
    os.utime(replacement, ns=(tick, tick))
    os.replace(replacement, template)
    assert (template.stat().st_mtime_ns, template.stat().st_size) == (tick, len(before))

    text = text_of(render(LetterKind.EINGANGSBESTAETIGUNG, tmp_path, templates=template_copy))
    assert "Telefax:" in text and "Telefon:" not in text


def test_unknown_placeholder_raises_template_error_naming_file_and_tag(
    tmp_path: Path, template_copy: Path
) -> None:
    append_paragraph(template_copy / "maengelschreiben.docx", "Az.: {{ aktenzeichen }}")

    with pytest.raises(TemplateError, match=r"maengelschreiben\.docx.*\{\{ aktenzeichen \}\}"):
        render(LetterKind.MAENGELSCHREIBEN, tmp_path, templates=template_copy)


def test_unclosed_placeholder_raises_template_error_quoting_it(
    tmp_path: Path, template_copy: Path
) -> None:
    append_paragraph(template_copy / "verspaetungsschreiben.docx", "Hallo {{ anrede } und mehr")

    with pytest.raises(TemplateError) as caught:
        render(LetterKind.VERSPAETUNGSSCHREIBEN, tmp_path, templates=template_copy)

    assert "verspaetungsschreiben.docx" in str(caught.value)
    assert "„{{ anrede } und mehr“" in str(caught.value)


def test_placeholder_split_by_word_into_differently_formatted_runs_still_renders(
    tmp_path: Path, template_copy: Path
) -> None:
    append_paragraph(template_copy / "maengelschreiben.docx", "Zeichen: {{ unser_", "zeichen }}")

    text = text_of(render(LetterKind.MAENGELSCHREIBEN, tmp_path, templates=template_copy))

    assert "Zeichen: 13.0.70-007/2024" in text


def test_missing_template_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="eingangsbestaetigung.docx"):
        render(LetterKind.EINGANGSBESTAETIGUNG, tmp_path, templates=tmp_path)


def test_check_templates_finds_no_problem_in_the_shipped_templates() -> None:
    assert check_templates(TEMPLATES, OFFICE) == []


def test_check_templates_reports_each_broken_template(template_copy: Path) -> None:
    (template_copy / "verspaetungsschreiben.docx").unlink()
    append_paragraph(template_copy / "maengelschreiben.docx", "Az.: {{ aktenzeichn }}")
    append_paragraph(template_copy / "eingangsbestaetigung.docx", "{ {anrede}}")

    problems = check_templates(template_copy, OFFICE)

    assert len(problems) == 3, problems
    assert "„eingangsbestaetigung.docx“: „{ {anrede}}“ enthält einen Platzhalter" in problems[0]
    assert (
        "„maengelschreiben.docx“: Der Platzhalter „{{ aktenzeichn }}“ ist unbekannt" in problems[1]
    )
    assert problems[2].startswith("Briefvorlage „verspaetungsschreiben.docx“ fehlt")


def test_check_templates_points_to_a_condition_left_open(template_copy: Path) -> None:
    document = Document(str(template_copy / "maengelschreiben.docx"))
    document.paragraphs[3].insert_paragraph_before("{%p if kommune %}")
    document.save(str(template_copy / "maengelschreiben.docx"))

    problems = check_templates(template_copy, OFFICE)

    assert problems == [
        "Briefvorlage „maengelschreiben.docx“: Fehler bei „{% if kommune %}“: Zu einer "
        "Anweisung „{%p if … %}“ fehlt das passende „{%p endif %}“."
    ]
