"""Contract fields from AcroForm dictionaries built in memory (no PDF file, no pypdf reader
except for ``acroform_of``)."""

from __future__ import annotations

import codecs
import io

from pypdf import PdfReader, PdfWriter
from pypdf.generic import (
    ArrayObject,
    ByteStringObject,
    DictionaryObject,
    NameObject,
    NumberObject,
    PdfObject,
    TextStringObject,
)

from ews.core.form_contract import CHECKBOX_FIELDS, FIELD_NAMES
from ews.documents.acroform import acroform_of, contract_name, fields_from_acroform, has_xfa
from ews.letters.blank_form import build_blank_form


def _field(
    name: str | None, value: PdfObject | None = None, **entries: PdfObject
) -> DictionaryObject:
    node = DictionaryObject()
    if name is not None:
        node[NameObject("/T")] = TextStringObject(name)
    if value is not None:
        node[NameObject("/V")] = value
    for key, entry in entries.items():
        node[NameObject(f"/{key}")] = entry
    return node


def _form(*fields: DictionaryObject, **entries: PdfObject) -> DictionaryObject:
    form = DictionaryObject({NameObject("/Fields"): ArrayObject(fields)})
    for key, entry in entries.items():
        form[NameObject(f"/{key}")] = entry
    return form


def _text(value: str) -> TextStringObject:
    return TextStringObject(value)


def test_acroform_of_a_document_without_form_is_none() -> None:
    writer = PdfWriter()
    writer.add_blank_page(595, 842)
    buffer = io.BytesIO()
    writer.write(buffer)
    assert acroform_of(PdfReader(io.BytesIO(buffer.getvalue()))) is None


def test_the_blank_form_has_every_contract_field_empty() -> None:
    acroform = acroform_of(PdfReader(io.BytesIO(build_blank_form("EWS 6"))))
    assert acroform is not None and not has_xfa(acroform)
    fields = fields_from_acroform(acroform)
    assert fields is not None and list(fields) == list(FIELD_NAMES)
    assert fields["runde"] == "EWS 6"
    assert all(fields[name] is False for name in CHECKBOX_FIELDS)
    assert all(fields[name] is None for name in FIELD_NAMES if name not in CHECKBOX_FIELDS
               and name != "runde")


def test_xfa() -> None:
    assert has_xfa(_form(XFA=ArrayObject()))
    assert not has_xfa(_form())
    assert not has_xfa(None)


def test_contract_name_of_full_and_designer_style_names() -> None:
    assert contract_name("kommune_name") == "kommune_name"
    assert contract_name("form1[0].seite1[0].kommune_name[0]") == "kommune_name"
    assert contract_name("bewerbung.plz") == "plz"
    assert contract_name("kommune_name.extra") is None
    assert contract_name("Kommune_Name") is None
    assert contract_name("") is None


def test_form_without_any_contract_field_is_none() -> None:
    assert fields_from_acroform(None) is None
    assert fields_from_acroform(_form()) is None
    assert fields_from_acroform(_form(_field("Name", _text("Stadt Olpe")))) is None
    assert fields_from_acroform(DictionaryObject()) is None


def test_missing_contract_fields_are_none_and_unchecked() -> None:
    fields = fields_from_acroform(_form(_field("kommune_name", _text("  Stadt   Olpe "))))
    assert fields is not None
    assert fields["kommune_name"] == "Stadt Olpe"
    assert fields["plz"] is None and fields["datenschutz"] is False
    assert set(fields) == set(FIELD_NAMES)


def test_single_line_collapses_whitespace_multiline_keeps_line_breaks() -> None:
    fields = fields_from_acroform(_form(
        _field("ort", _text("Olpe\r\n(Biggesee)")),
        _field("motivation", _text("  Erste Zeile\r\nZweite\rDritte  ")),
    ))  # fmt: skip
    assert fields is not None
    assert fields["ort"] == "Olpe (Biggesee)"
    assert fields["motivation"] == "Erste Zeile\nZweite\nDritte"


def test_empty_values_are_none() -> None:
    fields = fields_from_acroform(_form(_field("plz", _text("   ")), _field("ort", _text(""))))
    assert fields is not None and fields["plz"] is None and fields["ort"] is None


