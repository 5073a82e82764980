"""The shipped circular template rendered with real docxtpl and read back with python-docx;
the circular's mail templates rendered as the mailing does."""

from __future__ import annotations

import io
import re
import shutil
import zipfile
from pathlib import Path

import jinja2
import pytest
from docx import Document
from docx.document import Document as DocumentObject
from docx.oxml.ns import qn
from docx.text.paragraph import Paragraph
from jinja2.sandbox import SandboxedEnvironment
from lxml import etree
from markupsafe import Markup

from ews.circulars.document import render_circular_document
from ews.circulars.text import markdown_html, markdown_plain
from ews.core.errors import TemplateError
from ews.runtime.settings import OfficeSettings

TEMPLATES = Path(__file__).resolve().parents[3] / "templates"
TEMPLATE = TEMPLATES / "rundschreiben.docx"
HOSTILE = "<script>alert(1)</script> & <w:t>x</w:t> {{ 7*7 }}"
BODY = f"""# Netzwerktreffen im Mai

Wir laden Sie **herzlich** zum *dritten* Treffen ein, Programm unter
[unserer Seite](https://example.org/treffen?jahr=2026&ort=hagen) oder <https://example.org>.
Fragen an <ews@example.org>; [nicht klicken](javascript:alert(1)).\\
Eingabe: `{{{{ kommune }}}}`, ~~gestrichen~~.

{HOSTILE}

## Ablauf

1. Begrüßung
2. Vorträge
   - Hagen
   - Bonn
3. Austausch

Danach:

1. Anmeldung
2. Abreise

> Engagement braucht Verlässlichkeit.

| Ort | Datum | Plätze |
|:----|:-----:|-------:|
| Hagen | 4. Mai | 30 |
| **Bonn** | 9. Mai | 25 |

---

```
Zeile 1
Zeile 2
```
"""
CONTEXT: dict[str, object] = {
    "anschrift": "An die Mitglieder des\nKommunen-Netzwerks: engagiert in NRW",
    "unser_zeichen": "13.0.70-001",
    "briefdatum": "03.03.2026",
    "mitteilung": "Mitteilung 12/2026 vom 03.03.2026",
    "titel": "Netzwerktreffen & Workshops <2026>",
    "anrede": "Sehr geehrte Damen und Herren,",
    "anlagen": ["Programm.pdf", "Anmeldung & Anfahrt.docx"],
    "absender_name": "Forum für soziale Innovation gGmbH",
    "absender_einheit": "Entwicklungswerkstatt für kommunale Engagementstrategien",
    "absender_strasse": "Musterstraße 1",
    "absender_plz": "42103",
    "absender_ort": "Wuppertal",
    "absender_telefon": "0202 000000-0",
    "absender_email": "ews@example.org",
    "absender_website": "www.engagiert-in-nrw.de",
    "absender_register": "Amtsgericht Wuppertal HRB 00000",
    "ansprechpartner": "Programmbüro EWS",
    "unterzeichner_name": "Maria Beispiel",
    "unterzeichner_funktion": "Programmleitung",
}


@pytest.fixture(scope="module")
def rendered() -> bytes:
    return render_circular_document(TEMPLATE, CONTEXT, BODY)


@pytest.fixture(scope="module")
def document(rendered: bytes) -> DocumentObject:
    return Document(io.BytesIO(rendered))


def body_paragraphs(document: DocumentObject) -> list[Paragraph]:
    """Every paragraph of the body, table cells included, in reading order."""
    return [Paragraph(p, document) for p in document.element.body.iter(qn("w:p"))]


def paragraph_with(document: DocumentObject, text: str) -> Paragraph:
    return next(p for p in body_paragraphs(document) if p.text == text)


def styled(document: DocumentObject) -> list[tuple[str, str]]:
    return [(p.style.name, p.text) for p in document.paragraphs if p.style is not None]


