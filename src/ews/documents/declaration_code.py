"""The QR code of the Gemeinsame Erklärung: its payload's format and checksum (pure, no I/O).

The sign-up document carries a QR code ``EWS-GE|<Az>|<AGS>|<checksum>``; the checksum is the
first 16 bytes of HMAC-SHA256 over ``EWS-GE|<Az>|<AGS>`` under the office's key, base32 (codes
printed before it have none). The network issues payloads with ``qr_payload`` and checks them
with ``checksum_matches``; the reader (``ews.documents.declaration_scan``) parses what it finds.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from typing import NamedTuple

__all__ = [
    "AGS_PATTERN", "AZ_PATTERN", "PAYLOAD_PREFIX", "QrPayload", "checksum_matches",
    "parse_payload", "payload_checksum", "qr_payload",
]  # fmt: skip

PAYLOAD_PREFIX = "EWS-GE"

#: the Aktenzeichen: file-plan key of dotted digits, dash, zero-padded serial, slash, year
AZ_PATTERN = r"\d{1,4}(?:\.\d{1,4})*-\d{1,6}/\d{4}"
AGS_PATTERN = r"\d{8}|\d{5}"
#: a checksum as we write it, or anything in its place a forger may have put there
_CHECKSUM = r"[A-Za-z0-9+/=_-]{0,64}"
_PAYLOAD = re.compile(
    rf"{re.escape(PAYLOAD_PREFIX)}\|(?P<az>{AZ_PATTERN})\|(?P<ags>{AGS_PATTERN})(?:\|(?P<checksum>{_CHECKSUM}))?"
)
#: bytes of the HMAC kept: 128 bits, 26 base32 characters, so the code stays small
_CHECKSUM_BYTES = 16


class QrPayload(NamedTuple):
    az: str
    ags: str
    #: "" for a code printed before there were checksums
    checksum: str


def qr_payload(az: str, ags: str, key: bytes) -> str:
    """The QR code's text for one declaration, with its checksum under ``key``; raises
    ValueError for a malformed Az. or AGS."""
    payload = f"{PAYLOAD_PREFIX}|{az}|{ags}|{payload_checksum(az, ags, key)}"
    if parse_payload(payload) is None:
        raise ValueError(f"Kein gültiges Aktenzeichen/AGS-Paar: {az!r}, {ags!r}")
    return payload


def payload_checksum(az: str, ags: str, key: bytes) -> str:
    """The checksum of a declaration's Az. and AGS under ``key`` (base32, no padding)."""
    if not key:
        raise ValueError("Ohne Schlüssel gibt es keine Prüfsumme.")
    message = f"{PAYLOAD_PREFIX}|{az}|{ags}".encode()
    digest = hmac.new(key, message, hashlib.sha256).digest()[:_CHECKSUM_BYTES]
    return base64.b32encode(digest).decode("ascii").rstrip("=")


def checksum_matches(az: str, ags: str | None, checksum: str, key: bytes) -> bool:
    """Whether ``checksum`` is the one the office's ``key`` gives this Az. and AGS."""
    if not key or not ags or not checksum:
        return False
    return hmac.compare_digest(checksum, payload_checksum(az, ags, key))


def parse_payload(text: str) -> QrPayload | None:
    """Az., AGS and checksum of one of our QR payloads; None for any other code (URL, …)."""
    match = _PAYLOAD.fullmatch(text)
    return QrPayload(match["az"], match["ags"], match["checksum"] or "") if match else None
