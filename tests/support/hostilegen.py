"""Test-only hostile inputs: what careless senders, broken programs and attackers put into the
inbox folder and the application mailbox. Deterministic for a seed (``random.Random(seed)``).

Two kinds of case, each with a name and the class of outcome it must end in where that is
determined (``None``: any outcome, as long as there is one):

- ``FileCase``: a file (or a symlink, a FIFO) to place in the inbox, named by raw OS bytes;
- ``MailCase``: a raw RFC 5322 mail for the office mailbox, from its own sender address.

Outcome classes: ``registered``, ``invalid``, ``declaration`` (journal outcomes);
``automatic`` (a mail never treated as an application and never answered); ``staff`` (a mail
that must not be answered automatically, e.g. a failed DMARC check: its sender is forged);
``skipped`` (not an input at all: left where it is, never followed or read).

The valid applications inside come from ``ews.letters.samples`` (one distinct municipality each),
the
broken PDFs are written by hand (``tests.support.pdfgen_raw.RawPdf``), the declarations by
``tests.support.declgen``, the returned mail by ``tests.support.bouncegen``. Builds bytes only;
``place_in_inbox`` writes a file case to a folder.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import random
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from email import message_from_bytes
from email.utils import parseaddr
from functools import cache
from pathlib import Path
from typing import Literal

from ews.letters.sample_data import Kommune, application_values, kommunen
from ews.letters.samples import filled_form_pdf
from tests.support import bouncegen, declgen, pdfgen
from tests.support.pdfgen_raw import RawPdf, pdf_literal

ROUND = "EWS 6"
OFFICE = "bewerbung@ews.test"
#: no answer may ever be sent to this domain: it only appears where an attacker put it
ATTACKER_DOMAIN = "angreifer.test"
#: the ordinary application sent behind the hostile inputs (Bielefeld)
ORDINARY_AGS = "05711000"
#: municipalities the corpus leaves alone: the other generators' (pdfgen: Lüdenscheid,
#: declgen: Hagen) and the ordinary application's
_TAKEN_AGS = {"05962032", "05914000", ORDINARY_AGS}
#: the file system's limit for one name, in bytes (ext4, tmpfs, xfs)
NAME_MAX = 255

#: the corpus is sent in batches, so that one case that stalls a whole pass hides only its
#: batch's other cases: odd names; odd content; containers and entries that are no files
INBOX_BATCHES = ("names", "content", "containers")
#: odd attachment names; floods and malformed MIME; many PDFs, archives, forged senders
MAIL_BATCHES = ("names", "mime", "bulk")

#: "staff": registered or quarantined for a person to look at, never answered automatically;
#: "capped": more PDFs than a mail may carry: the mail itself is one input for staff, with one
#: answer
Expected = Literal["registered", "invalid", "declaration", "automatic", "staff", "capped",
                   "skipped"]
FileKind = Literal["file", "symlink", "fifo"]


@dataclass(frozen=True)
class FileCase:
    """One entry of the inbox: ``file_name`` as raw OS bytes (may be invalid UTF-8)."""

    name: str
    file_name: bytes
    data: bytes
    expected: Expected | None
    kind: FileKind = "file"
    #: a symlink's target, relative to the folder ``place_in_inbox`` calls ``outside``
    target: str = ""
    #: the batch the case is sent in (``INBOX_BATCHES``)
    batch: str = ""

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


@dataclass(frozen=True)
class MailCase:
    """One raw mail; ``sender`` is where an answer would go (None: there is no usable one)."""

    name: str
    raw: bytes
    expected: Expected | None
    sender: str | None
    #: how many distinct valid applications the mail carries
    applications: int = 0
    #: the batch the case is sent in (``MAIL_BATCHES``)
    batch: str = ""


@dataclass
class Applications:
    """Valid filled applications, one distinct municipality each, in seed order."""

    rng: random.Random
    pool: list[Kommune] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.pool = [k for k in kommunen() if k.ags not in _TAKEN_AGS]
        self.rng.shuffle(self.pool)

    def next(self) -> bytes:
        kommune = self.pool.pop()
        return _filled(kommune.ags, self.rng.randrange(1 << 30))

    def values(self) -> dict[str, str | bool]:
        kommune = self.pool.pop()
        return dict(application_values(kommune, random.Random(self.rng.randrange(1 << 30)),
                                       ROUND))


@cache
def _filled(ags: str, seed: int) -> bytes:
    kommune = next(k for k in kommunen() if k.ags == ags)
    return filled_form_pdf(application_values(kommune, random.Random(seed), ROUND), ROUND)


# --- names ------------------------------------------------------------------------------------


def _fit(name: bytes, limit: int = NAME_MAX) -> bytes:
    """Cut a name to what the file system takes, on a UTF-8 character boundary, keeping
    ``.pdf``."""
    if len(name) <= limit:
        return name
    stem = name[: limit - 4]
    while stem and (stem[-1] & 0xC0) == 0x80:  # a continuation byte: drop the whole char
        stem = stem[:-1]
    if stem and stem[-1] >= 0xC0:
        stem = stem[:-1]
    return stem + b".pdf"


def odd_names(rng: random.Random) -> list[tuple[str, str]]:
    """(case name, file name) pairs as senders and attackers write them (str; may hold
    characters no file system takes: NUL, ``/``)."""
    cjk = "".join(chr(rng.randrange(0x4E00, 0x9FFF)) for _ in range(90))
    emoji = "".join(chr(rng.randrange(0x1F600, 0x1F64F)) for _ in range(75))  # 300 bytes
    controls = "".join(chr(c) for c in range(1, 32))
    return [
        ("cjk-90", f"{cjk}.pdf"),
        ("emoji-300-bytes", f"{emoji}.pdf"),
        ("rtl-override", "Bewerbung_\u202efdp.exe"),
        ("control-chars", f"Bew{controls}erbung.pdf"),
        ("windows-con", "CON.pdf"),
        ("windows-nul", "nul"),
        ("trailing-dots-spaces", "Bewerbung.pdf. . .  "),
        ("leading-dash", "-rf Bewerbung.pdf"),
        ("combining-marks", "Bewerbung " + "e\u0301" * 60 + ".pdf"),
        ("zero-width", "Bew\u200berbung\ufeff\u200d.pdf"),
    ]


# --- PDFs built by hand -----------------------------------------------------------------------


def _font() -> bytes:
    return b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"


def text_pdf(text: bytes) -> bytes:
    """One page whose text layer shows ``text`` (raw bytes inside a literal string)."""
    escaped = text.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")
    pdf = RawPdf()
    catalog, pages, page = pdf.reserve(), pdf.reserve(), pdf.reserve()
    content = pdf.stream(b"BT /F1 10 Tf 56 800 Td (Name der Kommune:) Tj 0 -14 Td ("
                         + escaped + b") Tj ET")
    pdf.objects[page] = (b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 595 842] /Contents "
                         b"%d 0 R /Resources << /Font << /F1 %s >> >> >>"
                         % (pages, content, _font()))
    pdf.objects[pages] = b"<< /Type /Pages /Kids [%d 0 R] /Count 1 >>" % page
    pdf.objects[catalog] = b"<< /Type /Catalog /Pages %d 0 R >>" % pages
    return pdf.build(catalog)


def _field(name: str, value: str | bool) -> bytes:
    """A field's type, name and value: a text field, or a checkbox for a boolean."""
    if isinstance(value, bool):
        state = b"/Yes" if value else b"/Off"
        return b"/FT /Btn /T %s /V %s /AS %s" % (pdf_literal(name, utf16=False), state, state)
    return b"/FT /Tx /T %s /V %s" % (pdf_literal(name, utf16=False),
                                     pdf_literal(value, utf16=True))


