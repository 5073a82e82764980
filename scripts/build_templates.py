"""Builds the staff-editable letter templates ``templates/*.docx`` with python-docx; writes files.

Run ``.venv/bin/python scripts/build_templates.py [OUT_DIR]`` after changing a layout or text here.
Staff may later edit the generated files in Word or LibreOffice; this script then no longer
describes them, so rebuild only on purpose.

Layout: DIN 5008 Form B on A4 as a table with fixed widths and row heights (no floating frames):
letterhead to 45 mm, address field 85 x 45 mm at 20 mm from the left edge (text at the 25 mm
alignment line) with the return line in the 17.7 mm Zusatzzone, information block at 125 mm.

Placeholders (``ews.letters.context.letter_context`` provides them; each tag sits in a run of its
own):
anschrift, anrede, unser_zeichen, briefdatum, runde, kommune, eingang_datum, eingang_uhrzeit,
frist, frist_datum, gruende (list), ersetzt_zeichen ("" when none), dateiname,
angaben (list of {bezeichnung, wert}), absender_name, absender_einheit, absender_strasse,
absender_plz, absender_ort, absender_telefon, absender_email, absender_website,
absender_register, ansprechpartner, unterzeichner_name, unterzeichner_funktion.
Selection notices (Zusage, Nachrückerzusage) also use workshops (list of {datum, zeit, titel,
ort}; zeit may be ""), team (list of {name, funktion}) and rueckmeldung_bis (long date); the
Absage uses grund (a German sentence), the Wartelistenbescheid rang (e.g. "3").
The Gemeinsame Erklärung is a one-page form, not a DIN letter (no address field or info block):
qr_code (docxtpl InlineImage, about 30 mm), ags, hvb_name, hvb_funktion, ansprechperson (each
may be "": a line to fill in by hand is printed). Its labelled lines (Kommune:, Amtlicher
Gemeindeschlüssel:, Aktenzeichen:, Name:, Funktion:, Ansprechperson für Engagement:, Ort, Datum:,
Unterschrift:) are read back by text recognition: keep each a paragraph of its own, verbatim.
The Beitrittsbestätigung uses unterzeichnet_von, unterzeichnet_funktion, unterzeichnet_am,
beitritt_am and eingang_datum (date strings).
The Rundschreiben (``rundschreiben.docx``, not a LetterKind; ``ews.circulars.text`` renders it)
uses anschrift (the distribution list, lines joined by "\n"), unser_zeichen (the circular's
Az.), briefdatum, mitteilung ("Mitteilung 12/2026 vom 03.03.2026", also in the running header),
titel, anrede, anlagen (list of file names; no Anlagen block when empty), the absender_*,
ansprechpartner and unterzeichner_* values, and ``{{p text }}``: the Markdown body, replaced
by paragraphs in the styles Heading 1-3, List Bullet (2), List Number (2), Quote, Table Grid.
The Aktenauszug's table of contents (``aktenauszug.docx``, not a LetterKind;
``ews.casefile.export`` renders it) uses unser_zeichen, kommune, runde, exportdatum, manifest,
the absender_* values, and eintraege (list of {nr, datum, art, titel, dateien}).
"""

from __future__ import annotations

import io
import os
import re
import sys
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

from docx import Document
from docx.document import Document as DocumentObject
from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT, WD_ROW_HEIGHT_RULE
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt, RGBColor
from docx.table import Table, _Cell
from docx.text.paragraph import Paragraph

from ews.core.models import LetterKind

FONT = "Liberation Sans"
DEFAULT_OUT = Path(__file__).resolve().parents[1] / "templates"
TAG = re.compile(r"(\{\{.*?\}\}|\{%.*?%\})")
SENDER_LINE = "{{ absender_name }} · {{ absender_strasse }} · {{ absender_plz }} {{ absender_ort }}"
INFO_LINES = [
    ("Unser Zeichen:", "{{ unser_zeichen }}"),
    ("", ""),
    ("Ansprechpartner:", "{{ ansprechpartner }}"),
    ("Telefon:", "{{ absender_telefon }}"),
    ("E-Mail:", "{{ absender_email }}"),
    ("", ""),
    ("Datum:", "{{ briefdatum }}"),
]
RUNNING_HEAD = "{{ absender_einheit }} · Unser Zeichen {{ unser_zeichen }} · Seite "
Container = DocumentObject | _Cell


def add_paragraph(
    container: Container,
    text: str = "",
    *,
    size: float | None = None,
    bold: bool = False,
    after: float = 11,
    style: str | None = None,
) -> Paragraph:
    """Adds a paragraph; every Jinja tag gets a run of its own so Word does not split it."""
    paragraph = container.add_paragraph(style=style)
    paragraph.paragraph_format.space_after = Pt(after)
    add_runs(paragraph, text, size=size, bold=bold)
    return paragraph


def add_runs(
    paragraph: Paragraph, text: str, *, size: float | None = None, bold: bool = False
) -> None:
    for piece in TAG.split(text):
        if piece:
            run = paragraph.add_run(piece)
            run.bold = bold or None
            if size is not None:
                run.font.size = Pt(size)


def twips(millimetres: float) -> str:
    return str(round(millimetres * 1440 / 25.4))


