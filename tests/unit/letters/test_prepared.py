"""Letters from prepared templates are the letters docxtpl makes: every part, byte for byte.

The reference is plain docxtpl, one ``DocxTemplate`` per letter, written here as the service
called it before templates were prepared (so a change of the service's path cannot change the
reference with it)."""

from __future__ import annotations

import io
import random
import zipfile
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from docx.shared import Mm
from docxtpl import DocxTemplate, InlineImage

from ews.core.deadlines import BERLIN
from ews.core.errors import TemplateError
from ews.core.models import LetterKind, Recipient
from ews.letters.context import LetterData, WorkshopDate, letter_context
from ews.letters.prepared import Picture, PreparedTemplate, Unsupported, prepare, render
from ews.letters.qr import QR_MM, qr_png
from ews.letters.render import jinja_env, render_letter_docx, template_path
from ews.runtime.settings import OfficeSettings

TEMPLATES = Path(__file__).resolve().parents[3] / "templates"
OFFICE = OfficeSettings()
LETTERS = 50
#: values that test the escaping, the listings (tabs, line breaks) and the XML's limits
AWKWARD = ("Müller & Söhne <w:t>", "{{ 7*7 }} {% if %}", "Zeile 1\nZeile 2\tTab", "‚„»«“",
           "Groß-Straße 1a", "x" * 240, "", " führende Leerzeichen ", "&amp; &lt;")


def reference_docx(path: Path, context: dict[str, object]) -> bytes:
    """The letter as plain docxtpl makes it: a new DocxTemplate, the QR code an InlineImage."""
    template = DocxTemplate(io.BytesIO(path.read_bytes()))
    template.init_docx()
    payload = context.get("qr_code")
    if isinstance(payload, str) and payload:
        image = InlineImage(template, io.BytesIO(qr_png(payload)), width=Mm(QR_MM))
        context = {**context, "qr_code": image}
    template.render(context, jinja_env=jinja_env())
    buffer = io.BytesIO()
    template.save(buffer)
    return buffer.getvalue()


def varied_letter(kind: LetterKind, rng: random.Random) -> LetterData:
    def text() -> str:
        return rng.choice(AWKWARD) or "Stadt Hagen"

    day = date(2027, 1, 4) + timedelta(days=rng.randrange(300))
    return LetterData(
        kind=kind,
        recipient=Recipient(lines=[text(), "Der Bürgermeister", f"{rng.randrange(10**5):05d} Ort"
                                   ][: rng.randrange(1, 4)],
                            salutation=rng.choice(("Sehr geehrte Damen und Herren,", text()))),
        reference=f"13.0.70-{rng.randrange(1000):03d}/2027", letter_date=day,
        round_name=rng.choice(("EWS 6", text())), kommune_name=text(),
        received_at=rng.choice((None, datetime(2027, 3, 1, rng.randrange(24), 3, tzinfo=BERLIN))),
        deadline_day=rng.choice((None, day)),
        reasons=[text() for _ in range(rng.randrange(4))],
        replaces_reference=rng.choice((None, "13.0.70-000/2027")), source_name=text(),
        summary=[(text(), text()) for _ in range(rng.randrange(5))],
        workshops=[WorkshopDate(datum=day + timedelta(days=7 * n), zeit=rng.choice(("", "10 Uhr")),
                                titel=text(), ort=text()) for n in range(rng.randrange(4))],
        reply_by=rng.choice((None, day + timedelta(days=14))),
        team=[(text(), text()) for _ in range(rng.randrange(4))],
        reason_text=text(), rank=rng.choice((None, rng.randrange(1, 30))),
        ags=f"05{rng.randrange(10**6):06d}", hvb_name=text(), hvb_function=text(),
        contact_person=text(),
        qr_payload=rng.choice((None, "EWS-GE|13.0.70-001/2027|05999999|"
                               + "X" * rng.randrange(10, 90))),
        signed_by=text(), signed_function=text(), signed_on=rng.choice((None, day)),
        joined_on=rng.choice((None, day)))