def form_pdf(values: dict[str, str | bool], *, loop: str = "") -> bytes:
    """A one-page AcroForm: text fields holding ``values`` (UTF-16 literals), checkboxes for
    the boolean ones.

    ``loop``: ``kids`` (the page tree's root lists itself as a kid), ``parent`` (the page's
    /Parent chain runs in a circle), ``field`` (a field is its own kid), ``xobject`` (a form
    XObject draws itself), ``""`` none."""
    pdf = RawPdf()
    catalog, pages, page = pdf.reserve(), pdf.reserve(), pdf.reserve()
    fields = []
    for index, (name, value) in enumerate(values.items()):
        rect = b"[56 %d 500 %d]" % (780 - 20 * index, 795 - 20 * index)
        fields.append(pdf.add(b"<< %s /Subtype /Widget /Type /Annot /Rect %s /P %d 0 R >>"
                              % (_field(name, value), rect, page)))
    resources = b"<< /Font << /F1 %s >> >>" % _font()
    content = pdf.stream(b"BT /F1 10 Tf 56 820 Td (Bewerbungsbogen) Tj ET")
    if loop == "xobject":
        selfish = pdf.reserve()
        pdf.objects[selfish] = (b"<< /Type /XObject /Subtype /Form /BBox [0 0 10 10] /Resources "
                                b"<< /XObject << /X1 %d 0 R >> >> /Length 7 >>\nstream\n/X1 Do"
                                b"\nendstream" % selfish)
        resources = b"<< /Font << /F1 %s >> /XObject << /X1 %d 0 R >> >>" % (_font(), selfish)
        content = pdf.stream(b"/X1 Do BT /F1 10 Tf 56 820 Td (Bewerbungsbogen) Tj ET")
    if loop == "field" and fields:
        first = fields[0]
        pdf.objects[first] = pdf.objects[first][:-2] + b" /Kids [%d 0 R] >>" % first
    parent = pages
    if loop == "parent":
        middle = pdf.add(b"<< /Type /Pages /Parent %d 0 R /Kids [%d 0 R] /Count 1 >>"
                         % (page, page))
        parent = middle
    pdf.objects[page] = (b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 595 842] /Contents "
                         b"%d 0 R /Resources %s /Annots [%s] >>"
                         % (parent, content, resources,
                            b" ".join(b"%d 0 R" % f for f in fields)))
    kids = b"%d 0 R" % page + (b" %d 0 R" % pages if loop == "kids" else b"")
    pdf.objects[pages] = b"<< /Type /Pages /Kids [%s] /Count 1 >>" % kids
    pdf.objects[catalog] = (b"<< /Type /Catalog /Pages %d 0 R /AcroForm << /Fields [%s] >> >>"
                            % (pages, b" ".join(b"%d 0 R" % f for f in fields)))
    return pdf.build(catalog)


