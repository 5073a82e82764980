"""The walk over a mail's MIME tree that collects its PDFs and the reasons for skipped parts (pure).

No I/O. Which parts count as PDFs, which containers are opened and the limits are described in
``ews.mail.parse``'s docstring; every skipped part gets a German sentence.
"""

from __future__ import annotations

import io
import re
import unicodedata
import zipfile
from dataclasses import dataclass
from email.message import Message

from ews.core.names import safe_name
from ews.core.sniff import is_pdf, not_a_pdf_reason
from ews.mail.archives import ZIP_MAGIC, ZIP_TYPES, is_office_package, member_name
from ews.mail.headers import (
    content_type,
    filename,
    first,
    fix_c1,
    raw_headers,
    repair_8bit,
    unstructured,
)
from ews.mail.mime import children, cte, lenient_base64, message_from, payload_bytes

ZIP_TOTAL_FACTOR = 4  # at most this many times max_attachment_bytes unpacked per mail
_MAX_NESTING = 40  # multipart levels; guards the recursion, not a real-world limit
_SNIFF = 1024
MB = 1024 * 1024
_FORWARD_LABEL = "weitergeleitete Nachricht"
_OUTLOOK_WRAPPERS = ("application/ms-tnef", "application/vnd.ms-tnef", "application/vnd.ms-outlook")


@dataclass(frozen=True)
class Attachment:
    """One PDF found in a mail; ``found_in`` names its containers, outermost first."""

    name: str
    data: bytes
    found_in: tuple[str, ...] = ()


def _clean_name(raw: str | None) -> str:
    """NFC, no path parts, no control or bidi characters; "" when nothing usable remains."""
    if not raw:
        return ""
    text = unicodedata.normalize("NFC", fix_c1(repair_8bit(raw)))
    text = "".join(char for char in text if unicodedata.category(char) not in ("Cc", "Cf"))
    base = text.replace("\\", "/").rsplit("/", 1)[-1].strip(" .")
    return safe_name(base) if base else ""


def _size_text(size: int) -> str:
    if size >= MB:
        text = f"{size / MB:,.1f} MB"
    elif size >= 1024:
        text = f"{size / 1024:,.1f} KB"
    else:
        return f"{size} Bytes"
    return text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")


def _limit_text(size: int) -> str:
    text = _size_text(size)
    return text.replace(",0 ", " ")


def _where(found_in: tuple[str, ...]) -> str:
    return f" (in „{' › '.join(found_in)}“)" if found_in else ""


