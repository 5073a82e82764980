"""The Vorlagen page: a changed letter template replaces the old only when the template check
finds nothing; the old one is kept as a version; a reader may only download."""

from __future__ import annotations

import io
import shutil
import zipfile
from datetime import UTC, datetime
from pathlib import Path

from fastapi.testclient import TestClient

from ews.intake.passes import prepare
from ews.runtime.settings import Settings
from ews.web.accounts import create_user
from tests.conftest import REPO, make_settings
from tests.support.webround import PASSWORD, signed_in


def office(tmp_path: Path) -> Settings:
    shutil.copytree(REPO / "templates", tmp_path / "vorlagen")
    settings = make_settings(tmp_path, templates_dir=tmp_path / "vorlagen")
    prepare(settings)
    for name, role in (("leo", "leitung"), ("lena", "lesen")):
        create_user(settings, name, PASSWORD, role, actor="test", now=datetime.now(UTC))
    return settings


def with_unknown_placeholder(docx: bytes) -> bytes:
    source, target = zipfile.ZipFile(io.BytesIO(docx)), io.BytesIO()
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as changed:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "word/document.xml":
                data = data.replace(b"</w:t>", b" {{ unbekannter_platzhalter }}</w:t>", 1)
            changed.writestr(item, data)
    return target.getvalue()


def upload(client: TestClient, token: str, data: bytes) -> tuple[int, str]:
    answer = client.post("/vorlagen/hochladen", data={"csrf": token, "art": "zusage"},
                         files={"datei": ("zusage.docx", data)})
    return answer.status_code, answer.text


def test_only_a_clean_template_replaces_the_old_one(tmp_path: Path) -> None:
    settings = office(tmp_path)
    template = settings.templates_dir / "zusage.docx"
    original = template.read_bytes()
    client, token = signed_in(settings, "leo", "/vorlagen")
    assert client.get("/vorlagen/datei?art=zusage").content == original

    status, page = upload(client, token, with_unknown_placeholder(original))
    assert status == 422 and "unbekannter_platzhalter" in page and "nicht übernommen" in page
    status, page = upload(client, token, b"kein Word-Dokument")
    assert status == 422
    assert template.read_bytes() == original
    assert not (settings.templates_dir / "versionen").exists()

    clean = original + b""  # the same template, uploaded again, passes the check
    status, page = upload(client, token, clean)
    assert status == 200 and "geprüft und ersetzt" in page
    kept = list((settings.templates_dir / "versionen").glob("zusage_*.docx"))
    assert len(kept) == 1 and kept[0].read_bytes() == original


def test_a_reader_cannot_upload(tmp_path: Path) -> None:
    settings = office(tmp_path)
    client, token = signed_in(settings, "lena", "/vorlagen")
    status, page = upload(client, token, (settings.templates_dir / "zusage.docx").read_bytes())
    assert status == 403 and "darf das nicht" in page
    without_token = client.post("/vorlagen/hochladen", data={"art": "zusage"},
                                files={"datei": ("zusage.docx", b"x")})
    assert without_token.status_code == 403