def xref_loop_pdf(values: dict[str, str | bool]) -> bytes:
    """A form whose last xref section names itself as /Prev, and an incremental update whose
    /Prev points back at that update: a reader that follows /Prev never stops."""
    base = form_pdf(values)
    start = int(base.rsplit(b"startxref\n", 1)[1].split(b"\n", 1)[0])
    looped = base.replace(b"trailer\n<< /Size", b"trailer\n<< /Prev %d /Size" % start, 1)
    # fix startxref: the trailer grew but the xref table did not move
    update_at = len(looped)
    size = int(looped.split(b"/Size ", 1)[1].split(b" ", 1)[0])
    update = (b"xref\n0 1\n0000000000 65535 f \ntrailer\n<< /Size %d /Root 1 0 R /Prev %d >>"
              b"\nstartxref\n%d\n%%%%EOF\n" % (size, update_at, update_at))
    return looped + update


def object_stream_loop_pdf(values: dict[str, str | bool]) -> bytes:
    """A form whose fields lie in an object stream that /Extends itself, indexed by an xref
    stream (PDF 1.5) that is its own /Prev."""
    header = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"
    body = bytearray(header)
    offsets: dict[int, int] = {}

    def put(number: int, text: bytes) -> None:
        offsets[number] = len(body)
        body.extend(b"%d 0 obj\n%s\nendobj\n" % (number, text))

    names = list(values)
    field_numbers = list(range(5, 5 + len(names)))
    put(1, b"<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [%s] >> >>"
        % b" ".join(b"%d 0 R" % n for n in field_numbers))
    put(2, b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>")
    put(3, b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Annots [%s] >>"
        % b" ".join(b"%d 0 R" % n for n in field_numbers))
    objects = [b"<< %s /Subtype /Widget /Rect [0 0 1 1] >>" % _field(name, values[name])
               for name in names]
    index, offset = [], 0
    for number, text in zip(field_numbers, objects, strict=True):
        index.append(b"%d %d" % (number, offset))
        offset += len(text) + 1
    head = b" ".join(index) + b" "
    payload = zlib.compress(head + b"\n".join(objects) + b"\n")
    put(4, b"<< /Type /ObjStm /N %d /First %d /Extends 4 0 R /Filter /FlateDecode /Length %d >>"
        b"\nstream\n" % (len(objects), len(head), len(payload)) + payload + b"\nendstream")
    xref_number = 5 + len(names)
    xref_at = len(body)
    rows = [b"\x00" + (0).to_bytes(4, "big") + (0xFFFF).to_bytes(2, "big")]
    for number in range(1, xref_number + 1):
        if number in offsets:
            rows.append(b"\x01" + offsets[number].to_bytes(4, "big") + b"\x00\x00")
        elif number in field_numbers:
            rows.append(b"\x02" + (4).to_bytes(4, "big")
                        + field_numbers.index(number).to_bytes(2, "big"))
        else:  # the xref stream itself
            rows.append(b"\x01" + xref_at.to_bytes(4, "big") + b"\x00\x00")
    table = zlib.compress(b"".join(rows))
    body.extend(b"%d 0 obj\n<< /Type /XRef /Size %d /W [1 4 2] /Root 1 0 R /Prev %d "
                b"/Filter /FlateDecode /Length %d >>\nstream\n"
                % (xref_number, xref_number + 1, xref_at, len(table)) + table
                + b"\nendstream\nendobj\nstartxref\n%d\n%%%%EOF\n" % xref_at)
    return bytes(body)


def deep_array_pdf(depth: int = 100_000) -> bytes:
    """A form whose field value is an array nested ``depth`` levels deep (recursive parsers)."""
    pdf = RawPdf()
    catalog, pages, page = pdf.reserve(), pdf.reserve(), pdf.reserve()
    deep = pdf.add(b"<< /FT /Tx /T (kommune_name) /V " + b"[" * depth + b"]" * depth
                   + b" /Subtype /Widget /Rect [0 0 1 1] >>")
    pdf.objects[page] = b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 595 842] /Annots " \
                        b"[%d 0 R] >>" % (pages, deep)
    pdf.objects[pages] = b"<< /Type /Pages /Kids [%d 0 R] /Count 1 >>" % page
    pdf.objects[catalog] = b"<< /Type /Catalog /Pages %d 0 R /AcroForm << /Fields [%d 0 R] >> >>" \
                           % (pages, deep)
    return pdf.build(catalog)


