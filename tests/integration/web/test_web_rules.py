"""The web interface's rules over a demo round, through its HTTP interface (FastAPI's test
client, no browser): sign-in, the CSRF check, the roles, and the CLI's decision rules."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from markupsafe import escape
from sqlalchemy import select

from ews.intake.passes import prepare
from ews.outbox.office import office_mail
from ews.outbox.queue import enqueue, outgoing_records
from ews.register import outbox as outbox_register
from ews.register.database import transaction
from ews.register.reports import application_records
from ews.register.retention_tables import ExportRow
from ews.register.schema import EventRow
from ews.retention.deletion import run_deletion
from ews.runtime.settings import RoundSettings, Settings
from ews.web.accounts import change_password, create_user, set_locked
from ews.web.app import create_app
from tests.conftest import make_settings, open_deadline
from tests.support.webround import CSRF, PASSWORD, demo_round, signed_in


@pytest.fixture(scope="module")
def office(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Settings, list[str]]]:
    settings = make_settings(tmp_path_factory.mktemp("web"),
                             round=RoundSettings(name="EWS 6", deadline=open_deadline(),
                                                 seats=2))
    yield settings, demo_round(settings)


def test_every_page_needs_a_sign_in(office: tuple[Settings, list[str]]) -> None:
    client = TestClient(create_app(office[0]))
    for path in ("/", "/bewerbungen", "/auswahl", "/postausgang", "/netzwerk",
                 f"/akte?az={office[1][0]}", f"/akte/dokument?az={office[1][0]}&nr=0"):
        answer = client.get(path, follow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"] == "/anmelden"


def test_a_wrong_password_is_refused_and_logged(office: tuple[Settings, list[str]]) -> None:
    settings = office[0]
    client = TestClient(create_app(settings))
    token = CSRF.search(client.get("/anmelden").text)
    assert token is not None
    answer = client.post("/anmelden", data={"csrf": token[1], "name": "sabine",
                                            "passwort": "falsch-falsch"})
    assert answer.status_code == 401
    assert "Anmeldung fehlgeschlagen" in answer.text
    assert client.get("/", follow_redirects=False).status_code == 303
    with transaction(settings.db_url) as session:
        actions = session.scalars(select(EventRow.action).where(
            EventRow.actor == "sabine")).all()
    assert "web-anmeldung-fehlgeschlagen" in actions


def test_failed_sign_ins_are_throttled_per_name(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    prepare(settings)
    create_user(settings, "leo", PASSWORD, "leitung", actor="test", now=datetime.now(UTC))
    client = TestClient(create_app(settings))
    token = CSRF.search(client.get("/anmelden").text)
    assert token is not None
    for _ in range(settings.web.max_failures):
        client.post("/anmelden", data={"csrf": token[1], "name": "leo", "passwort": "x" * 12})
    answer = client.post("/anmelden", data={"csrf": token[1], "name": "leo",
                                            "passwort": PASSWORD})
    assert answer.status_code == 401 and "Zu viele fehlgeschlagene" in answer.text


def test_a_reader_can_change_nothing(office: tuple[Settings, list[str]]) -> None:
    settings, azs = office
    client, token = signed_in(settings, "lena")
    assert "kann die Akte lesen, aber nichts ändern" in client.get(f"/akte?az={azs[0]}").text
    for path, form in (("/akte/entscheidung", {"az": azs[0], "entscheidung": "angenommen"}),
                       ("/akte/stempel", {"az": azs[0], "zeitpunkt": "2027-02-01T10:00"}),
                       ("/auswahl/bescheide/vorschau", {}), ("/auswahl/bescheide",
                                                             {"bestaetigt": "ja"}),
                       ("/postausgang/1/erneut", {}),
                       ("/netzwerk/erklaerung", {"kommune": "05914000"}),
                       ("/netzwerk/setzen", {"kommune": "05914000", "beitritt": "2027-01-01"})):
        answer = client.post(path, data={"csrf": token, **form})
        assert answer.status_code == 403, path
        assert "darf das nicht" in answer.text
    assert "angenommen" not in client.get("/auswahl").text.split("Alle Bewerbungen")[1]


def test_a_post_without_the_csrf_token_is_refused(office: tuple[Settings, list[str]]) -> None:
    settings, azs = office
    client, token = signed_in(settings, "leo")
    for form in ({}, {"csrf": token[:-2] + "xx"}):
        answer = client.post("/akte/entscheidung",
                             data={"az": azs[0], "entscheidung": "angenommen", **form})
        assert answer.status_code == 403
        assert "Sicherheitsprüfung" in answer.text
    assert "Entscheidung gespeichert" not in client.get(f"/akte?az={azs[0]}").text


def test_staff_may_decide_but_not_send_notices(office: tuple[Settings, list[str]]) -> None:
    settings, azs = office
    client, token = signed_in(settings, "sabine")
    answer = client.post("/akte/entscheidung", data={"csrf": token, "az": azs[1],
                                                    "entscheidung": "warteliste", "rang": "1"})
    assert answer.status_code == 200, re.findall(r"Nicht möglich[^<]*", answer.text)
    assert "Entscheidung gespeichert" in answer.text
    assert client.post("/auswahl/bescheide/vorschau", data={"csrf": token}).status_code == 403
    with transaction(settings.db_url) as session:
        actors = session.scalars(select(EventRow.actor).where(
            EventRow.subject == azs[1])).all()
    assert "sabine" in actors


def test_a_signed_out_session_stays_out(office: tuple[Settings, list[str]]) -> None:
    client, token = signed_in(office[0], "leo")
    cookie = client.cookies.get("ews_sitzung")
    assert client.post("/abmelden", data={"csrf": token}, follow_redirects=False
                       ).status_code == 303
    client.cookies.set("ews_sitzung", str(cookie))
    assert client.get("/", follow_redirects=False).status_code == 303


def test_a_member_needs_a_joining_date_as_on_the_command_line(
        office: tuple[Settings, list[str]]) -> None:
    client, token = signed_in(office[0], "sabine")
    refused = client.post("/netzwerk/setzen", data={"csrf": token, "kommune": "05914000",
                                                    "ehrenamtskarte": "geplant"})
    assert refused.status_code == 409 and "Beitrittsdatum" in refused.text
    taken = client.post("/netzwerk/setzen", data={"csrf": token, "kommune": "Stadt Hagen",
                                                  "beitritt": "2027-01-15",
                                                  "ehrenamtskarte": "geplant"})
    assert taken.status_code == 200 and "gespeichert" in taken.text
    assert "Einführung geplant" in client.get("/netzwerk").text


def test_documents_are_served_by_number_only(office: tuple[Settings, list[str]]) -> None:
    client, _ = signed_in(office[0], "lena")
    az = office[1][0]
    assert client.get(f"/akte/dokument?az={az}&nr=0").content.startswith(b"%PDF-")
    assert client.get(f"/akte/dokument?az={az}&nr=999").status_code == 404
    assert client.get("/akte/dokument?az=../../etc/passwd&nr=0").status_code == 404
    assert client.get(f"/akte/dokument?az={az}&nr=/etc/passwd").status_code == 422


def test_a_huge_form_is_refused_before_it_is_read_whole(
        office: tuple[Settings, list[str]]) -> None:
    client, token = signed_in(office[0], "sabine")
    form = {"content-type": "application/x-www-form-urlencoded"}
    declared = client.post("/akte/entscheidung", headers=form,
                           content=f"csrf={token}&notiz=".encode() + b"x" * 1_000_001)
    assert declared.status_code == 413 and "zu groß" in declared.text

    def chunks() -> Iterator[bytes]:  # no Content-Length: the stream itself must be cut off
        yield f"csrf={token}&notiz=".encode()
        for _ in range(20):
            yield b"x" * 100_000

    streamed = client.post("/akte/entscheidung", headers=form, content=chunks())
    assert streamed.status_code == 413 and "zu groß" in streamed.text


def test_a_new_password_or_a_lock_ends_the_running_sessions(
        office: tuple[Settings, list[str]]) -> None:
    settings = office[0]
    for name in ("paula", "piet"):
        create_user(settings, name, PASSWORD, "sachbearbeitung", actor="test",
                    now=datetime.now(UTC))
    changed, _ = signed_in(settings, "paula")
    locked, _ = signed_in(settings, "piet")
    change_password(settings, "paula", PASSWORD + "-neu", actor="test", now=datetime.now(UTC))
    set_locked(settings, "piet", True, actor="test")
    for client in (changed, locked):
        answer = client.get("/", follow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"] == "/anmelden"


def test_the_akte_shows_the_form_fields_as_read(office: tuple[Settings, list[str]]) -> None:
    settings, azs = office
    client, _ = signed_in(settings, "lena")
    record = next(r for r in application_records(settings) if r["az"] == azs[0])
    page = client.get(f"/akte?az={azs[0]}").text
    assert "Keine gelesenen Felder" not in page
    shown = [str(value) for value in record["fields"].values()
             if isinstance(value, str) and value.strip()]
    assert shown and all(str(escape(value)) in page for value in shown)


def test_a_failed_mail_can_be_sent_again(office: tuple[Settings, list[str]]) -> None:
    settings = office[0]
    now = datetime.now(UTC)
    with transaction(settings.db_url) as session:
        message = office_mail(settings, "Ihre Bewerbung", ["team@kommune.test"], now, "Text",
                              [], auto_submitted="auto-generated")
        mail_id = enqueue(session, settings, "test:erneut", message, ["team@kommune.test"],
                          now)
        outbox_register.mark_failed(session, mail_id, "550 Postfach unbekannt")
    client, token = signed_in(settings, "sabine")
    answer = client.post(f"/postausgang/{mail_id}/erneut", data={"csrf": token})
    assert answer.status_code == 200 and "wartet wieder auf den Versand" in answer.text
    state = next(r["status"] for r in outgoing_records(settings) if r["id"] == mail_id)
    assert state == "queued"
    again = client.post(f"/postausgang/{mail_id}/erneut", data={"csrf": token})
    assert "ist nicht gescheitert" in again.text
    with transaction(settings.db_url) as session:
        actors = session.scalars(select(EventRow.actor).where(
            EventRow.action == "mail-erneut-senden")).all()
    assert actors == ["sabine"]


def test_an_unknown_name_gets_the_same_refusal(office: tuple[Settings, list[str]]) -> None:
    client = TestClient(create_app(office[0]))
    token = CSRF.search(client.get("/anmelden").text)
    assert token is not None
    answer = client.post("/anmelden", data={"csrf": token[1], "name": "niemand",
                                            "passwort": PASSWORD})
    assert answer.status_code == 401
    assert "Benutzername oder Passwort falsch" in answer.text


def test_the_server_ends_a_session_after_its_minutes(office: tuple[Settings, list[str]]) -> None:
    settings = office[0]
    clock = [datetime.now(UTC)]
    client = TestClient(create_app(settings, now=lambda: clock[0]))
    token = CSRF.search(client.get("/anmelden").text)
    assert token is not None
    client.post("/anmelden", data={"csrf": token[1], "name": "lena", "passwort": PASSWORD})
    assert client.get("/", follow_redirects=False).status_code == 200
    clock[0] += timedelta(minutes=settings.web.session_minutes, seconds=1)
    answer = client.get("/", follow_redirects=False)  # the cookie is still sent
    assert answer.status_code == 303 and answer.headers["location"] == "/anmelden"


def test_the_register_download_is_recorded_and_goes_with_the_deletion_run(tmp_path: Path
                                                                          ) -> None:
    settings = make_settings(tmp_path, retention_file=tmp_path / "aufbewahrung.toml")
    prepare(settings)
    create_user(settings, "lena", PASSWORD, "lesen", actor="test", now=datetime.now(UTC))
    client, _ = signed_in(settings, "lena")
    answer = client.get("/bewerbungen/register.xlsx")
    assert answer.status_code == 200 and answer.content.startswith(b"PK")
    with transaction(settings.db_url) as session:
        [row] = session.scalars(select(ExportRow)).all()
        kept, kind, actor = Path(row.location), row.kind, row.created_by
    assert (kind, actor) == ("register", "lena") and kept.read_bytes() == answer.content
    later = datetime.now(UTC) + timedelta(days=181)
    report = run_deletion(settings, now=later, actor="zeitplan")
    assert [e.rule for e in report.entries] == ["exporte"] and not kept.exists()