def text_parts(content: bytes) -> dict[str, str]:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return {
            name: archive.read(name).decode("utf-8")
            for name in archive.namelist()
            if re.fullmatch(r"word/(document|header\d*|footer\d*)\.xml", name)
        }


def test_placeholders_are_filled_in(document: DocumentObject) -> None:
    text = "\n".join(p.text for p in body_paragraphs(document))

    assert "An die Mitglieder des\nKommunen-Netzwerks: engagiert in NRW" in text
    assert "Unser Zeichen:\t13.0.70-001" in text and "Datum:\t03.03.2026" in text
    assert "Mitteilung 12/2026 vom 03.03.2026\nNetzwerktreffen & Workshops <2026>" in text
    assert "Sehr geehrte Damen und Herren," in text
    assert "Maria Beispiel\nProgrammleitung" in text
    assert "Anlagen\nProgramm.pdf\nAnmeldung & Anfahrt.docx" in text


def test_subject_is_bold(document: DocumentObject) -> None:
    subject = paragraph_with(
        document, "Mitteilung 12/2026 vom 03.03.2026\nNetzwerktreffen & Workshops <2026>"
    )

    assert all(run.bold for run in subject.runs if run.text.strip())


def test_later_pages_carry_the_mitteilung_in_the_header(document: DocumentObject) -> None:
    header = document.sections[0].header.paragraphs[0].text

    assert header.startswith("Mitteilung 12/2026 vom 03.03.2026 – Seite ")


def test_no_template_tag_is_left_and_the_xml_is_valid(rendered: bytes) -> None:
    for name, xml in text_parts(rendered).items():
        etree.fromstring(xml.encode("utf-8"))
        staff_text = xml.replace("{{ 7*7 }}", "").replace("{{ kommune }}", "")
        assert "{{" not in staff_text and "{%" not in staff_text, name


def test_body_sits_between_salutation_and_closing(document: DocumentObject) -> None:
    texts = [p.text for p in document.paragraphs]

    salutation = texts.index("Sehr geehrte Damen und Herren,")
    assert texts[salutation + 1] == "Netzwerktreffen im Mai"
    assert texts.index("Zeile 1\nZeile 2") < texts.index("Mit freundlichen Grüßen")


def test_markdown_blocks_get_the_template_styles(document: DocumentObject) -> None:
    paragraphs = styled(document)

    assert ("Heading 1", "Netzwerktreffen im Mai") in paragraphs
    assert ("Heading 2", "Ablauf") in paragraphs
    assert ("Quote", "Engagement braucht Verlässlichkeit.") in paragraphs
    start = paragraphs.index(("List Number", "Begrüßung"))
    assert paragraphs[start : start + 5] == [
        ("List Number", "Begrüßung"),
        ("List Number", "Vorträge"),
        ("List Bullet 2", "Hagen"),
        ("List Bullet 2", "Bonn"),
        ("List Number", "Austausch"),
    ]


def test_hostile_text_stays_literal(document: DocumentObject) -> None:
    texts = [p.text for p in document.paragraphs]

    assert HOSTILE in texts
    assert any("Eingabe: {{ kommune }}, gestrichen." in text for text in texts)


def test_inline_formatting_becomes_run_formatting(document: DocumentObject) -> None:
    paragraph = next(p for p in document.paragraphs if p.text.startswith("Wir laden Sie"))
    runs = {run.text: run for run in paragraph.runs}

    assert runs["herzlich"].bold and runs["dritten"].italic
    assert runs["{{ kommune }}"].font.name == "Courier New"
    assert runs["gestrichen"].font.strike
    assert "nicht klicken" not in runs  # a javascript: link is text, not a link of its own
    assert "[nicht klicken](javascript:alert(1))." in paragraph.text


def test_hard_break_is_a_line_break(document: DocumentObject) -> None:
    paragraph = next(p for p in document.paragraphs if p.text.startswith("Wir laden Sie"))

    assert "javascript:alert(1)).\nEingabe:" in paragraph.text