def layout_table(table: Table, widths_mm: list[float], margins_mm: list[float]) -> None:
    """Fixed widths (Word reads the cells, LibreOffice the grid: set both) and cell margins
    (top, left, bottom, right); table properties in schema order, which Word insists on."""
    table.autofit = False
    for column, width in zip(table._tbl.tblGrid.gridCol_lst, widths_mm, strict=True):
        column.w = Mm(width)
    for row in table.rows:
        for cell, width in zip(row.cells, widths_mm, strict=True):
            cell.width = Mm(width)
    properties = table._tbl.tblPr
    total = properties.find(qn("w:tblW"))
    total.set(qn("w:type"), "dxa")
    total.set(qn("w:w"), twips(sum(widths_mm)))
    cell_margins = OxmlElement("w:tblCellMar")
    for side, value in zip(("top", "left", "bottom", "right"), margins_mm, strict=True):
        cell_margins.append(
            OxmlElement(f"w:{side}", {qn("w:w"): twips(value), qn("w:type"): "dxa"})
        )
    properties.append(cell_margins)
    order = ["tblStyle", "tblW", "jc", "tblInd", "tblBorders", "tblLayout", "tblCellMar", "tblLook"]
    for child in sorted(properties, key=lambda element: order.index(element.tag.split("}")[1])):
        properties.append(child)


def setup_document(running_head: str = RUNNING_HEAD) -> DocumentObject:
    document = Document()
    section = document.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.left_margin, section.right_margin = Mm(25), Mm(20)
    section.top_margin, section.bottom_margin = Mm(20), Mm(27)
    section.header_distance, section.footer_distance = Mm(10), Mm(10)
    normal = document.styles["Normal"]
    normal.font.name, normal.font.size = FONT, Pt(11)
    fonts = normal.element.get_or_add_rPr().get_or_add_rFonts()
    for attribute in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(attribute), FONT)
    language = OxmlElement("w:lang")
    language.set(qn("w:val"), "de-DE")
    normal.element.get_or_add_rPr().append(language)
    normal.paragraph_format.space_before, normal.paragraph_format.space_after = Pt(0), Pt(0)
    normal.paragraph_format.line_spacing = 1.0
    document.core_properties.author = "Entwicklungswerkstatt (EWS)"
    document.core_properties.language = "de-DE"
    add_header_and_footer(document, running_head)
    return document


def add_page_field(paragraph: Paragraph, instruction: str) -> None:
    field = OxmlElement("w:fldSimple")
    field.set(qn("w:instr"), instruction)
    run = paragraph.add_run("1")
    run.font.size = Pt(8)
    field.append(run._r)
    paragraph._p.append(field)


def add_header_and_footer(document: DocumentObject, running_head: str = RUNNING_HEAD) -> None:
    """Page 1 has the letterhead in the body; later pages get a short running header:
    ``running_head``, then "N von M"."""
    section = document.sections[0]
    section.different_first_page_header_footer = True
    header = section.header.paragraphs[0]
    add_runs(header, running_head, size=8)
    add_page_field(header, "PAGE")
    add_runs(header, " von ", size=8)
    add_page_field(header, "NUMPAGES")
    lines = [
        SENDER_LINE,
        "Telefon {{ absender_telefon }} · {{ absender_email }} · {{ absender_website }}",
        "{{ absender_register }}",
    ]
    for footer in (section.footer, section.first_page_footer):
        for index, line in enumerate(lines):
            paragraph = footer.paragraphs[0] if index == 0 else footer.add_paragraph()
            add_runs(paragraph, line, size=8)
            paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER


def add_head(document: DocumentObject) -> None:
    """Letterhead, address field and information block in one fixed table."""
    table = document.add_table(rows=3, cols=3)
    layout_table(table, [80, 20, 65], [0, 0, 0, 0])
    for row, height in zip(table.rows, [Mm(25), Mm(17.7), Mm(27.3)], strict=True):
        row.height, row.height_rule = height, WD_ROW_HEIGHT_RULE.EXACTLY
    # An address line that wraps must push the text down, never cut off the town.
    table.rows[2].height_rule = WD_ROW_HEIGHT_RULE.AT_LEAST
    letterhead = table.cell(0, 0).merge(table.cell(0, 2))
    head = letterhead.paragraphs[0]
    head.paragraph_format.space_before = Mm(6)
    add_runs(head, "{{ absender_name }}", size=14, bold=True)
    add_paragraph(letterhead, "{{ absender_einheit }}", size=10, after=0)
    for paragraph in letterhead.paragraphs:
        paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    zusatz = table.cell(1, 0)
    zusatz.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.BOTTOM
    return_line = zusatz.paragraphs[0]
    add_runs(return_line, "{{ absender_name }}", size=7)
    line_break = return_line.add_run()
    line_break.font.size = Pt(7)
    line_break.add_break()
    add_runs(return_line, "{{ absender_strasse }} · {{ absender_plz }} {{ absender_ort }}", size=7)
    return_line.paragraph_format.space_after = Pt(3)
    add_runs(table.cell(2, 0).paragraphs[0], "{{ anschrift }}", size=11)
    add_info_block(table.cell(1, 2).merge(table.cell(2, 2)))


def add_info_block(cell: _Cell) -> None:
    for index, (label, value) in enumerate(INFO_LINES):
        paragraph = cell.paragraphs[0] if index == 0 else cell.add_paragraph()
        paragraph.paragraph_format.space_before = Mm(5) if index == 0 else Pt(0)
        paragraph.paragraph_format.left_indent = Mm(26)
        paragraph.paragraph_format.first_line_indent = Mm(-26)
        paragraph.paragraph_format.tab_stops.add_tab_stop(Mm(26))
        if label:
            paragraph.add_run(label).font.size = Pt(8)
            paragraph.add_run("\t").font.size = Pt(8)
            paragraph.add_run(value).font.size = Pt(10)


