"""The Gemeinsame Erklärung's QR code as PNG: printed size, resolution, error correction."""

from __future__ import annotations

import io

import pytest
import zxingcpp
from PIL import Image

from ews.letters.qr import qr_png

PAYLOAD = "EWS-GE|13.0.70-007/2027|05914000|XPVVNAQEYJ34C6JXXFBLAL5OFE"


@pytest.mark.parametrize("payload", [PAYLOAD, "EWS-GE|1-1/2027|05966", "x" * 120])
def test_qr_png_is_30_mm_at_its_resolution_and_decodes_to_the_payload(payload: str) -> None:
    with Image.open(io.BytesIO(qr_png(payload))) as image:
        width_mm = image.width / image.info["dpi"][0] * 25.4
        codes = zxingcpp.read_barcodes(image)
        assert image.width == image.height
    assert width_mm == pytest.approx(30, abs=0.1)  # the size printed on the declaration
    assert [code.text for code in codes] == [payload]
    assert codes[0].ec_level == "Q"


def test_qr_png_is_at_least_300_dpi_so_no_module_is_resampled() -> None:
    with Image.open(io.BytesIO(qr_png(PAYLOAD))) as image:
        dpi = image.info["dpi"][0]
    assert dpi >= 299.5


def test_qr_png_is_the_same_for_the_same_payload() -> None:
    assert qr_png(PAYLOAD) == qr_png(PAYLOAD)
    assert qr_png(PAYLOAD) != qr_png(PAYLOAD.replace("007", "008"))