def test_links_are_word_hyperlinks_with_their_address(document: DocumentObject) -> None:
    paragraph = next(p for p in document.paragraphs if p.text.startswith("Wir laden Sie"))
    links = [(link.text, link.address) for link in paragraph.hyperlinks]

    assert links == [
        ("unserer Seite", "https://example.org/treffen?jahr=2026&ort=hagen"),
        ("https://example.org", "https://example.org"),
        ("ews@example.org", "mailto:ews@example.org"),
    ]


def test_numbered_lists_restart_at_one(document: DocumentObject) -> None:
    numbering = document.part.numbering_part.element
    starts = []
    for text in ("Begrüßung", "Austausch", "Anmeldung", "Abreise"):
        num_pr = paragraph_with(document, text)._p.pPr.numPr
        num = numbering.num_having_numId(num_pr.numId.val)
        override = num.find(qn("w:lvlOverride")).find(qn("w:startOverride"))
        starts.append((num_pr.numId.val, int(override.get(qn("w:val")))))

    (first, first_start), (same, _), (second, second_start), (again, _) = starts
    assert first == same and second == again and first != second
    assert first_start == second_start == 1


def test_table_is_a_word_table_with_a_bold_repeating_header(document: DocumentObject) -> None:
    table = next(t for t in document.tables if t.cell(0, 0).text == "Ort")

    assert table.style is not None and table.style.name == "Table Grid"
    assert [[cell.text for cell in row.cells] for row in table.rows] == [
        ["Ort", "Datum", "Plätze"],
        ["Hagen", "4. Mai", "30"],
        ["Bonn", "9. Mai", "25"],
    ]
    assert all(run.bold for run in table.cell(0, 1).paragraphs[0].runs)
    assert table.rows[0]._tr.trPr.find(qn("w:tblHeader")) is not None
    assert table.cell(1, 2).paragraphs[0].alignment == 2  # right, as the Markdown says


def test_horizontal_rule_is_a_paragraph_with_a_bottom_border(document: DocumentObject) -> None:
    borders = [p for p in document.paragraphs if p._p.find(f".//{qn('w:pBdr')}") is not None]

    assert len(borders) == 1
    assert borders[0].text == ""
    assert borders[0]._p.find(f".//{qn('w:bottom')}") is not None


def test_enclosure_block_is_left_out_without_attachments() -> None:
    content = render_circular_document(TEMPLATE, {**CONTEXT, "anlagen": []}, "Kurz.")
    texts = [p.text for p in Document(io.BytesIO(content)).paragraphs]

    assert "Kurz." in texts
    assert not any(text.startswith("Anlage") for text in texts)


def test_empty_body_renders_without_a_body_paragraph() -> None:
    content = render_circular_document(TEMPLATE, CONTEXT, "")
    texts = [p.text for p in Document(io.BytesIO(content)).paragraphs]

    salutation = texts.index("Sehr geehrte Damen und Herren,")
    assert texts[salutation + 1] == "Mit freundlichen Grüßen"


def test_unknown_placeholder_is_reported_with_template_name(tmp_path: Path) -> None:
    broken = tmp_path / "rundschreiben.docx"
    shutil.copy(TEMPLATE, broken)
    document = Document(str(broken))
    document.add_paragraph("Mit Gruß von {{ unterzeichner_nam }}")
    document.save(str(broken))

    with pytest.raises(TemplateError) as caught:
        render_circular_document(broken, CONTEXT, "Text")

    message = str(caught.value)
    assert "„rundschreiben.docx“" in message
    assert "„{{ unterzeichner_nam }}“ ist unbekannt" in message
    assert "{{ unterzeichner_name }}" in message