def add_subject(document: DocumentObject, subject: str, *more_lines: str) -> None:
    """Bold subject without the word "Betreff", two blank lines around it, then the salutation;
    ``more_lines`` continue the subject after line breaks."""
    paragraph = add_paragraph(document, subject, bold=True, after=22)
    for line in more_lines:
        paragraph.add_run().add_break()
        add_runs(paragraph, line, bold=True)
    paragraph.paragraph_format.space_before = Pt(22)
    add_paragraph(document, "{{ anrede }}")


def add_closing(
    document: DocumentObject, enclosure: str | None = None, *, keep: bool = False
) -> None:
    """Greeting and signature block; ``enclosure`` is the Anlagenvermerk below it, ``keep``
    stops a page break inside the block."""
    add_signature(document, keep=keep)
    if enclosure:
        add_paragraph(document, enclosure, after=22)
    add_machine_note(document)


def add_signature(document: DocumentObject, *, keep: bool = False) -> None:
    greeting = add_paragraph(document, "Mit freundlichen Grüßen", after=30)
    name = add_paragraph(document, "{{ unterzeichner_name }}", after=0)
    add_paragraph(document, "{{ unterzeichner_funktion }}", after=22)
    if keep:
        greeting.paragraph_format.keep_with_next = True
        name.paragraph_format.keep_with_next = True


def add_machine_note(document: DocumentObject) -> None:
    add_paragraph(
        document,
        "Dieses Schreiben wurde maschinell erstellt und ist ohne Unterschrift gültig.",
        size=8,
    )


def add_summary(document: DocumentObject) -> None:
    """Attachment "Ihre Angaben": one table row per (label, value) pair, on a new page."""
    add_paragraph(document, "{%p if angaben %}")
    add_paragraph(document, "Anlage", bold=True, after=0)
    add_paragraph(document, "Ihre Angaben aus dem Bewerbungsbogen")
    heading = add_paragraph(document, "Anlage: Ihre Angaben", bold=True, size=12)
    heading.paragraph_format.page_break_before = True
    add_paragraph(
        document,
        "So haben wir den Bewerbungsbogen „{{ dateiname }}“ (Aktenzeichen {{ unser_zeichen }}) "
        "gelesen. Bitte prüfen Sie die Angaben und teilen Sie uns Fehler unter Angabe des "
        "Aktenzeichens mit.",
    )
    table = document.add_table(rows=3, cols=2, style="Table Grid")
    cells = [
        (table.cell(0, 0), "{%tr for angabe in angaben %}"),
        (table.cell(1, 0), "{{ angabe.bezeichnung }}"),
        (table.cell(1, 1), "{{ angabe.wert }}"),
        (table.cell(2, 0), "{%tr endfor %}"),
    ]
    for cell, text in cells:
        add_runs(cell.paragraphs[0], text, size=10)
    layout_table(table, [55, 110], [1, 1.5, 1, 1.5])
    add_paragraph(document, "{%p endif %}", after=0)


def build_eingangsbestaetigung(document: DocumentObject) -> None:
    add_subject(document, "Ihre Bewerbung für {{ runde }}: Eingangsbestätigung")
    for text in [
        "wir haben die Bewerbung für {{ runde }} (Kommune: {{ kommune }}) "
        "am {{ eingang_datum }}, um {{ eingang_uhrzeit }} erhalten und unter dem Aktenzeichen "
        "{{ unser_zeichen }} registriert. Bitte geben Sie dieses Aktenzeichen bei allen "
        "Rückfragen an.",
        "Bewerbungsfrist: {{ frist }}. Ihre Bewerbung ist damit fristgerecht eingegangen.",
        "{%p if ersetzt_zeichen %}",
        "Diese Bewerbung ersetzt Ihre frühere Bewerbung mit dem Aktenzeichen "
        "{{ ersetzt_zeichen }}. Berücksichtigt wird nur die neuere Bewerbung; die frühere "
        "bleibt bei unseren Akten.",
        "{%p endif %}",
        "{%p if angaben %}",
        "In der Anlage finden Sie Ihre Angaben so, wie wir sie aus dem Bewerbungsbogen gelesen "
        "haben. Bitte prüfen Sie diese und teilen Sie uns Fehler unter Angabe des "
        "Aktenzeichens mit.",
        "{%p endif %}",
        "Für Rückfragen stehen wir Ihnen gern zur Verfügung.",
    ]:
        add_paragraph(document, text)
    add_closing(document)
    add_summary(document)