def tiny_pdf(number: int) -> bytes:
    """A small valid one-page PDF with a line of text (the members of a crowded ZIP)."""
    return text_pdf(b"Anlage %d" % number)


# --- archives ---------------------------------------------------------------------------------


def _zip(members: list[tuple[str, bytes]], *, level: int = 6) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as archive:
        for name, data in members:
            archive.writestr(name, data)
    return buffer.getvalue()


def nested_zip(inner: bytes, depth: int) -> bytes:
    """``inner`` as ``Bewerbung.pdf`` in a ZIP in a ZIP … ``depth`` archives deep."""
    data = _zip([("Bewerbung.pdf", inner)])
    for level in range(2, depth + 1):
        data = _zip([(f"ebene-{level}.zip", data)])
    return data


def crowded_zip(count: int = 500) -> bytes:
    return _zip([(f"Anlagen/anlage-{n:03d}.pdf", tiny_pdf(n)) for n in range(count)])


@cache
def bomb_zip(megabytes: int = 200) -> bytes:
    """A ZIP whose one member inflates from a few hundred kB to ``megabytes`` MB of a PDF
    header and zeros."""
    buffer = io.BytesIO()
    chunk = bytes(1 << 20)
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive, \
            archive.open("Bewerbung.pdf", "w", force_zip64=True) as member:
        member.write(b"%PDF-1.7\n")
        for _ in range(megabytes):
            member.write(chunk)
    return buffer.getvalue()


# --- the inbox corpus -------------------------------------------------------------------------


def _unique(data: bytes, tag: str) -> bytes:
    """Make a PDF's bytes unique to its case (a comment after %%EOF; readers ignore it), so
    that no two cases are byte-identical duplicates of each other."""
    return data + b"\n%" + tag.encode("ascii") + b"\n"


def _huge_values(rng: random.Random, apps: Applications) -> list[FileCase]:
    base = apps.values()
    megabyte = "".join(rng.choice("abcdefghij ") for _ in range(1 << 20))
    return [
        FileCase("kommune-name-5000-chars", b"Bewerbung-lang.pdf",
                 form_pdf({**base, "kommune_name": "Gemeinde " + "X" * 5000}), None),
        FileCase("motivation-1mb", b"Bewerbung-1mb.pdf",
                 form_pdf({**apps_values_str(apps), "motivation": megabyte}), None),
        FileCase("every-field-1mb", b"Bewerbung-alles-1mb.pdf",
                 form_pdf({**base, **{key: megabyte for key in ("kommune_name", "ags", "plz",
                                                                "ort", "strasse", "hvb_name")}}),
                 "invalid"),
        FileCase("kommune-name-100k-spaces", b"Bewerbung-leer.pdf",
                 form_pdf({**base, "kommune_name": " " * 100_000}), "invalid"),
        FileCase("field-control-chars", b"Bewerbung-steuer.pdf",
                 form_pdf({**base, "kommune_name": "".join(chr(c) for c in range(32)) * 2000}),
                 None),
        FileCase("team-email-header-injection", b"Bewerbung-bcc.pdf",
                 form_pdf({**apps_values_str(apps), "team1_email":
                           f"kontakt@example.org\r\nBcc: spion@{ATTACKER_DOMAIN}",
                           "team2_email": f"a@example.org, b@{ATTACKER_DOMAIN}"}), None),
    ]


def apps_values_str(apps: Applications) -> dict[str, str | bool]:
    """A valid application's values, for ``form_pdf``."""
    return apps.values()


def _text_floods() -> list[FileCase]:
    controls = bytes(range(32)).replace(b"\r", b"").replace(b"\n", b"")
    return [
        FileCase("text-100k-spaces", b"scan-spaces.pdf", text_pdf(b" " * 100_000), "invalid"),
        FileCase("text-50k-tabs", b"scan-tabs.pdf", text_pdf(b"\t" * 50_000), "invalid"),
        FileCase("text-control-flood", b"scan-steuer.pdf", text_pdf(controls * 4000), "invalid"),
        FileCase("text-newline-flood", b"scan-zeilen.pdf", text_pdf(b"\\n" * 50_000),
                 "invalid"),
    ]