class Collector:
    """Walks the MIME tree in document order, collecting PDFs and reasons for skipped parts."""

    def __init__(self, max_bytes: int, max_members: int, max_depth: int,
                 max_pdfs: int | None = None) -> None:
        self.max_pdfs = max_pdfs
        self.max_bytes = max_bytes
        self.max_members = max_members
        self.max_depth = max_depth
        self.zip_budget = ZIP_TOTAL_FACTOR * max_bytes
        self.budget_reported = False
        self.pdfs: list[Attachment] = []
        self.skipped: list[str] = []

    def walk(self, part: Message, found_in: tuple[str, ...], nesting: int) -> None:
        if nesting > _MAX_NESTING or self.full:
            return
        try:
            self._walk(part, found_in, nesting)
        except Exception:  # one unreadable part must not cost the others
            self.skipped.append(f"Ein Teil der Nachricht{_where(found_in)} konnte nicht "
                                "gelesen werden.")

    def _walk(self, part: Message, found_in: tuple[str, ...], nesting: int) -> None:
        kind = content_type(part)
        if kind in ("message/rfc822", "message/global"):
            self._forwarded(part, found_in, nesting)
        elif part.is_multipart():
            for child in children(part):
                self.walk(child, found_in, nesting + 1)
        elif kind.startswith("multipart/"):
            self._salvage_multipart(part, found_in, nesting)
        else:
            self._leaf(part, kind, found_in, nesting)

    def _salvage_multipart(self, part: Message, found_in: tuple[str, ...], nesting: int) -> None:
        """A multipart without (usable) boundary: take the first ``--line`` as the boundary."""
        body = payload_bytes(part)
        match = re.search(rb"^--([^\r\n]{1,70}?)[ \t]*\r?$", body, flags=re.MULTILINE)
        if match is None or b'"' in match.group(1):
            return
        boundary = match.group(1).decode("ascii", "replace")
        header = f'Content-Type: multipart/mixed; boundary="{boundary}"\r\n\r\n'.encode()
        repaired = message_from(header + body)
        if repaired.is_multipart():
            self.walk(repaired, found_in, nesting + 1)

    def _forwarded(self, part: Message, found_in: tuple[str, ...], nesting: int) -> None:
        enclosed = children(part)
        inner = enclosed[0] if enclosed else None
        if inner is None or (cte(part) == "base64" and not inner.keys()):
            data = lenient_base64(payload_bytes(inner).strip()) if inner is not None else (
                payload_bytes(part))
            inner = message_from(data)
        self._enter_message(inner, found_in, nesting)

    def _enter_message(self, inner: Message, found_in: tuple[str, ...], nesting: int) -> None:
        label = unstructured(first(raw_headers(inner), "subject")) or _FORWARD_LABEL
        if len(found_in) >= self.max_depth:
            if _contains_candidates(inner):
                self.skipped.append(f"Die weitergeleitete Nachricht „{label}“{_where(found_in)} "
                                    "ist zu tief verschachtelt; ihre Anhänge wurden nicht geprüft.")
            return
        self.walk(inner, (*found_in, label), nesting + 1)

    def _leaf(self, part: Message, kind: str, found_in: tuple[str, ...], nesting: int) -> None:
        data = payload_bytes(part)
        raw_name = filename(part)
        name = _clean_name(raw_name)
        if kind.startswith("text/") and not raw_name:
            if data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"%PDF-"):
                self._take_pdf(name, data, found_in)
            return
        lowered = name.casefold()
        if is_pdf(data) or data.startswith(ZIP_MAGIC):
            self._take_file(name, data, found_in, is_member=False)
        elif kind.startswith("message/") or lowered.endswith(".eml"):
            if data.strip():
                self._enter_message(message_from(data), found_in, nesting)
        elif (kind in _OUTLOOK_WRAPPERS or lowered.endswith((".msg", ".dat"))) and (
                b"%PDF-" in data):
            self.skipped.append(
                f"Der Anhang „{name or 'winmail.dat'}“{_where(found_in)} ist im Outlook-eigenen "
                "Format verpackt; darin enthaltene PDF-Dateien können nicht ausgelesen werden.")
        elif lowered.endswith(".pdf") or kind in ("application/pdf", "application/x-pdf"):
            label = name or self._fallback_name("pdf")
            self.skipped.append(f"Der Anhang „{label}“{_where(found_in)} wurde nicht "
                                f"übernommen. {not_a_pdf_reason(data)}")
        elif lowered.endswith(".zip") or kind in ZIP_TYPES:
            label = name or self._fallback_name("zip")
            self.skipped.append(f"Die ZIP-Datei „{label}“{_where(found_in)} ist beschädigt und "
                                "konnte nicht geöffnet werden.")

    def _fallback_name(self, suffix: str) -> str:
        return f"anhang-{len(self.pdfs) + 1}.{suffix}"

    def _take_file(self, name: str, data: bytes, found_in: tuple[str, ...], *,
                   is_member: bool) -> None:
        """A PDF or ZIP by its bytes: size check, then keep the PDF or open the archive."""
        zipped = data.startswith(ZIP_MAGIC)
        label = name or self._fallback_name("zip" if zipped else "pdf")
        if len(data) > self.max_bytes:
            self.skipped.append(self._too_large(label, len(data), found_in, is_member))
        elif zipped:
            self._open_zip(label, data, found_in)
        else:
            self._take_pdf(name, data, found_in)

    def _too_large(self, label: str, size: int, found_in: tuple[str, ...], is_member: bool) -> str:
        what = "Die Datei" if is_member else "Der Anhang"
        return (f"{what} „{label}“{_where(found_in)} ist {_size_text(size)} groß; angenommen "
                f"werden höchstens {_limit_text(self.max_bytes)}.")

    @property
    def full(self) -> bool:
        """Whether more PDFs than the cap are found: the mail goes to staff as a whole."""
        return self.max_pdfs is not None and len(self.pdfs) > self.max_pdfs

    def _take_pdf(self, name: str, data: bytes, found_in: tuple[str, ...]) -> None:
        if not name:
            name = self._fallback_name("pdf")
        elif not name.casefold().endswith(".pdf"):
            name = safe_name(f"{name}.pdf")
        self.pdfs.append(Attachment(name=name, data=data, found_in=found_in))

    # --- ZIP archives ---

    def _open_zip(self, label: str, data: bytes, found_in: tuple[str, ...]) -> None:
        if len(found_in) >= self.max_depth:
            self.skipped.append(f"Die ZIP-Datei „{label}“{_where(found_in)} ist zu tief "
                                "verschachtelt und wurde nicht geöffnet.")
            return
        try:
            archive = zipfile.ZipFile(io.BytesIO(data))
            infos = [info for info in archive.infolist() if not info.is_dir()]
        except Exception:  # not a readable archive: reported below
            self.skipped.append(f"Die ZIP-Datei „{label}“{_where(found_in)} ist beschädigt und "
                                "konnte nicht geöffnet werden.")
            return
        with archive:
            if is_office_package([info.orig_filename for info in infos]):
                if label.casefold().endswith(".pdf"):  # a Word file renamed to .pdf
                    self.skipped.append(f"Der Anhang „{label}“{_where(found_in)} wurde nicht "
                                        f"übernommen. {not_a_pdf_reason(data)}")
                return  # .docx, .xlsx, .odt: a document, not an archive
            if len(infos) > self.max_members:
                self.skipped.append(
                    f"Die ZIP-Datei „{label}“{_where(found_in)} enthält {len(infos)} Dateien; "
                    f"geöffnet werden nur Archive mit höchstens {self.max_members} Dateien.")
                return
            if infos and all(info.flag_bits & 0x1 for info in infos):
                self.skipped.append(f"Die ZIP-Datei „{label}“{_where(found_in)} ist "
                                    "verschlüsselt und konnte nicht geöffnet werden.")
                return
            inner = (*found_in, label)
            for info in infos:
                if self.full or not self._member(archive, info, inner):
                    break

    def _member(self, archive: zipfile.ZipFile, info: zipfile.ZipInfo,
                found_in: tuple[str, ...]) -> bool:
        """Take one archive member; False when the archive budget is used up."""
        path = member_name(info)
        if path.startswith("__MACOSX/") or path.rsplit("/", 1)[-1].startswith("._"):
            return True
        name = _clean_name(path)
        relevant_name = name.casefold().endswith((".pdf", ".zip")) or "." not in name
        label = name or self._fallback_name("pdf")
        if info.flag_bits & 0x1:
            self.skipped.append(f"Die Datei „{label}“{_where(found_in)} ist verschlüsselt und "
                                "konnte nicht geöffnet werden.")
            return True
        try:
            with archive.open(info) as handle:
                head = handle.read(_SNIFF)
                candidate = is_pdf(head) or head.startswith(ZIP_MAGIC)
                if not candidate:
                    if relevant_name:
                        self.skipped.append(f"Die Datei „{label}“{_where(found_in)} wurde nicht "
                                            f"übernommen. {not_a_pdf_reason(head)}")
                    return True
                if info.file_size > self.max_bytes:
                    self.skipped.append(self._too_large(label, info.file_size, found_in, True))
                    return True
                remaining = self.max_bytes + 1 - len(head)
                data = head + (handle.read(remaining) if remaining > 0 else b"")
        except Exception:  # a damaged member: reported if it could be a PDF
            if relevant_name:
                self.skipped.append(
                    f"Die Datei „{label}“{_where(found_in)} ist beschädigt oder in einem nicht "
                    "unterstützten Verfahren gepackt und konnte nicht gelesen werden.")
            return True
        if len(data) > self.max_bytes:  # more than declared: a forged header
            self.skipped.append(f"Die Datei „{label}“{_where(found_in)} ist entpackt größer als "
                                f"angegeben und überschreitet die Höchstgröße von "
                                f"{_limit_text(self.max_bytes)}.")
            return True
        if len(data) > self.zip_budget:
            if not self.budget_reported:
                self.skipped.append(
                    f"Aus den ZIP-Dateien dieser Nachricht wurden bereits "
                    f"{_limit_text(ZIP_TOTAL_FACTOR * self.max_bytes)} entpackt; „{label}“ "
                    "und weitere Dateien wurden nicht übernommen.")
                self.budget_reported = True
            return False
        self.zip_budget -= len(data)
        self._take_file(name, data, found_in, is_member=True)
        return True


def _contains_candidates(message: Message) -> bool:
    """Whether a (too deeply nested) message holds any PDF or ZIP bytes at all."""
    try:
        return any(not part.is_multipart() and (
            is_pdf(data := payload_bytes(part)) or data.startswith(ZIP_MAGIC))
            for part in message.walk())
    except Exception:  # unreadable: assume candidates, so it is reported
        return True