def build_maengelschreiben(document: DocumentObject) -> None:
    add_subject(
        document, "Ihre Bewerbung für {{ runde }}: Bewerbung konnte nicht registriert werden"
    )
    add_paragraph(
        document,
        "vielen Dank für Ihre Einsendung „{{ dateiname }}“ (Kommune: {{ kommune }}), die am "
        "{{ eingang_datum }}, um {{ eingang_uhrzeit }} bei uns eingegangen ist. Leider konnten "
        "wir sie nicht als Bewerbung registrieren, weil der Bewerbungsbogen nicht verwendbar "
        "ist:",
        after=6,
    )
    add_paragraph(document, "{%p for grund in gruende %}")
    add_paragraph(document, "{{ grund }}", style="List Bullet", after=6)
    add_paragraph(document, "{%p endfor %}")
    request = add_paragraph(
        document,
        "Bitte senden Sie uns den Bewerbungsbogen vollständig ausgefüllt und korrigiert erneut zu.",
    )
    request.paragraph_format.space_before = Pt(5)  # the bullet list ends without a blank line
    for text in [
        "Bewerbungsfrist: {{ frist }}. Für die Einhaltung der Frist zählt der Zeitpunkt, zu dem "
        "der korrigierte Bewerbungsbogen bei uns eingeht.",
        "Bitte geben Sie bei Rückfragen unser Zeichen {{ unser_zeichen }} an. Für Fragen stehen "
        "wir Ihnen gern zur Verfügung.",
    ]:
        add_paragraph(document, text)
    add_closing(document)


def build_verspaetungsschreiben(document: DocumentObject) -> None:
    add_subject(document, "Ihre Bewerbung für {{ runde }}: Eingang nach Ablauf der Bewerbungsfrist")
    for text in [
        "vielen Dank für die Bewerbung für {{ runde }} (Kommune: {{ kommune }}) und Ihr "
        "Interesse an der Entwicklungswerkstatt.",
        "Ihre Bewerbung ist am {{ eingang_datum }}, um {{ eingang_uhrzeit }} bei uns "
        "eingegangen. Die Bewerbungsfrist endete am {{ frist }}. Wir haben Ihre Bewerbung "
        "unter dem Aktenzeichen {{ unser_zeichen }} als verspätet eingegangen registriert.",
        "Damit alle Kommunen gleich behandelt werden, können wir verspätet eingegangene "
        "Bewerbungen leider nicht berücksichtigen. Das gilt nur dann nicht, wenn wir die "
        "Bewerbungsfrist für alle Kommunen verlängern; in diesem Fall informieren wir Sie.",
        "Wir bedauern, Ihnen keine andere Nachricht geben zu können, und würden uns freuen, "
        "wenn Sie sich an einer späteren Runde beteiligen. Für Fragen stehen wir Ihnen gern "
        "zur Verfügung.",
    ]:
        add_paragraph(document, text)
    add_closing(document)


NETWORK = "Kommunen-Netzwerk: engagiert in NRW"
DECLARATION = "Gemeinsame Erklärung zur Förderung des bürgerschaftlichen Engagements in NRW"
DECLARATION_DATIVE = DECLARATION.replace("Gemeinsame ", "Gemeinsamen ", 1)  # also genitive
REFERENCE = "(Kommune: {{ kommune }}, Aktenzeichen {{ unser_zeichen }})"
BLANK = "______________________"


def add_bullets(document: DocumentObject, loop: str, item: str) -> None:
    """A ``{%p for %}`` bullet list; the paragraph after it needs ``space_before``."""
    add_paragraph(document, f"{{%p for {loop} %}}")
    add_paragraph(document, item, style="List Bullet", after=6)
    add_paragraph(document, "{%p endfor %}")


def add_workshop_table(document: DocumentObject) -> None:
    """One row per workshop under a header row that repeats on a new page; a sentence instead
    when no dates are known yet."""
    add_paragraph(document, "{%p if workshops %}")
    add_paragraph(document, "Die Workshops finden an folgenden Terminen statt:", after=6)
    table = document.add_table(rows=4, cols=4, style="Table Grid")
    for cell, text in zip(table.rows[0].cells, ["Datum", "Zeit", "Thema", "Ort"], strict=True):
        add_runs(cell.paragraphs[0], text, size=10, bold=True)
    header = table.rows[0]._tr.get_or_add_trPr()
    header.append(OxmlElement("w:tblHeader"))
    add_runs(table.cell(1, 0).paragraphs[0], "{%tr for w in workshops %}", size=10)
    for cell, text in zip(
        table.rows[2].cells,
        ["{{ w.datum }}", "{{ w.zeit }}", "{{ w.titel }}", "{{ w.ort }}"],
        strict=True,
    ):
        add_runs(cell.paragraphs[0], text, size=10)
    add_runs(table.cell(3, 0).paragraphs[0], "{%tr endfor %}", size=10)
    layout_table(table, [48, 30, 50, 37], [1, 1.5, 1, 1.5])
    add_paragraph(document, "{%p else %}")
    add_paragraph(
        document, "Die Termine der Workshops teilen wir Ihnen in Kürze gesondert mit.", after=0
    )
    add_paragraph(document, "{%p endif %}")


