"""The Rundschreiben page over HTTP (FastAPI's test client, no browser): a draft created,
edited and previewed for one recipient, attachments, a Probelauf that numbers nothing, the
roles, and the issue after a confirmation that names the number it takes."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from ews.circulars.drafts import DRAFT_FILE, read_draft
from ews.circulars.reports import circular_records
from ews.core.municipalities import all_municipalities
from ews.outbox.queue import outgoing_records
from ews.register.database import transaction
from ews.register.schema import EventRow
from ews.runtime.settings import (
    CircularSettings,
    LetterSettings,
    RoundSettings,
    Settings,
)
from tests.conftest import make_settings, open_deadline
from tests.integration.circulars.test_circulars import add_members
from tests.support import pdfgen
from tests.support.webround import demo_round, signed_in

TEST_ADDRESS = "buero@ews.test"
TEXT = "wir laden {{ kommune }} zum Netzwerktreffen im {{ monat }} ein.\n\n- Austausch\n"
MEMBERS = [m for m in all_municipalities() if len(m.ags) == 8][:3]


@pytest.fixture(scope="module")
def office(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    root = tmp_path_factory.mktemp("rundschreiben-web")
    settings = make_settings(root, round=RoundSettings(name="EWS 6", deadline=open_deadline()),
                             rundschreiben=CircularSettings(test_address=TEST_ADDRESS,
                                                            contacts_file=root / "k.csv"))
    demo_round(settings)
    add_members(settings, len(MEMBERS), without=(2,))
    yield settings


def new_draft(client: TestClient, token: str, title: str) -> str:
    """A draft made on the page, with ``TEXT`` saved as its text; returns its name."""
    answer = client.post("/rundschreiben/neu", follow_redirects=False, data={
        "csrf": token, "titel": title, "aktenzeichen": "13.0.70-001", "verteiler": "netzwerk"})
    assert answer.status_code == 303, answer.text
    name = answer.headers["location"].rsplit("/", 1)[1]
    page = client.get(f"/rundschreiben/entwurf/{name}").text
    content = re.search(r'<textarea id="entwurfstext"[^>]*>(.*?)</textarea>', page, re.DOTALL)
    assert content is not None
    header = content[1].replace("&#34;", '"').split("---\n")[1]
    saved = client.post(f"/rundschreiben/entwurf/{name}/speichern",
                        data={"csrf": token, "inhalt": f"---\n{header}---\n{TEXT}"})
    assert saved.status_code == 200 and "Der Entwurf ist gespeichert" in saved.text
    return name


def actions_of(settings: Settings, actor: str) -> list[str]:
    with transaction(settings.db_url) as session:
        return list(session.scalars(select(EventRow.action).where(EventRow.actor == actor)))


def test_a_draft_is_written_and_previewed_for_the_chosen_recipient(office: Settings) -> None:
    client, token = signed_in(office, "sabine", "/rundschreiben")
    name = new_draft(client, token, "Netzwerktreffen Januar")
    draft = read_draft(office.drafts_dir / name, office.round.name)
    assert draft.title == "Netzwerktreffen Januar" and draft.text == TEXT
    listing = client.get("/rundschreiben").text
    assert name in listing and "Netzwerktreffen Januar" in listing

    content = (office.drafts_dir / name / DRAFT_FILE).read_text(encoding="utf-8")
    for member in MEMBERS[:2]:
        preview = client.post(f"/rundschreiben/entwurf/{name}/vorschau", data={
            "csrf": token, "inhalt": content, "empfaenger": member.ags}).text
        assert f"wir laden {member.letter_name} zum Netzwerktreffen" in preview  # the mail
        assert "wir laden Ihre Kommune zum Netzwerktreffen" in preview  # the document
        other = MEMBERS[1] if member is MEMBERS[0] else MEMBERS[0]
        assert f"wir laden {other.letter_name}" not in preview
    broken = client.post(f"/rundschreiben/entwurf/{name}/vorschau", data={
        "csrf": token, "inhalt": content.replace("{{ monat }}", "{{ mnoat }}{% if %}")}).text
    assert "Platzhalter in Zeile" in broken and "Traceback" not in broken
    unknown = client.post(f"/rundschreiben/entwurf/{name}/vorschau", data={
        "csrf": token, "inhalt": content.replace("{{ monat }}", "{{ mnoat }}")}).text
    assert "unbekannter Platzhalter" in unknown and "mnoat" in unknown
    assert (office.drafts_dir / name / DRAFT_FILE).read_text(encoding="utf-8") == content
    assert {"rundschreiben-entwurf-angelegt", "rundschreiben-entwurf-geaendert"} <= set(
        actions_of(office, "sabine"))


def test_attachments_are_uploaded_into_the_draft_only(office: Settings, tmp_path: Path
                                                      ) -> None:
    client, token = signed_in(office, "sabine", "/rundschreiben")
    name = new_draft(client, token, "Mit Anlage")
    folder = office.drafts_dir / name
    pdf = pdfgen.filled_form()
    answer = client.post(f"/rundschreiben/entwurf/{name}/anlage", data={"csrf": token},
                         files={"datei": ("Programm März.pdf", pdf)})
    assert answer.status_code == 200 and "Programm März.pdf" in answer.text
    assert (folder / "Programm März.pdf").read_bytes() == pdf
    assert read_draft(folder, office.round.name).attachments == ("Programm März.pdf",)

    before = sorted(p.name for p in office.drafts_dir.parent.rglob("*"))
    for given in ("../../boese.pdf", "..\\boese.pdf", ".versteckt", DRAFT_FILE):
        refused = client.post(f"/rundschreiben/entwurf/{name}/anlage", data={"csrf": token},
                              files={"datei": (given, b"%PDF-1.4 boese")})
        assert refused.status_code == 422, given
        assert "nicht gespeichert" in refused.text
    assert sorted(p.name for p in office.drafts_dir.parent.rglob("*")) == before
    assert "boese" not in (folder / DRAFT_FILE).read_text(encoding="utf-8")

    huge = client.post(f"/rundschreiben/entwurf/{name}/anlage", data={"csrf": token},
                       files={"datei": ("gross.pdf", b"x" * 10_000_001)})
    assert huge.status_code == 413 and "zu groß" in huge.text
    assert not (folder / "gross.pdf").exists()
    assert "rundschreiben-anlage" in actions_of(office, "sabine")


def test_a_probelauf_numbers_nothing_and_shows_who_would_get_what(office: Settings) -> None:
    client, token = signed_in(office, "sabine", "/rundschreiben")
    name = new_draft(client, token, "Probe")
    answer = client.post(f"/rundschreiben/entwurf/{name}/probelauf", data={"csrf": token})
    assert answer.status_code == 200, answer.text
    assert f"2 E-Mails gingen als „[Probelauf]“ an {TEST_ADDRESS}" in answer.text
    for index, member in enumerate(MEMBERS):
        assert member.letter_name in answer.text
        if index != 2:  # the third has no address
            assert f"engagement{index}@kommune{index}.example" in answer.text
    assert circular_records(office) == []
    trial = [r for r in outgoing_records(office) if r["zweck"] == "probelauf"]
    assert trial and all(r["empfaenger"] == [TEST_ADDRESS] for r in trial), trial
    assert "rundschreiben-probelauf" in actions_of(office, "sabine")


def test_a_reader_is_refused_every_change(office: Settings) -> None:
    writer, writer_token = signed_in(office, "sabine", "/rundschreiben")
    name = new_draft(writer, writer_token, "Nur lesen")
    content = (office.drafts_dir / name / DRAFT_FILE).read_text(encoding="utf-8")
    client, token = signed_in(office, "lena", "/rundschreiben")
    page = client.get(f"/rundschreiben/entwurf/{name}").text
    assert "wir laden" in page and "<textarea" not in page
    base = f"/rundschreiben/entwurf/{name}"
    for path, form in (("/rundschreiben/neu", {"titel": "X", "verteiler": "netzwerk"}),
                       (f"{base}/vorschau", {"inhalt": content}),
                       (f"{base}/speichern", {"inhalt": "---\ntitel: weg\n---\n"}),
                       (f"{base}/probelauf", {}), (f"{base}/ausgeben/bestaetigen", {}),
                       (f"{base}/ausgeben", {"bestaetigt": "ja", "nummer": "1/2026"})):
        answer = client.post(path, data={"csrf": token, **form})
        assert answer.status_code == 403 and "darf das nicht" in answer.text, path
    upload = client.post(f"{base}/anlage", data={"csrf": token},
                         files={"datei": ("a.pdf", b"%PDF-")})
    assert upload.status_code == 403
    assert (office.drafts_dir / name / DRAFT_FILE).read_text(encoding="utf-8") == content
    assert not (office.drafts_dir / name / "a.pdf").exists()
    without_token = writer.post(f"{base}/speichern", data={"inhalt": "weg"})
    assert without_token.status_code == 403 and "Sicherheitsprüfung" in without_token.text
    assert actions_of(office, "lena") == [
        a for a in actions_of(office, "lena") if a.startswith("web-")]


def test_only_leitung_issues_and_under_the_number_it_confirmed(office: Settings) -> None:
    staff, staff_token = signed_in(office, "sabine", "/rundschreiben")
    name = new_draft(staff, staff_token, "Ausgabe")
    base = f"/rundschreiben/entwurf/{name}"
    for path in (f"{base}/ausgeben/bestaetigen", f"{base}/ausgeben"):
        answer = staff.post(path, data={"csrf": staff_token, "bestaetigt": "ja",
                                        "nummer": "1/2026"})
        assert answer.status_code == 403 and "Leitung" in answer.text, path
    assert circular_records(office) == []

    client, token = signed_in(office, "leo", "/rundschreiben")
    confirm = client.post(f"{base}/ausgeben/bestaetigen", data={"csrf": token})
    assert confirm.status_code == 200
    shown = re.search(r"Mitteilung (\d+/\d{4}) vom", confirm.text)
    assert shown is not None and shown[1].startswith("1/")
    year = shown[1].split("/")[1]
    assert circular_records(office) == []  # the confirmation takes nothing
    unconfirmed = client.post(f"{base}/ausgeben", data={"csrf": token, "nummer": shown[1]})
    assert unconfirmed.status_code == 400 and circular_records(office) == []

    issued = client.post(f"{base}/ausgeben", data={"csrf": token, "bestaetigt": "ja",
                                                   "nummer": shown[1]})
    assert issued.status_code == 200, issued.text
    assert f"Mitteilung {shown[1]} ist ausgegeben" in issued.text
    [record] = circular_records(office)
    assert record["nummer"] == shown[1]
    assert "ohne Adresse" in issued.text and MEMBERS[2].letter_name in issued.text
    details = client.get(f"/rundschreiben/mitteilung/{year}/1").text
    assert all(m.letter_name in details for m in MEMBERS) and "wartet auf Versand" in details
    assert f"Mitteilung 1/{year} vom" in client.get("/rundschreiben").text

    # confirmed again: the draft was issued before, and the next number is the next one
    reconfirm = client.post(f"{base}/ausgeben/bestaetigen", data={"csrf": token}).text
    assert f"schon als Mitteilung {shown[1]} ausgegeben" in reconfirm
    assert f"Mitteilung 2/{year} vom" in reconfirm
    assert f"schon ausgegeben als Mitteilung {shown[1]}" in client.get("/rundschreiben").text
    # a number confirmed before another circular took it is refused, nothing is issued
    again = client.post(f"{base}/ausgeben", data={"csrf": token, "bestaetigt": "ja",
                                                  "nummer": shown[1]})
    assert again.status_code == 409 and "Bestätigt war Mitteilung" in again.text
    assert len(circular_records(office)) == 1
    assert "rundschreiben-ausgegeben" in actions_of(office, "leo")


def test_an_issued_circular_whose_document_failed_says_so(office: Settings) -> None:
    broken = office.model_copy(update={"letters": LetterSettings(
        pdf=True, warm=False, soffice="/nicht/vorhanden/soffice", timeout_seconds=20)})
    writer, writer_token = signed_in(office, "sabine", "/rundschreiben")
    name = new_draft(writer, writer_token, "Ohne PDF")
    client, token = signed_in(broken, "leo", "/rundschreiben")
    base = f"/rundschreiben/entwurf/{name}"
    confirm = client.post(f"{base}/ausgeben/bestaetigen", data={"csrf": token}).text
    shown = re.search(r"Mitteilung (\d+/\d{4}) vom", confirm)
    assert shown is not None
    answer = client.post(f"{base}/ausgeben", data={"csrf": token, "bestaetigt": "ja",
                                                   "nummer": shown[1]})
    assert answer.status_code == 500, answer.text
    assert f"Mitteilung {shown[1]} ist ausgegeben, ihr Dokument aber noch nicht" in answer.text
    assert "Nicht ausgegeben" not in answer.text
    assert shown[1] in [r["nummer"] for r in circular_records(office)]