def _loops(apps: Applications) -> list[FileCase]:
    return [
        FileCase(f"loop-{loop}", f"schleife-{loop}.pdf".encode(),
                 form_pdf(apps_values_str(apps), loop=loop), None)
        for loop in ("kids", "parent", "field", "xobject")
    ] + [
        FileCase("loop-xref-prev", b"schleife-xref.pdf", xref_loop_pdf(apps_values_str(apps)),
                 None),
        FileCase("loop-object-stream", b"schleife-objstm.pdf",
                 object_stream_loop_pdf(apps_values_str(apps)), None),
        FileCase("deep-array-100k", b"tief.pdf", deep_array_pdf(), "invalid"),
    ]


def _truncations(rng: random.Random, apps: Applications) -> list[FileCase]:
    whole = apps.next()
    cuts = sorted(rng.sample(range(64, len(whole) - 64), 3))
    return [FileCase("truncated-half", b"abgeschnitten.pdf", pdfgen.truncated_form(), "invalid"),
            FileCase("truncated-header-only", b"nur-kopf.pdf", whole[:9], "invalid")] + [
        FileCase(f"truncated-at-{cut}", f"abgeschnitten-{cut}.pdf".encode(),
                 _unique(whole[:cut], f"cut{cut}"), None) for cut in cuts]


def forged_declarations(rng: random.Random) -> list[tuple[str, bytes]]:
    """Returned-declaration look-alikes whose QR code names no declaration we issued."""
    serial = rng.randrange(500, 999)
    stranger = declgen.Declaration(az=f"13.0.70-{serial}/2027", ags="05315000",
                                   kommune="Stadt Köln", name="Henriette Reker",
                                   function="Oberbürgermeisterin", date_text="Köln, 12.05.2027")
    altered = declgen.Declaration(az="13.0.70-001/2027", ags="05111000",
                                  kommune="Landeshauptstadt Düsseldorf", name="Stephan Keller",
                                  function="Oberbürgermeister", date_text="Düsseldorf, 1.6.2027")
    return [
        ("declaration-never-applied", declgen.declaration_pdf(stranger)),
        ("declaration-altered-ags", declgen.declaration_pdf(
            altered, qr_text=f"EWS-GE|13.0.70-001/2027|{rng.choice(['05113000', '05112000'])}")),
        ("declaration-garbage-payload", declgen.declaration_pdf(
            stranger, qr_text="EWS-GE|" + "9" * 1500)),
    ]


def _garbage(rng: random.Random) -> list[FileCase]:
    noise = rng.randbytes(200_000)
    return [
        FileCase("empty", b"leer.pdf", b"", "invalid"),
        FileCase("binary-garbage", b"Bewerbung-muell.pdf", noise, "invalid"),
        FileCase("pdf-header-then-garbage", b"Bewerbung-kopf.pdf",
                 b"%PDF-1.7\n" + noise[:50_000], "invalid"),
        FileCase("nul-bytes-only", b"nullen.pdf", bytes(100_000), "invalid"),
    ]


def inbox_cases(seed: int = 0) -> list[FileCase]:
    """The hostile inbox corpus for ``seed``."""
    rng = random.Random(seed)
    apps = Applications(random.Random(rng.randrange(1 << 30)))
    names = [FileCase(f"name-{label}", _fit(name.encode("utf-8")), apps.next(), "registered")
             for label, name in odd_names(rng)]
    names += [
        FileCase("name-latin1-bytes", b"Bewerbung L\xfcdenscheid \xc4mter.pdf", apps.next(),
                 "registered"),
        FileCase("name-broken-utf8", b"Bewerbung \xc3\x28 \xe2\x82.pdf", apps.next(),
                 "registered"),
        FileCase("name-255-bytes", _fit(b"B" * 300), apps.next(), "registered"),
        FileCase("name-only-dots", b"...", apps.next(), "skipped"),
    ]
    content = _text_floods() + _huge_values(rng, apps) + _loops(apps) + _truncations(rng, apps)
    content += [FileCase(label, f"{label}.pdf".encode(), data, "invalid")
                for label, data in forged_declarations(rng)]
    content += _garbage(rng)
    containers = [
        FileCase("zip-5-deep", b"unterlagen.zip", nested_zip(apps.next(), 5), "invalid"),
        FileCase("zip-500-pdfs", b"anlagen.zip", crowded_zip(500), "invalid"),
        FileCase("zip-bomb", b"Bewerbung.zip", bomb_zip(), "invalid"),
        FileCase("symlink-to-application", b"Bewerbung-link.pdf", b"", "skipped",
                 kind="symlink", target="fremd/Bewerbung.pdf"),
        FileCase("symlink-to-dev-zero", b"unendlich.pdf", b"", "skipped", kind="symlink",
                 target="/dev/zero"),
        FileCase("symlink-loop", b"kreis.pdf", b"", "skipped", kind="symlink",
                 target="@kreis.pdf"),
        FileCase("fifo", b"Bewerbung-fifo.pdf", b"", "skipped", kind="fifo"),
    ]
    return _checked([replace(case, batch=batch) for batch, group in
                     zip(INBOX_BATCHES, (names, content, containers), strict=True)
                     for case in group])


