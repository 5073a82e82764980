"""The web interface in Debian's Chromium (Selenium): a staff journey over a demo round, from
sign-in to the notices sent over the session's SMTP server and a circular's Probelauf, with
axe-core on every page and a screenshot of every page (into EWS_BILDER, e.g. docs/bilder, when
set; else a temporary folder)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as ready
from selenium.webdriver.support.ui import Select, WebDriverWait

from ews.circulars.reports import circular_records
from ews.outbox.conversion import convert_pending_letters
from ews.outbox.queue import outgoing_records
from ews.register.reports import application_records
from ews.runtime.settings import LetterSettings, RoundSettings, Settings, SmtpSettings
from tests.conftest import make_settings, open_deadline
from tests.support.browser import WebServer, axe_violations, chromium
from tests.support.mailserver import SmtpServer
from tests.support.webround import PASSWORD, demo_round

pytestmark = [pytest.mark.browser, pytest.mark.libreoffice]
SEATS = 2


@pytest.fixture(scope="module")
def office(tmp_path_factory: pytest.TempPathFactory, smtp_server: SmtpServer
           ) -> Iterator[tuple[Settings, list[str], WebServer]]:
    smtp_server.reset()
    smtp = SmtpSettings(host="127.0.0.1", port=smtp_server.port, security="none",
                        user="ews@ews.test", password="geheim", retry_seconds=0,
                        timeout_seconds=15)
    settings = make_settings(tmp_path_factory.mktemp("browser"), smtp=smtp,
                             mail_from="ews@ews.test",
                             round=RoundSettings(name="EWS 6", deadline=open_deadline(),
                                                 seats=SEATS))
    azs = demo_round(settings)
    # the demo round's letters as PDF/A, once, so that the journey can open a letter's PDF
    convert_pending_letters(settings.model_copy(update={"letters": LetterSettings(
        pdf=True, warm=False, timeout_seconds=240)}))
    server = WebServer(settings).start()
    yield settings, azs, server
    server.stop()


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[webdriver.Chrome]:
    driver = chromium(tmp_path_factory.mktemp("chromium-profil"))
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def pictures(tmp_path_factory: pytest.TempPathFactory) -> Path:
    wanted = os.environ.get("EWS_BILDER")
    folder = Path(wanted) if wanted else tmp_path_factory.mktemp("bilder")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def check_page(driver: webdriver.Chrome, pictures: Path, name: str) -> None:
    """No serious or critical axe-core violation; a screenshot of the page."""
    assert driver.find_element(By.TAG_NAME, "html").get_attribute("lang") == "de"
    violations = axe_violations(driver)
    assert not violations, (name, violations)
    for width in (1280, 1920):  # no sideways scrolling on the office's screens
        driver.set_window_size(width, 800)
        assert driver.execute_script(
            "return document.documentElement.scrollWidth <= window.innerWidth"), (name, width)
    height = int(driver.execute_script("return document.body.scrollHeight"))
    driver.set_window_size(1280, min(max(height, 800), 2400))
    driver.save_screenshot(str(pictures / f"{name}.png"))
    driver.set_window_size(1280, 800)


def text(driver: webdriver.Chrome) -> str:
    return str(driver.find_element(By.TAG_NAME, "main").text)


def submit(driver: webdriver.Chrome, form_action: str) -> None:
    """Send a form and wait until the next page replaced this one: the old page carries a
    mark the new one has not. (Asking the old page's element whether it is stale can fail
    with an inspector error in Chromium while the page is replaced; that is ignored here,
    within the bound.)"""
    driver.execute_script("window.ewsOldPage = true")
    driver.find_element(By.CSS_SELECTOR, f"form[action='{form_action}'] button").click()
    WebDriverWait(driver, 60, ignored_exceptions=(WebDriverException,)).until(
        lambda d: d.execute_script(
            "return window.ewsOldPage === undefined && document.readyState === 'complete'"))


def sign_in(driver: webdriver.Chrome, url: str, name: str, password: str) -> None:
    driver.get(f"{url}/anmelden")
    driver.find_element(By.ID, "name").send_keys(name)
    driver.find_element(By.ID, "passwort").send_keys(password)
    submit(driver, "/anmelden")


def decide(driver: webdriver.Chrome, url: str, az: str, decision: str, **fields: str) -> None:
    driver.get(f"{url}/akte?az={az}")
    Select(driver.find_element(By.ID, "entscheidung")).select_by_value(decision)
    for name, value in fields.items():
        driver.find_element(By.ID, name).send_keys(value)
    submit(driver, "/akte/entscheidung")


def test_a_staff_journey_through_the_round(office: tuple[Settings, list[str], WebServer],
                                           browser: webdriver.Chrome, pictures: Path) -> None:
    settings, azs, server = office
    url = server.url
    browser.get(f"{url}/")
    assert browser.current_url.endswith("/anmelden")
    check_page(browser, pictures, "anmelden")
    sign_in(browser, url, "leo", "falsches-passwort")
    assert "Anmeldung fehlgeschlagen" in text(browser)
    sign_in(browser, url, "leo", PASSWORD)

    # Übersicht: the round at a glance
    assert "Übersicht EWS 6" in text(browser)
    assert f"0 von {SEATS}" in text(browser)
    check_page(browser, pictures, "uebersicht")

    # Bewerbungen: filter by search (htmx swaps the table), then the whole list
    browser.get(f"{url}/bewerbungen")
    rows = len(browser.find_elements(By.CSS_SELECTOR, "#tabelle tbody tr"))
    assert rows == len(application_records(settings))  # with the replaced one
    browser.find_element(By.ID, "suche").send_keys(azs[0])
    WebDriverWait(browser, 10).until(lambda d: len(d.find_elements(
        By.CSS_SELECTOR, "#tabelle tbody tr")) == 1)
    browser.get(f"{url}/bewerbungen")
    check_page(browser, pictures, "bewerbungen")

    # Akte: the original PDF in the preview, then the letter's; a stamp, a decision
    browser.get(f"{url}/akte?az={azs[0]}")
    assert f"Akte {azs[0]}" in text(browser)
    frame = browser.find_element(By.ID, "vorschau")
    assert pdf_at(browser, str(frame.get_attribute("src"))) == ["application/pdf", "%PDF-"]
    open_letter_pdf(browser)
    check_page(browser, pictures, "akte")
    stamp = browser.find_element(By.ID, "zeitpunkt")
    browser.execute_script("arguments[0].value = arguments[1]", stamp,
                           f"{open_deadline().isoformat()}T09:30")
    submit(browser, "/akte/stempel")
    assert "Eingangsstempel" in text(browser) and "erfasst" in text(browser)
    for az in azs[:SEATS]:
        decide(browser, url, az, "angenommen")
        assert "Entscheidung gespeichert" in text(browser), text(browser)
    decide(browser, url, azs[SEATS], "angenommen")
    refusal = browser.find_element(By.CSS_SELECTOR, ".fehler").text
    assert refusal.startswith("Nicht möglich") and "Plätze" in refusal, refusal
    decide(browser, url, azs[SEATS], "warteliste", rang="1")
    assert "Entscheidung gespeichert" in text(browser)

    # Auswahl: the notices after the preview and the confirmation
    browser.get(f"{url}/auswahl")
    assert f"{SEATS} von {SEATS} Plätzen vergeben" in text(browser)
    check_page(browser, pictures, "auswahl")
    submit(browser, "/auswahl/bescheide/vorschau")
    preview = text(browser)
    assert "3 Bewerbungen erhalten neue Schreiben" in preview and "Zusage" in preview
    check_page(browser, pictures, "bescheide-vorschau")
    assert not smtp_messages_after(settings)
    browser.find_element(By.NAME, "bestaetigt").click()
    submit(browser, "/auswahl/bescheide")
    WebDriverWait(browser, 60).until(ready.title_contains("Bescheide versendet"))
    assert "E-Mails: 3 vorbereitet, 3 gesendet" in text(browser), text(browser)

    # Rundschreiben: a draft to the participants, its live preview, a Probelauf
    run_a_circular_probelauf(browser, url, pictures, lambda: circular_records(settings))

    # Netzwerk: the Gemeinsame Erklärung for a municipality that never applied
    browser.get(f"{url}/netzwerk")
    check_page(browser, pictures, "netzwerk")
    browser.find_element(By.ID, "e-kommune").send_keys("05914000")
    browser.find_element(By.ID, "e-name").send_keys("Erik O. Schulz")
    submit(browser, "/netzwerk/erklaerung")
    assert "Gemeinsame Erklärung für Stadt Hagen erstellt" in text(browser), text(browser)

    browser.get(f"{url}/vorlagen")
    assert "zusage.docx herunterladen" in text(browser)
    check_page(browser, pictures, "vorlagen")

    browser.get(f"{url}/postausgang")
    assert text(browser).count("gesendet") >= 3
    check_page(browser, pictures, "postausgang")
    # printed: the content without navigation and forms
    browser.get(f"{url}/auswahl")
    browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    assert not browser.find_element(By.CSS_SELECTOR, ".kopf nav").is_displayed()
    assert browser.find_element(By.CSS_SELECTOR, "main table").is_displayed()
    browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})

    submit(browser, "/abmelden")
    assert browser.current_url.endswith("/anmelden")
    browser.get(f"{url}/auswahl")
    assert browser.current_url.endswith("/anmelden")


def run_a_circular_probelauf(driver: webdriver.Chrome, url: str, pictures: Path,
                             issued: Callable[[], list[dict[str, Any]]]) -> None:
    """A new draft, a line typed into its text (the preview follows, filled for the chosen
    recipient), saved, its Probelauf (no number taken), and its issue after the
    confirmation."""
    driver.get(f"{url}/rundschreiben")
    driver.find_element(By.ID, "n-titel").send_keys("Netzwerktreffen im Januar")
    Select(driver.find_element(By.ID, "n-verteiler")).select_by_value("teilnehmende")
    submit(driver, "/rundschreiben/neu")
    assert "Rundschreiben-Entwurf" in text(driver)
    action = "/rundschreiben/entwurf/" + driver.current_url.rsplit("/", 1)[1]
    chosen = Select(driver.find_element(By.ID, "empfaenger")).first_selected_option.text
    editor = driver.find_element(By.ID, "entwurfstext")
    editor.send_keys(Keys.CONTROL, Keys.END)
    editor.send_keys("\nWir grüßen {{ kommune }} herzlich.")
    WebDriverWait(driver, 30).until(lambda d: f"Wir grüßen {chosen} herzlich" in d.find_element(
        By.ID, "vorschau").text)
    assert "Wir grüßen Ihre Kommune herzlich" in driver.find_element(By.ID, "vorschau").text
    driver.execute_script("window.scrollTo(0, 0)")
    check_page(driver, pictures, "rundschreiben")
    submit(driver, f"{action}/speichern")
    assert "Der Entwurf ist gespeichert" in text(driver)
    submit(driver, f"{action}/probelauf")
    assert "E-Mails gingen als „[Probelauf]“" in text(driver), text(driver)
    assert chosen in text(driver)
    assert not axe_violations(driver)
    assert issued() == []
    driver.get(f"{url}{action}")  # the confirmation names the number, then it is issued
    submit(driver, f"{action}/ausgeben/bestaetigen")
    assert "Rundschreiben ausgeben: Mitteilung 1/" in text(driver), text(driver)
    assert not axe_violations(driver)
    driver.find_element(By.NAME, "bestaetigt").click()
    submit(driver, f"{action}/ausgeben")
    assert "Mitteilung 1/" in text(driver) and "ist ausgegeben" in text(driver), text(driver)
    assert "2 gesendet" in text(driver) and chosen in text(driver), text(driver)
    assert not axe_violations(driver)
    driver.get(f"{url}/rundschreiben")
    assert "schon ausgegeben als Mitteilung 1/" in text(driver)
    assert not axe_violations(driver)


def pdf_at(driver: webdriver.Chrome, address: str) -> Any:
    """The content type and the first five bytes the page's origin serves at ``address``."""
    return driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "fetch(arguments[0]).then(r => r.arrayBuffer().then(b => done([r.headers.get("
        "'content-type'), new TextDecoder().decode(b.slice(0, 5))])));", address)


def open_letter_pdf(driver: webdriver.Chrome) -> None:
    """Click the Eingangsbestätigung's PDF in the document list: the preview shows it."""
    [letter] = [link for link in driver.find_elements(By.CSS_SELECTOR, "ul.dokumente a")
                if "Eingangsbestätigung" in link.text and link.text.endswith(".pdf")]
    address = str(letter.get_attribute("href"))
    letter.click()
    WebDriverWait(driver, 30).until(lambda d: d.execute_script(
        "const w = document.getElementById('vorschau').contentWindow;"
        "return w.location.href === arguments[0] && w.document.readyState === 'complete'",
        address))
    assert pdf_at(driver, address) == ["application/pdf", "%PDF-"]


def smtp_messages_after(settings: Settings) -> list[str]:
    """The outbox's mails so far (nothing goes out before the confirmation)."""
    return [str(r["bezug"]) for r in outgoing_records(settings) if r["zweck"] == "bescheid"]
