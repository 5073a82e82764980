"""The QR code printed on the Gemeinsame Erklärung, made as a PNG with segno (in memory, no I/O).

The payload's format and checksum belong to the reader (``ews.documents.declaration_code``);
this module only draws a given payload at its printed size.
"""

from __future__ import annotations

import io
import math

import segno

#: printed size of the QR code (with its quiet zone) and the print resolution it is scaled for
QR_MM = 30.0
_PRINT_DPI = 300


def qr_png(payload: str) -> bytes:
    """The QR code as PNG: error correction Q, 4-module quiet zone, 30 mm at its stored dpi.

    Each module is a whole number of pixels at 300 dpi, so a printer needs no resampling.
    """
    code = segno.make_qr(payload, error="q", boost_error=False)
    modules = code.symbol_size(scale=1, border=4)[0]
    scale = math.ceil(QR_MM / 25.4 * _PRINT_DPI / modules)
    dpi = round(modules * scale / (QR_MM / 25.4))
    buffer = io.BytesIO()
    code.save(buffer, kind="png", scale=scale, border=4, dpi=dpi)
    return buffer.getvalue()