def test_string_encodings_utf16_with_bom_utf8_with_bom_and_pdfdoc() -> None:
    fields = fields_from_acroform(_form(
        _field("kommune_name", ByteStringObject(
            codecs.BOM_UTF16_BE + "Gemeinde Möhnesee".encode("utf-16-be"))),
        _field("strasse", ByteStringObject(codecs.BOM_UTF8 + "Hauptstraße 1".encode())),
        _field("ort", ByteStringObject("Lüdenscheid".encode("latin-1"))),
        _field("einwohnerzahl", NumberObject(27456)),
        _field("kommune_typ", NameObject("/Gemeinde")),
        _field("regierungsbezirk", ArrayObject([_text("Arnsberg"), _text("Köln")])),
    ))  # fmt: skip
    assert fields is not None
    assert fields["kommune_name"] == "Gemeinde Möhnesee"
    assert fields["strasse"] == "Hauptstraße 1"
    assert fields["ort"] == "Lüdenscheid"
    assert fields["einwohnerzahl"] == "27456"
    assert fields["kommune_typ"] == "Gemeinde"
    assert fields["regierungsbezirk"] == "Arnsberg, Köln"


def test_checkbox_values_of_different_programs() -> None:
    fields = fields_from_acroform(_form(
        _field("ehrenamtskarte", NameObject("/Ja")),
        _field("freistellung", NameObject("/1")),
        _field("datenschutz", NameObject("/Off")),
    ))  # fmt: skip
    assert fields is not None
    assert (fields["ehrenamtskarte"], fields["freistellung"], fields["datenschutz"]) == (
        True, True, False)
    for off in ("/Off", "/No", "/Nein", "/0"):
        fields = fields_from_acroform(_form(_field("datenschutz", NameObject(off))))
        assert fields is not None and fields["datenschutz"] is False, off


def test_checkbox_written_as_text_counts_when_it_says_yes() -> None:
    fields = fields_from_acroform(_form(
        _field("ehrenamtskarte", _text("X")),
        _field("freistellung", _text("ja")),
        _field("datenschutz", _text("vielleicht")),
    ))  # fmt: skip
    assert fields is not None
    assert (fields["ehrenamtskarte"], fields["freistellung"], fields["datenschutz"]) == (
        True, True, False)


def test_checkbox_state_only_on_a_kid_widget() -> None:
    widget = DictionaryObject({NameObject("/AS"): NameObject("/Yes")})
    off_widget = DictionaryObject({NameObject("/AS"): NameObject("/Off")})
    fields = fields_from_acroform(_form(
        _field("freistellung", Kids=ArrayObject([off_widget, widget])),
        _field("datenschutz", Kids=ArrayObject([off_widget])),
    ))  # fmt: skip
    assert fields is not None
    assert fields["freistellung"] is True and fields["datenschutz"] is False


def test_value_inherited_from_the_parent_or_found_on_a_kid_widget() -> None:
    widget = DictionaryObject({NameObject("/V"): _text("57462")})
    fields = fields_from_acroform(_form(
        _field("bewerbung", _text("Olpe"), Kids=ArrayObject([_field("ort")])),
        _field("plz", Kids=ArrayObject([widget])),
    ))  # fmt: skip
    assert fields is not None
    assert fields["ort"] == "Olpe"  # /V is inheritable: the parent's value is the kid's
    assert fields["plz"] == "57462"  # the value only on the field's widget


def test_hierarchical_names_are_matched_by_their_last_part() -> None:
    fields = fields_from_acroform(_form(
        _field("form1[0]", Kids=ArrayObject([
            _field("seite1[0]", Kids=ArrayObject([
                _field("kommune_name[0]", _text("Kreis Olpe")),
            ])),
        ])),
    ))  # fmt: skip
    assert fields is not None and fields["kommune_name"] == "Kreis Olpe"


def test_a_later_filled_duplicate_wins_over_an_empty_one() -> None:
    fields = fields_from_acroform(_form(
        _field("a.hvb_name"), _field("b.hvb_name", _text("Frau Beispiel")),
        _field("c.hvb_name", _text("Herr Später")),
    ))  # fmt: skip
    assert fields is not None and fields["hvb_name"] == "Frau Beispiel"


def test_very_long_values_are_cut_and_deep_trees_are_not_followed() -> None:
    fields = fields_from_acroform(_form(_field("motivation", _text("x" * 200_000))))
    assert fields is not None and fields["motivation"] == "x" * 100_000
    deepest = _field("ort", _text("Olpe"))
    node = deepest
    for level in range(30):
        node = _field(f"ebene{level}", Kids=ArrayObject([node]))
    assert fields_from_acroform(_form(node)) is None