def add_participation(document: DocumentObject) -> None:
    """What a Zusage and a Nachrückerzusage share: dates, team, release from duty, network."""
    add_workshop_table(document)
    first = add_paragraph(
        document,
        "Die Teilnahme an allen Workshopterminen ist verbindlich, denn die Termine bauen "
        "aufeinander auf.",
    )
    first.paragraph_format.space_before = Pt(11)  # the table ends without a blank line
    add_paragraph(document, "{%p if team %}")
    add_paragraph(
        document, "Als kommunales Entwicklungsteam haben Sie uns benannt:", after=6
    )
    add_bullets(
        document,
        "m in team",
        "{{ m.name }}{% if m.funktion %}, {{ m.funktion }}{% endif %}",
    )
    add_paragraph(document, "{%p endif %}")
    request = add_paragraph(
        document,
        "Bitte bestätigen Sie uns bis {{ rueckmeldung_bis }} schriftlich, dass die Mitglieder "
        "des Entwicklungsteams für alle Workshoptermine dienstlich freigestellt werden. Eine "
        "E-Mail an {{ absender_email }} unter Angabe des Aktenzeichens {{ unser_zeichen }} "
        "genügt.",
    )
    request.paragraph_format.space_before = Pt(5)  # the bullet list ends without a blank line
    for text in [
        f"Mit der Teilnahme an der Entwicklungswerkstatt wird Ihre Kommune Mitglied im {NETWORK}. "
        f"Den Beitritt erklärt die Kommune mit der {DECLARATION_DATIVE}, die diesem Schreiben "
        "beiliegt.",
        "Bitte lassen Sie die beigefügte Erklärung von Ihrer Hauptverwaltungsbeamtin oder Ihrem "
        "Hauptverwaltungsbeamten unterzeichnen und senden Sie sie eingescannt per E-Mail an "
        "{{ absender_email }} oder per Post an uns zurück. Der QR-Code auf der Erklärung ordnet "
        "sie Ihrer Bewerbung zu; bitte verwenden Sie deshalb das beigefügte Formular.",
        "Für Rückfragen stehen wir Ihnen gern zur Verfügung. Wir freuen uns auf die "
        "Zusammenarbeit mit Ihnen!",
    ]:
        add_paragraph(document, text)
    add_closing(document, "Anlage: Gemeinsame Erklärung zur Unterzeichnung", keep=True)


def build_zusage(document: DocumentObject) -> None:
    add_subject(document, "Ihre Bewerbung für {{ runde }}: Zusage")
    add_paragraph(
        document,
        "wir freuen uns sehr, Ihnen mitteilen zu können, dass Ihre Kommune an {{ runde }} der "
        f"Entwicklungswerkstatt für kommunale Engagementstrategien teilnimmt {REFERENCE}. "
        "Ihre Bewerbung hat uns überzeugt – herzlichen Glückwunsch!",
    )
    add_participation(document)


def build_nachrueckerzusage(document: DocumentObject) -> None:
    add_subject(document, "Ihre Bewerbung für {{ runde }}: Zusage – ein Platz ist frei geworden")
    for text in [
        "vielen Dank für Ihre Geduld: Ihre Bewerbung für {{ runde }} der Entwicklungswerkstatt "
        f"für kommunale Engagementstrategien {REFERENCE} stand auf der Warteliste.",
        "Inzwischen ist ein Platz frei geworden, und Ihre Kommune rückt nach. Wir freuen uns "
        "sehr, Ihnen mitteilen zu können, dass Ihre Kommune damit an {{ runde }} teilnimmt – "
        "herzlichen Glückwunsch!",
    ]:
        add_paragraph(document, text)
    add_participation(document)


def build_absage(document: DocumentObject) -> None:
    add_subject(document, "Ihre Bewerbung für {{ runde }}")
    for text in [
        f"vielen Dank für Ihre Bewerbung für {{{{ runde }}}} {REFERENCE} und für Ihr Interesse "
        "an der Entwicklungswerkstatt für kommunale Engagementstrategien.",
        "Uns haben viele gute Bewerbungen erreicht, und die Auswahl ist uns nicht leichtgefallen. "
        "Leider können wir Ihre Bewerbung in dieser Runde nicht berücksichtigen.",
        "Grund: {{ grund }}",
        "Wir würden uns freuen, wenn Sie sich für eine spätere Runde der Entwicklungswerkstatt "
        "erneut bewerben.",
        f"Unabhängig von der Entwicklungswerkstatt steht das {NETWORK} allen Kommunen in "
        "Nordrhein-Westfalen offen. Den Beitritt erklärt eine Kommune mit der "
        f"{DECLARATION_DATIVE}. Gern informieren wir Sie darüber.",
        "Wenn Sie Fragen zu unserer Entscheidung haben oder sich zu einer erneuten Bewerbung "
        "beraten lassen möchten, sprechen Sie uns gern an: {{ ansprechpartner }}, Telefon "
        "{{ absender_telefon }}, E-Mail {{ absender_email }}.",
    ]:
        add_paragraph(document, text)
    add_closing(document, keep=True)


def build_wartelistenbescheid(document: DocumentObject) -> None:
    add_subject(document, "Ihre Bewerbung für {{ runde }}: Platz auf der Warteliste")
    for text in [
        f"vielen Dank für Ihre Bewerbung für {{{{ runde }}}} {REFERENCE} und für Ihr Interesse "
        "an der Entwicklungswerkstatt für kommunale Engagementstrategien.",
        "Die Auswahl ist abgeschlossen; alle Plätze dieser Runde sind vergeben. Ihre Bewerbung "
        "steht auf Platz {{ rang }} der Warteliste.",
        "Wird ein Platz frei, rücken die Kommunen streng in der Reihenfolge der Warteliste nach. "
        "Ist Ihre Kommune an der Reihe, benachrichtigen wir Sie sofort. Dann gelten die "
        "Workshoptermine der Runde, und wir bitten Sie, uns kurzfristig zu bestätigen, dass Ihr "
        "kommunales Entwicklungsteam für alle Termine dienstlich freigestellt wird.",
        "Wenn Ihre Kommune nicht mehr auf der Warteliste stehen möchte, teilen Sie uns das bitte "
        "kurz mit, zum Beispiel per E-Mail an {{ absender_email }} unter Angabe des "
        "Aktenzeichens {{ unser_zeichen }}. Dann kann die nächste Kommune nachrücken.",
        "Für Rückfragen stehen wir Ihnen gern zur Verfügung.",
    ]:
        add_paragraph(document, text)
    add_closing(document, keep=True)