def _checked(cases: list[FileCase]) -> list[FileCase]:
    names = [case.file_name for case in cases]
    assert len(set(names)) == len(names), "two cases share a file name"
    contents = [case.data for case in cases if case.kind == "file"]
    assert len(set(contents)) == len(contents), "two cases are byte-identical"
    return cases


def outside_application(seed: int = 0) -> bytes:
    """The valid application a symlink in the inbox points at (outside the inbox)."""
    return Applications(random.Random(seed + 7_000_003)).next()


def place_in_inbox(case: FileCase, inbox: Path, outside: Path) -> Path:
    """Write one file case into ``inbox``; symlink targets are resolved against ``outside``
    (``@name``: a target in the inbox itself). Returns the entry's path."""
    path = Path(os.fsdecode(os.path.join(os.fsencode(inbox), case.file_name)))
    if case.kind == "fifo":
        os.mkfifo(path)
    elif case.kind == "symlink":
        if case.target.startswith("@"):
            target: str = str(inbox / case.target[1:])
        elif case.target.startswith("/"):
            target = case.target
        else:
            target = str(outside / case.target)
        os.symlink(target, path)
    else:
        fd = os.open(os.fsencode(path), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        with os.fdopen(fd, "wb") as handle:
            handle.write(case.data)
    return path


# --- the mail corpus --------------------------------------------------------------------------


def _b64(data: bytes) -> bytes:
    return base64.encodebytes(data).replace(b"\n", b"\r\n")


def _headers(sender: str, subject: bytes = b"Bewerbung EWS 6", extra: bytes = b"",
             message_id: str = "") -> bytes:
    mid = message_id or f"<{hashlib.sha1(sender.encode()).hexdigest()[:16]}@kommune.test>"
    return (b"From: Verwaltung <" + sender.encode() + b">\r\nTo: " + OFFICE.encode() + b"\r\n"
            b"Subject: " + subject + b"\r\nMessage-ID: " + mid.encode() + b"\r\n"
            b"Date: Mon, 01 Feb 2027 10:00:00 +0100\r\nMIME-Version: 1.0\r\n" + extra)


def _pdf_part(data: bytes, name_params: bytes, *, ctype: bytes = b"application/pdf") -> bytes:
    return (b"Content-Type: " + ctype + b"\r\nContent-Disposition: attachment;" + name_params
            + b"\r\nContent-Transfer-Encoding: base64\r\n\r\n" + _b64(data))


def multipart(sender: str, parts: list[bytes], *, subject: bytes = b"Bewerbung EWS 6",
              extra: bytes = b"", body: bytes = b"Anbei unsere Bewerbung.\r\n",
              boundary: bytes = b"==grenze==") -> bytes:
    """A multipart/mixed mail: a text body, then ``parts`` (each with its own headers)."""
    out = _headers(sender, subject, extra) + (
        b'Content-Type: multipart/mixed; boundary="' + boundary + b'"\r\n\r\n'
        b"--" + boundary + b"\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + body)
    for part in parts:
        out += b"\r\n--" + boundary + b"\r\n" + part
    return out + b"\r\n--" + boundary + b"--\r\n"


def _mail_names(rng: random.Random) -> list[tuple[str, bytes]]:
    """(case name, Content-Disposition parameters) with hostile attachment names."""
    named = [(label, b' filename="=?utf-8?B?' + base64.b64encode(name.encode()) + b'?="')
             for label, name in odd_names(rng)]
    return named + [
        ("rfc2231-latin1", b" filename*=iso-8859-1''Bewerbung%20L%FCdenscheid.pdf"),
        ("rfc2231-utf8", b" filename*=UTF-8''Bewerbung%20M%C3%B6hnesee%F0%9F%98%80.pdf"),
        ("rfc2231-broken-charset", b" filename*=x-unbekannt''Bew%FF%FE%00rbung.pdf"),
        ("rfc2231-nul", b" filename*=utf-8''Bewerbung%00.pdf%00.exe"),
        ("rfc2231-continuations", b" filename*0*=utf-8''Bewer; filename*2=\"ung.pdf\";"
                                  b" filename*5*=%E2%80%AE"),
        ("rfc2047-undecodable", b' filename="=?utf-8?B?!!!kein-base64?= =?x-foo?Q?=ZZ?=.pdf"'),
        ("name-only-dots", b' filename="..."'),
        ("name-path-traversal", b' filename="../../../etc/passwd.pdf"'),
        ("name-slashes-backslashes", b' filename="C:\\\\Windows\\\\..\\\\/Bewerbung.pdf"'),
    ]


def _sender(label: str) -> str:
    return f"{label.replace('_', '-')[:48]}@kommune.test"


def _floods(apps: Applications) -> list[MailCase]:
    controls = bytes(c for c in range(32) if c not in (10, 13))
    cases = []
    for label, body in (("body-100k-spaces", b" " * 100_000 + b"\r\n"),
                        ("body-50k-tabs", b"\t" * 50_000 + b"\r\n"),
                        ("body-control-chars", controls * 3000 + b"\r\n"),
                        ("body-nul-bytes", b"\x00" * 50_000 + b"\r\n")):
        sender = _sender(label)
        cases.append(MailCase(label, multipart(sender, [_pdf_part(
            apps.next(), b' filename="Bewerbung.pdf"')], body=body), "registered", sender, 1))
    sender = _sender("header-100kb")
    cases.append(MailCase("header-100kb", multipart(
        sender, [_pdf_part(apps.next(), b' filename="Bewerbung.pdf"')],
        subject=b"Bewerbung " + b"x" * 100_000, extra=b"X-Lang: " + b"y " * 50_000 + b"\r\n"),
        "registered", sender, 1))
    sender = _sender("header-control-chars")
    cases.append(MailCase("header-control-chars", multipart(
        sender, [_pdf_part(apps.next(), b' filename="Bewerbung.pdf"')],
        subject=b"Bewerbung \x01\x02\x1b[31m\x7f" + b"\t" * 5000),
        "registered", sender, 1))
    sender = _sender("header-undecodable-words")
    cases.append(MailCase("header-undecodable-words", multipart(
        sender, [_pdf_part(apps.next(), b' filename="Bewerbung.pdf"')],
        subject=b"=?utf-8?B?@@@@?= =?unknown-8bit?Q?=FF=FE?= =?utf-8?Q?=C3?=" * 50),
        "registered", sender, 1))
    return cases


def _malformed(rng: random.Random, apps: Applications) -> list[MailCase]:
    def case(label: str, raw: bytes, expected: Expected | None, applications: int = 1
             ) -> MailCase:
        return MailCase(label, raw, expected, _sender(label), applications)

    def named(label: str) -> tuple[str, str]:
        return label, _sender(label)

    label, sender = named("mime-missing-boundary")
    missing = _headers(sender) + (b"Content-Type: multipart/mixed\r\n\r\n--x\r\n"
                                  + _pdf_part(apps.next(), b' filename="B.pdf"') + b"\r\n--x--\r\n")
    label2, sender2 = named("mime-boundary-never-closed")
    unclosed = _headers(sender2) + (b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\n'
                                    + _pdf_part(apps.next(), b' filename="B.pdf"'))
    label3, sender3 = named("mime-1000-nested")
    inner = _pdf_part(apps.next(), b' filename="tief.pdf"')
    for level in range(1000):
        inner = (b'Content-Type: multipart/mixed; boundary="n%d"\r\n\r\n--n%d\r\n' % (level, level)
                 + inner + b"\r\n--n%d--\r\n" % level)
    nested = _headers(sender3) + inner
    label4, sender4 = named("mime-invalid-base64")
    broken = _headers(sender4) + (
        b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\n'
        b'Content-Type: application/pdf; name="B.pdf"\r\nContent-Transfer-Encoding: base64\r\n\r\n'
        b"JVBERi0xLjcK!!!***@@@" + bytes(rng.randrange(33, 126) for _ in range(5000))
        + b"\r\n--b--\r\n")
    no_headers = b"\r\n" + _b64(apps.next())
    garbage = rng.randbytes(60_000)
    return [
        case(label, missing, None),
        case(label2, unclosed, "registered"),
        case(label3, nested, None),
        case(label4, broken, "invalid", 0),
        MailCase("mime-no-headers", no_headers, None, None, 1),
        MailCase("mime-binary-garbage", garbage, None, None, 0),
    ]


def dmarc_fail(apps: Applications) -> MailCase:
    sender = f"buergermeister@{ATTACKER_DOMAIN}"
    extra = (b"Authentication-Results: mx.ews.test; spf=fail smtp.mailfrom="
             + ATTACKER_DOMAIN.encode() + b"; dkim=none; dmarc=fail (p=reject) header.from="
             + ATTACKER_DOMAIN.encode() + b"\r\n")
    return MailCase("dmarc-fail", multipart(sender, [_pdf_part(
        apps.next(), b' filename="Bewerbung.pdf"')], extra=extra), "staff", sender, 1)


def many_pdfs(apps: Applications, count: int = 60) -> MailCase:
    sender = _sender("many-pdfs")
    parts = [_pdf_part(apps.next(), b' filename="Bewerbung-%02d.pdf"' % n) for n in range(count)]
    return MailCase("many-pdfs-60", multipart(sender, parts), "capped", sender, count)


def _archives(apps: Applications) -> list[MailCase]:
    def zipped(label: str, data: bytes, expected: Expected | None) -> MailCase:
        sender = _sender(label)
        return MailCase(label, multipart(sender, [_pdf_part(
            data, b' filename="unterlagen.zip"', ctype=b"application/zip")]), expected, sender)

    return [zipped("zip-5-deep", nested_zip(apps.next(), 5), "invalid"),
            zipped("zip-500-pdfs", crowded_zip(500), None),
            zipped("zip-bomb", bomb_zip(), "invalid")]


def _automatic(apps: Applications) -> MailCase:
    sender = _sender("auto-reply-with-pdf")
    return MailCase("auto-reply-with-pdf", multipart(
        sender, [_pdf_part(apps.next(), b' filename="Bewerbung.pdf"')],
        subject=b"Automatische Antwort: Bewerbung", extra=b"Auto-Submitted: auto-replied\r\n"),
        "automatic", sender, 1)


def returned_application(apps: Applications) -> MailCase:
    """A Postfix bounce (``tests.support.bouncegen``) returning someone's application mail, PDF and
    all: never an application, never answered."""
    original = multipart(_sender("returned-original"), [_pdf_part(
        apps.next(), b' filename="Bewerbung.pdf"')])
    raw = bouncegen.postfix(original, "bewerbung@ews.test", "5.1.1",
                            "550 5.1.1 <bewerbung@ews.test>: Recipient address rejected")
    sender = parseaddr(str(message_from_bytes(raw)["From"]))[1].lower()
    return MailCase("bounce-returning-application", raw, "automatic", sender, 1)


def mail_cases(seed: int = 0) -> list[MailCase]:
    """The hostile mail corpus for ``seed``: one sender address per mail."""
    rng = random.Random(seed)
    apps = Applications(random.Random(rng.randrange(1 << 30)))
    names = []
    for label, params in _mail_names(rng):
        sender = _sender(f"name-{label}")
        names.append(MailCase(f"name-{label}", multipart(
            sender, [_pdf_part(apps.next(), params)]), "registered", sender, 1))
    mime = _floods(apps) + _malformed(rng, apps)
    cases = _archives(apps) + [dmarc_fail(apps), _automatic(apps), returned_application(apps),
                               many_pdfs(apps)]
    sender = _sender("form-header-injection")
    values = apps_values_str(apps)
    values.update(team1_email=f"kontakt@kommune.test\r\nBcc: spion@{ATTACKER_DOMAIN}",
                  team2_email=f"a@kommune.test, b@{ATTACKER_DOMAIN}")
    cases.append(MailCase("form-header-injection", multipart(sender, [_pdf_part(
        form_pdf(values), b' filename="Bewerbung.pdf"')]), None, sender, 0))
    for label, data in forged_declarations(rng)[:2]:
        sender = _sender(label)
        cases.append(MailCase(label, multipart(sender, [_pdf_part(
            data, b' filename="Erklaerung.pdf"')]), "invalid", sender))
    everything = [replace(case, batch=batch) for batch, group in
                  zip(MAIL_BATCHES, (names, mime, cases), strict=True) for case in group]
    senders = [case.sender for case in everything if case.sender]
    assert len(set(senders)) == len(senders), "two mail cases share a sender"
    return everything


def ordinary_mail(seed: int = 0) -> MailCase:
    """An ordinary application mail sent behind the hostile ones."""
    sender = "buergerbuero@gewoehnlich.test"
    data = _filled(ORDINARY_AGS, seed)
    return MailCase("ordinary", multipart(sender, [_pdf_part(
        data, b' filename="Bewerbung.pdf"')], subject=b"Bewerbung EWS 6"), "registered",
        sender, 1)


def ordinary_file(seed: int = 0) -> FileCase:
    """An ordinary application file dropped into the inbox behind the hostile ones."""
    return FileCase("ordinary", b"Bewerbung.pdf", _filled(ORDINARY_AGS, seed), "registered")


def ordinary_batch(count: int, seed: int = 0) -> Iterator[FileCase]:
    """``count`` ordinary applications as inbox files (the bench's baseline)."""
    apps = Applications(random.Random(seed + 5))
    for number in range(count):
        yield FileCase(f"ordinary-{number}", b"Bewerbung-%03d.pdf" % number, apps.next(),
                       "registered")
