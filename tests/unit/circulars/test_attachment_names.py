"""Names of uploaded attachments: a file name only, never a path or the draft's own file
(pure)."""

from __future__ import annotations

import pytest

from ews.circulars.drafts import attachment_name
from ews.core.errors import CircularError


@pytest.mark.parametrize(("given", "kept"), [
    ("Programm.pdf", "Programm.pdf"),
    ("Programm März 2027.pdf", "Programm März 2027.pdf"),
    ("Einladung (Entwurf) v2+final.docx", "Einladung (Entwurf) v2+final.docx"),
    ("a<b>c:d|e?.pdf", "a_b_c_d_e_.pdf"),
    ("x" * 200 + ".pdf", "x" * 116 + ".pdf"),
])
def test_a_file_name_is_kept_or_cleaned(given: str, kept: str) -> None:
    assert attachment_name(given) == kept


@pytest.mark.parametrize("given", [
    "../../boese.pdf", "..", "ordner/datei.pdf", "C:\\Users\\a\\datei.pdf", ".versteckt",
    "", "   ", "rundschreiben.md", "Rundschreiben.MD", "probelauf", "zeile\nzwei.pdf",
])
def test_a_path_or_the_drafts_own_name_is_refused(given: str) -> None:
    with pytest.raises(CircularError):
        attachment_name(given)