def test_template_without_a_list_style_is_reported(tmp_path: Path) -> None:
    broken = tmp_path / "rundschreiben.docx"
    shutil.copy(TEMPLATE, broken)
    document = Document(str(broken))
    style = document.styles["List Number 2"].element
    style.getparent().remove(style)
    document.save(str(broken))

    with pytest.raises(TemplateError, match="„rundschreiben.docx“.*List Number 2"):
        render_circular_document(broken, CONTEXT, "Text")


def test_template_without_the_body_placeholder_is_reported(tmp_path: Path) -> None:
    broken = tmp_path / "rundschreiben.docx"
    shutil.copy(TEMPLATE, broken)
    document = Document(str(broken))
    placeholder = next(p for p in document.paragraphs if p.text == "{{p text }}")
    placeholder._p.getparent().remove(placeholder._p)
    document.save(str(broken))

    with pytest.raises(TemplateError, match="„rundschreiben.docx“.*„{{p text }}“ .* fehlt"):
        render_circular_document(broken, CONTEXT, "Text")


def test_unclosed_block_is_reported_with_template_name(tmp_path: Path) -> None:
    broken = tmp_path / "rundschreiben.docx"
    shutil.copy(TEMPLATE, broken)
    document = Document(str(broken))
    document.add_paragraph("{%p if anlagen %}")
    document.save(str(broken))

    with pytest.raises(TemplateError) as caught:
        render_circular_document(broken, CONTEXT, "Text")

    assert str(caught.value).startswith("Briefvorlage „rundschreiben.docx“: Fehler bei „{% if")
    assert "fehlt das passende „{%p endif %}“" in str(caught.value)


def test_unreadable_template_is_reported(tmp_path: Path) -> None:
    broken = tmp_path / "rundschreiben.docx"
    broken.write_bytes(b"kein Word")

    with pytest.raises(TemplateError, match="„rundschreiben.docx“ ist keine lesbare Word-Datei"):
        render_circular_document(broken, CONTEXT, "Text")


def mail_templates() -> SandboxedEnvironment:
    """As the mailing sets it up: HTML templates escape every value not marked safe."""
    return SandboxedEnvironment(
        loader=jinja2.FileSystemLoader(TEMPLATES / "mail"),
        undefined=jinja2.StrictUndefined,
        autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2",)),
        keep_trailing_newline=True,
    )


MAIL_CONTEXT: dict[str, object] = {
    "betreff": "Mitteilung 12/2026: Treffen & <Termine>",
    "mitteilung": "Mitteilung 12/2026 vom 03.03.2026",
    "buero": OfficeSettings().model_dump(),
}


@pytest.mark.parametrize("probelauf", ["", "Probelauf: Diese E-Mail wäre an a@b.de gegangen."])
def test_html_mail_shows_the_body_and_escapes_the_rest(probelauf: str) -> None:
    html = mail_templates().get_template("rundschreiben.html.j2").render(
        {**MAIL_CONTEXT, "probelauf": probelauf, "inhalt_html": Markup(markdown_html(BODY))}
    )

    assert "<title>Mitteilung 12/2026: Treffen &amp; &lt;Termine&gt;</title>" in html
    assert "<h1>Netzwerktreffen im Mai</h1>" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;w:t&gt;x&lt;/w:t&gt; {{ 7*7 }}" in html
    assert "max-width: 40em" in html and "Musterstraße 1 · 42103 Wuppertal" in html
    assert ("#fff3b0" in html) == bool(probelauf)
    assert (probelauf in html) if probelauf else True


def test_text_mail_has_notice_body_and_signature() -> None:
    text = mail_templates().get_template("rundschreiben.txt.j2").render(
        {**MAIL_CONTEXT, "probelauf": "Probelauf: an a@b.de & c@d.de",
         "inhalt_text": markdown_plain(BODY)}
    )

    assert text.startswith("Probelauf: an a@b.de & c@d.de\n\nNetzwerktreffen im Mai\n=====")
    assert HOSTILE in text
    assert "\n\n-- \nForum für soziale Innovation gGmbH\n" in text
    assert text.endswith("www.engagiert-in-nrw.de\n")