def build_beitrittsbestaetigung(document: DocumentObject) -> None:
    add_subject(document, f"Beitritt zum {NETWORK}")
    for text in [
        f"vielen Dank für die unterzeichnete {DECLARATION} {REFERENCE}. Die Erklärung wurde am "
        "{{ unterzeichnet_am }} von {{ unterzeichnet_von }}"
        "{% if unterzeichnet_funktion %} ({{ unterzeichnet_funktion }}){% endif %} "
        "unterzeichnet und ist am {{ eingang_datum }} bei uns eingegangen.",
        f"Damit ist Ihre Kommune Mitglied im {NETWORK}; die Mitgliedschaft hat am "
        "{{ beitritt_am }} begonnen. Herzlich willkommen im Netzwerk!",
    ]:
        add_paragraph(document, text)
    add_paragraph(document, "Als Mitglied des Netzwerks erwarten Ihre Kommune:", after=6)
    for item in [
        "zwei Netzwerktreffen im Jahr zum Austausch zwischen den Mitgliedskommunen,",
        "Informationen per E-Mail rund um die Förderung des bürgerschaftlichen Engagements,",
        "kurze digitale Formate zu aktuellen Themen der Engagementförderung und",
        "Workshops zu ausgewählten Fragen der kommunalen Engagementförderung.",
    ]:
        add_paragraph(document, item, style="List Bullet", after=6)
    last = add_paragraph(
        document,
        "Einladungen und Informationen senden wir an die Ansprechperson für Engagement in Ihrer "
        "Verwaltung. Bitte teilen Sie uns mit, wenn sich die Ansprechperson ändert.",
    )
    last.paragraph_format.space_before = Pt(5)  # the bullet list ends without a blank line
    add_paragraph(
        document,
        "Vielen Dank für Ihr Engagement – wir freuen uns auf die Zusammenarbeit im Netzwerk.",
    )
    add_closing(document, keep=True)


#: (label, value or "" for a line filled in by hand, points of space before the line)
FORM_FIELDS = [
    ("Kommune:", "{{ kommune }}", 0.0),
    ("Amtlicher Gemeindeschlüssel:", "{{ ags }}", 0.0),
    ("Aktenzeichen:", "{{ unser_zeichen }}", 0.0),
    ("Name:", "{% if hvb_name %}{{ hvb_name }}{% else %}" + BLANK + "{% endif %}", 10.0),
    (
        "Funktion:",
        "{% if hvb_funktion %}{{ hvb_funktion }}{% else %}" + BLANK + "{% endif %}",
        0.0,
    ),
    (
        "Ansprechperson für Engagement:",
        "{% if ansprechperson %}{{ ansprechperson }}{% else %}" + BLANK + "{% endif %}",
        0.0,
    ),
    ("Ort, Datum:", BLANK, 16.0),
    ("Unterschrift:", BLANK, 34.0),  # room to sign above the line
]


def build_gemeinsame_erklaerung(document: DocumentObject) -> None:
    """One-page form: title and QR code in a fixed table, the declaration, the network's
    criteria, the labelled fields for text recognition and how to send it back."""
    table = document.add_table(rows=1, cols=2)
    layout_table(table, [128, 37], [0, 0, 0, 0])
    table.rows[0].height, table.rows[0].height_rule = Mm(32), WD_ROW_HEIGHT_RULE.AT_LEAST
    titles = table.cell(0, 0)
    titles.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.CENTER
    title = titles.paragraphs[0]
    title.paragraph_format.space_after = Pt(8)
    add_runs(title, DECLARATION, size=16, bold=True)
    add_paragraph(titles, f"Beitritt zum {NETWORK}", size=13, bold=True, after=0)
    code = table.cell(0, 1).paragraphs[0]
    code.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    add_runs(code, "{{ qr_code }}")
    declaration = add_paragraph(
        document,
        f"Die Kommune {{{{ kommune }}}} tritt dem {NETWORK} bei und unterzeichnet die "
        f"{DECLARATION}. Der Wortlaut der Gemeinsamen Erklärung liegt bei.",
        size=11.5,
    )
    declaration.paragraph_format.space_before = Pt(16)
    add_paragraph(
        document, "Kriterien für die Mitgliedschaft im Netzwerk (zur Information)", bold=True,
        size=10.5, after=4,
    )
    for item in [
        "eine kommunale Ansprechperson für Engagement",
        "Engagementförderung als Querschnittsaufgabe in der Verwaltung verankert",
        f"Unterzeichnung der {DECLARATION_DATIVE}",
        "Teilnahme am Programm Ehrenamtskarte NRW, geplante Einführung der Ehrenamtskarte oder "
        "ein vergleichbares Instrument der Anerkennung",
        "kontinuierliche Mitarbeit im Netzwerk",
    ]:
        add_paragraph(document, item, style="List Bullet", size=10.5, after=3)
    heading = add_paragraph(
        document, "Angaben der Kommune und Unterschrift der Hauptverwaltungsbeamtin oder des "
        "Hauptverwaltungsbeamten", bold=True, size=10.5, after=8,
    )
    heading.paragraph_format.space_before = Pt(14)
    heading.paragraph_format.keep_with_next = True
    for label, value, before in FORM_FIELDS:
        paragraph = document.add_paragraph()
        paragraph.paragraph_format.space_before = Pt(before)
        paragraph.paragraph_format.space_after = Pt(9)
        paragraph.paragraph_format.keep_with_next = True
        add_runs(paragraph, label, size=12, bold=True)
        add_runs(paragraph, f" {value}", size=12)
    note = add_paragraph(
        document,
        "Bitte unterschreiben Sie die Erklärung und senden Sie sie eingescannt an "
        "{{ absender_email }} oder per Post an {{ absender_name }}, {{ absender_strasse }}, "
        "{{ absender_plz }} {{ absender_ort }} zurück. Der QR-Code oben rechts ordnet Ihre "
        "Erklärung automatisch zu; bitte nicht überkleben.",
        size=10,
        after=0,
    )
    note.paragraph_format.space_before = Pt(14)


