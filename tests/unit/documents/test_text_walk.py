"""Fonts parsed once per document in the text layer: two fonts under one resource name."""

from __future__ import annotations

import io

from pypdf import PdfReader

from ews.documents.pdf_access import text_layer
from ews.documents.text_positions import laid_out_text
from ews.documents.text_walk import DocumentFonts, Visitors, walk_page
from tests.support.pdfgen_raw import RawPdf

_WINANSI = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"
#: the same letters' codes drawn as Turkish letters: "AB" reads "Şğ"
_TURKISH = (
    b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding << /Type /Encoding "
    b"/BaseEncoding /WinAnsiEncoding /Differences [65 /Scedilla /gbreve] >> >>"
)


def _two_fonts_one_name() -> bytes:
    """One page drawing three Form XObjects, each showing "(AB) Tj" with its font "/F1": the
    first with a WinAnsi font, the second and third with one font object that maps A, B to
    Ş, ğ (the third names it "/F2" too, for its own line)."""
    pdf = RawPdf()
    plain, turkish = pdf.add(_WINANSI), pdf.add(_TURKISH)
    forms = []
    for fonts, text in (
        (b"/F1 %d 0 R" % plain, b"(AB) Tj"),
        (b"/F1 %d 0 R" % turkish, b"(AB) Tj"),
        (b"/F1 %d 0 R /F2 %d 0 R" % (turkish, plain), b"(BA) Tj /F2 12 Tf ( ok) Tj"),
    ):
        forms.append(pdf.stream(
            b"BT /F1 12 Tf 0 10 Td " + text + b" ET",
            b"/Type /XObject /Subtype /Form /BBox [0 0 300 40] /Resources << /Font << "
            + fonts + b" >> >>",
        ))
    content = pdf.stream(b"".join(
        b"q 1 0 0 1 60 %d cm /X%d Do Q\n" % (700 - 100 * index, index)
        for index in range(len(forms))
    ))
    catalog, pages, page = pdf.reserve(), pdf.reserve(), pdf.reserve()
    xobjects = b" ".join(b"/X%d %d 0 R" % (index, form) for index, form in enumerate(forms))
    pdf.objects[page] = (
        b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 595 842] /Contents %d 0 R "
        b"/Resources << /XObject << %s >> >> >>" % (pages, content, xobjects)
    )
    pdf.objects[pages] = b"<< /Type /Pages /Kids [%d 0 R] /Count 1 >>" % page
    pdf.objects[catalog] = b"<< /Type /Catalog /Pages %d 0 R >>" % pages
    return pdf.build(catalog)


def test_two_fonts_under_one_resource_name_are_each_decoded_with_their_own() -> None:
    data = _two_fonts_one_name()
    assert text_layer(data, 1) == ["AB\nŞğ\nğŞ ok"]
    page = PdfReader(io.BytesIO(data)).pages[0]
    fonts = DocumentFonts()
    assert laid_out_text(page, fonts) == "AB\nŞğ\nğŞ ok"
    assert len(fonts) == 2  # three XObjects, two font objects: each parsed once


def test_the_walk_reads_what_pypdf_reads_with_the_same_visitor_calls() -> None:
    page = PdfReader(io.BytesIO(_two_fonts_one_name())).pages[0]
    calls: dict[str, list[tuple[object, ...]]] = {"pypdf": [], "walk": []}

    def visitors(log: list[tuple[object, ...]]) -> Visitors:
        return Visitors(
            before=lambda op, operands, cm, tm: log.append((op, repr(operands), cm[:], tm[:])),
            after=lambda op, operands, cm, tm: log.append((op, cm[:], tm[:])),
            text=lambda text, cm, tm, font, size: log.append((text, cm[:], tm[:], size)),
        )

    mine, theirs = visitors(calls["walk"]), visitors(calls["pypdf"])
    expected = page.extract_text(visitor_operand_before=theirs.before,
                                 visitor_operand_after=theirs.after, visitor_text=theirs.text)
    assert walk_page(page, DocumentFonts(), mine) == expected
    assert "Şğ" in expected
    assert calls["walk"] == calls["pypdf"]