def parts(docx: bytes) -> list[tuple[str, bytes]]:
    with zipfile.ZipFile(io.BytesIO(docx)) as archive:
        assert archive.testzip() is None
        return [(name, archive.read(name)) for name in archive.namelist()]


@pytest.fixture(scope="module")
def prepared() -> dict[LetterKind, PreparedTemplate]:
    return {kind: prepare(template_path(TEMPLATES, kind).read_bytes(), jinja_env(),
                          frozenset({"qr_code"})) for kind in LetterKind}


def test_50_letters_of_every_kind_are_docxtpls_letters_part_for_part(
    prepared: dict[LetterKind, PreparedTemplate],
) -> None:
    rng = random.Random(20)
    kinds = list(LetterKind)
    images = 0
    for number in range(LETTERS):
        kind = kinds[number % len(kinds)]
        context = letter_context(varied_letter(kind, rng), OFFICE)
        payload = context["qr_code"]
        pictures = {"qr_code": Picture(qr_png(payload), Mm(QR_MM))} if payload else {}
        path = template_path(TEMPLATES, kind)
        expected = parts(reference_docx(path, context))
        new = render(prepared[kind], context, pictures)
        assert [name for name, _ in parts(new)] == [name for name, _ in expected], number
        for (name, data), (_, wanted) in zip(parts(new), expected, strict=True):
            assert data == wanted, f"letter {number} ({kind.value}): {name} differs"
        assert parts(render_letter_docx(path, context)) == expected  # the service's path
        images += any(name.startswith("word/media/") for name, _ in expected)
    assert images >= 2  # declarations with their QR code were among them


def test_a_changed_template_is_prepared_anew(tmp_path: Path) -> None:
    path = tmp_path / "eingangsbestaetigung.docx"
    source = template_path(TEMPLATES, LetterKind.EINGANGSBESTAETIGUNG)
    path.write_bytes(source.read_bytes())
    context = letter_context(varied_letter(LetterKind.EINGANGSBESTAETIGUNG, random.Random(1)),
                             OFFICE)
    first = render_letter_docx(path, context)
    path.write_bytes(template_path(TEMPLATES, LetterKind.ABSAGE).read_bytes())
    with pytest.raises(TemplateError, match="absage|Platzhalter|unbekannt"):
        render_letter_docx(path, {key: value for key, value in context.items()
                                  if key != "grund"})
    second = render_letter_docx(path, context)
    assert dict(parts(first))["word/document.xml"] != dict(parts(second))["word/document.xml"]
    assert parts(second) == parts(reference_docx(path, context))


def test_an_image_in_a_footer_is_left_to_docxtpl(tmp_path: Path) -> None:
    source = template_path(TEMPLATES, LetterKind.GEMEINSAME_ERKLAERUNG)
    path = tmp_path / source.name
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(path, "w") as new:
        for info in old.infolist():
            data = old.read(info)
            if info.filename == "word/footer1.xml":
                data = data.replace(b"{{ absender_name }}", b"{{ absender_name }}{{ qr_code }}")
            new.writestr(info, data)
    context = letter_context(varied_letter(LetterKind.GEMEINSAME_ERKLAERUNG, random.Random(3)),
                             OFFICE)
    context["qr_code"] = "EWS-GE|13.0.70-001/2027|05999999|XPVVNAQEYJ34C6JXXFBLAL5OFE"
    prepared = prepare(path.read_bytes(), jinja_env(), frozenset({"qr_code"}))
    with pytest.raises(Unsupported):
        render(prepared, context, {"qr_code": Picture(qr_png(str(context["qr_code"])),
                                                      Mm(QR_MM))})
    letter = parts(render_letter_docx(path, context))
    assert letter == parts(reference_docx(path, context))
    assert b"<w:drawing>" in dict(letter)["word/footer1.xml"]