CIRCULAR = "rundschreiben"  # the file stem ews.circulars.issuing looks up
CIRCULAR_HEAD = "{{ mitteilung }} – Seite "
#: (style, size, space before, space after in points) of the headings in a circular's body
HEADINGS = [("Heading 1", 13, 11, 6), ("Heading 2", 12, 11, 4), ("Heading 3", 11, 8, 3)]


def style_body_text(document: DocumentObject) -> None:
    """The styles of the Markdown body in the letter's font, black: python-docx's defaults are
    blue headings in the theme font and a quote without indent."""
    for name, size, before, after in HEADINGS:
        style = document.styles[name]
        style.element.get_or_add_rPr()._remove_rFonts()  # the theme font; Normal's instead
        style.font.size, style.font.bold = Pt(size), True
        style.font.color.rgb = RGBColor(0, 0, 0)
        style.paragraph_format.space_before = Pt(before)
        style.paragraph_format.space_after = Pt(after)
        style.paragraph_format.keep_with_next = True
    quote = document.styles["Quote"]
    quote.paragraph_format.left_indent = Mm(10)
    quote.font.color.rgb = RGBColor(0x40, 0x40, 0x40)


def add_enclosures(document: DocumentObject) -> None:
    """Anlagenvermerk with one line per file, left out when there is none."""
    add_paragraph(document, "{%p if anlagen %}")
    add_paragraph(
        document, "Anlage{% if anlagen|length > 1 %}n{% endif %}", bold=True, after=0
    )
    add_paragraph(document, "{%p for anlage in anlagen %}")
    add_paragraph(document, "{{ anlage }}", after=0)
    add_paragraph(document, "{%p endfor %}")
    add_paragraph(document, "", after=11)
    add_paragraph(document, "{%p endif %}")


def build_rundschreiben(document: DocumentObject) -> None:
    """A circular to a distribution list: the Markdown body replaces ``{{p text }}``."""
    style_body_text(document)
    add_subject(document, "{{ mitteilung }}", "{{ titel }}")
    add_paragraph(document, "{{p text }}")
    add_signature(document, keep=True)
    add_enclosures(document)
    add_machine_note(document)


AKTENAUSZUG = "aktenauszug"  # the file stem ews.casefile.export looks up
AKTENAUSZUG_HEAD = "Aktenauszug {{ unser_zeichen }} – Seite "


def build_aktenauszug(document: DocumentObject) -> None:
    """The table of contents of a case file export: the case, then one row per entry
    (eintraege: list of {nr, datum, art, titel, dateien}; dateien joined by "\\n")."""
    add_paragraph(document, "{{ absender_name }} · {{ absender_einheit }}", size=9, after=6)
    add_paragraph(document, "Aktenauszug", size=16, bold=True, after=6)
    for line in ("Aktenzeichen: {{ unser_zeichen }}", "Kommune: {{ kommune }}",
                 "Runde: {{ runde }}", "Erstellt am: {{ exportdatum }}"):
        add_paragraph(document, line, after=0)
    add_paragraph(document, "", after=6)
    table = document.add_table(rows=4, cols=5, style="Table Grid")
    for column, label in enumerate(("Nr.", "Datum", "Art", "Eintrag", "Datei")):
        add_runs(table.cell(0, column).paragraphs[0], label, size=9, bold=True)
    add_runs(table.cell(1, 0).paragraphs[0], "{%tr for e in eintraege %}", size=9)
    for column, value in enumerate(("{{ e.nr }}", "{{ e.datum }}", "{{ e.art }}",
                                    "{{ e.titel }}", "{{ e.dateien }}")):
        add_runs(table.cell(2, column).paragraphs[0], value, size=9)
    add_runs(table.cell(3, 0).paragraphs[0], "{%tr endfor %}", size=9)
    table.rows[0]._tr.get_or_add_trPr().append(OxmlElement("w:tblHeader"))  # on every page
    layout_table(table, [9, 27, 24, 50, 55], [1, 1.5, 1, 1.5])
    add_paragraph(document, "", after=6)
    add_paragraph(
        document,
        "Die Dateien liegen unverändert neben diesem Verzeichnis; ihre SHA-256-Prüfsummen "
        "stehen in der Datei {{ manifest }}.",
        size=9,
    )


def build_auskunft(document: DocumentObject) -> None:
    """The summary of an access request (Art. 15 DSGVO), not a DIN letter: what was found
    about one person, where, and which documents are enclosed."""
    add_paragraph(document, "Auskunft nach Art. 15 DSGVO", size=16, bold=True, after=12)
    add_paragraph(document, "Verantwortlicher: {{ absender_name }}, {{ absender_strasse }}, "
                  "{{ absender_plz }} {{ absender_ort }}", after=4)
    add_paragraph(document, "Gesucht nach: {{ gesucht }}", after=4)
    add_paragraph(document, "Stand: {{ datum }}", after=12)
    add_paragraph(document, "Gespeicherte Angaben ({{ anzahl }} Fundstellen)", bold=True, after=6)
    add_bullets(document, "eintrag in eintraege",
                "{{ eintrag.quelle }} – {{ eintrag.bezug }}: {{ eintrag.angaben }}")
    add_paragraph(document, "Beigefügte Dokumente", bold=True, after=6).paragraph_format \
        .space_before = Pt(12)
    add_bullets(document, "dokument in dokumente", "{{ dokument }}")
    paragraph = add_paragraph(document, "Zwecke und Speicherdauer", bold=True, after=6)
    paragraph.paragraph_format.space_before = Pt(12)
    add_paragraph(document, "{{ zwecke }}", after=6)
    add_paragraph(document, "{{ fristen }}", after=6)


Builder = Callable[[DocumentObject], None]
#: the access summary (ews.retention.access_export renders it)
ACCESS = "auskunft"
ACCESS_HEAD = "{{ absender_einheit }} · Auskunft nach Art. 15 DSGVO · Seite "
#: the template file stem is the kind's value: ews.letters.render looks the file up by it
LETTERS: dict[LetterKind, tuple[str, Builder]] = {
    LetterKind.EINGANGSBESTAETIGUNG: ("Eingangsbestätigung", build_eingangsbestaetigung),
    LetterKind.MAENGELSCHREIBEN: ("Mängelschreiben", build_maengelschreiben),
    LetterKind.VERSPAETUNGSSCHREIBEN: ("Verspätungsschreiben", build_verspaetungsschreiben),
    LetterKind.ZUSAGE: ("Zusage", build_zusage),
    LetterKind.ABSAGE: ("Absage", build_absage),
    LetterKind.WARTELISTENBESCHEID: ("Wartelistenbescheid", build_wartelistenbescheid),
    LetterKind.NACHRUECKERZUSAGE: ("Nachrückerzusage", build_nachrueckerzusage),
    LetterKind.GEMEINSAME_ERKLAERUNG: ("Gemeinsame Erklärung", build_gemeinsame_erklaerung),
    LetterKind.BEITRITTSBESTAETIGUNG: ("Beitrittsbestätigung", build_beitrittsbestaetigung),
}
#: documents that are not DIN letters: no letterhead table, address field or info block
FORMS = frozenset({LetterKind.GEMEINSAME_ERKLAERUNG})


def write_template(out_dir: Path, kind: LetterKind, title: str, build: Builder) -> Path:
    return write_named_template(out_dir, kind.value, title, build, letter=kind not in FORMS)


def write_named_template(
    out_dir: Path,
    name: str,
    title: str,
    build: Builder,
    *,
    letter: bool = True,
    running_head: str = RUNNING_HEAD,
) -> Path:
    """Writes ``<out_dir>/<name>.docx``; ``letter`` puts the letterhead, address field and
    information block first."""
    document = setup_document(running_head)
    if letter:
        add_head(document)
    build(document)
    document.core_properties.title = title
    buffer = io.BytesIO()
    document.save(buffer)
    target = out_dir / f"{name}.docx"
    handle, temp_name = tempfile.mkstemp(dir=out_dir, prefix=f".{name}.", suffix=".tmp")
    with os.fdopen(handle, "wb") as stream:
        stream.write(reproducible_zip(buffer.getvalue()))
    os.chmod(temp_name, 0o644)  # mkstemp creates 0600; these files are committed and shared
    os.replace(temp_name, target)
    return target


def reproducible_zip(content: bytes) -> bytes:
    """Fixed timestamps in the archive, so rebuilding unchanged templates changes no byte."""
    result = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(content)) as source,
        zipfile.ZipFile(result, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for item in source.infolist():
            stamped = zipfile.ZipInfo(item.filename, date_time=(1980, 1, 1, 0, 0, 0))
            target.writestr(stamped, source.read(item), compress_type=zipfile.ZIP_DEFLATED)
    return result.getvalue()


def main(argv: list[str]) -> int:
    out_dir = Path(argv[0]) if argv else DEFAULT_OUT
    out_dir.mkdir(parents=True, exist_ok=True)
    for kind, (title, build) in LETTERS.items():
        print(write_template(out_dir, kind, title, build))
    circular = write_named_template(
        out_dir, CIRCULAR, "Rundschreiben", build_rundschreiben, running_head=CIRCULAR_HEAD
    )
    print(circular)
    print(write_named_template(out_dir, AKTENAUSZUG, "Aktenauszug", build_aktenauszug,
                               letter=False, running_head=AKTENAUSZUG_HEAD))
    print(write_named_template(out_dir, ACCESS, "Auskunft nach Art. 15 DSGVO", build_auskunft,
                               letter=False, running_head=ACCESS_HEAD))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
