"""The mail templates staff edit (``vorlagen/mail``): rendering and checking (I/O: files).

Sandboxed Jinja; a template is compiled once per folder and recompiled only when its file's
content changed (its SHA-256, not its modification time: a file replaced within one tick of
the file system's clock is picked up too). ``check_mail_templates`` fills each template with
sample contexts that take each of its branches.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from ews.core.models import Outcome
from ews.core.templating import DigestLoader, sandboxed_environment
from ews.runtime.settings import OfficeSettings, Settings

#: an input's outcome as the answer templates name it (``ergebnis``)
RESULT_WORDS = {Outcome.REGISTERED.value: "registriert", Outcome.LATE.value: "verspaetet",
                Outcome.INVALID.value: "ungueltig", Outcome.DECLARATION.value: "erklaerung"}


def render_body(settings: Settings, context: dict[str, Any],
                template: str = "antwort.txt.j2") -> str:
    return _mail_templates(settings.templates_dir / "mail").get_template(template).render(
        context)


@cache
def _mail_templates(folder: Path) -> SandboxedEnvironment:
    """One environment per folder: a template is compiled once and recompiled only when staff
    changed its file."""
    return sandboxed_environment(loader=DigestLoader(folder), autoescape=False,
                                 keep_trailing_newline=True)


#: every mail template with sample contexts that take each of its branches
_OFFICE_SAMPLE = OfficeSettings().model_dump()
_MAIL_SAMPLES: dict[str, list[dict[str, Any]]] = {
    "antwort.txt.j2": [
        {"anrede": "Sehr geehrte Damen und Herren", "ergebnis": result,
         "aktenzeichen": "13.0.70-001/2027", "eingangsnummer": "000001",
         "kommune": "Stadt Musterstadt", "eingang": "01.03.2027, 14:03 Uhr", "runde": "EWS 6",
         "datei": "bewerbung.pdf", "gruende": ["Ein Grund."], "anhaenge": ["brief.pdf"],
         "nicht_angenommen": ["bild.jpg: keine PDF-Datei"], "zur_pruefung": staff,
         "buero": _OFFICE_SAMPLE}
        for result in RESULT_WORDS.values() for staff in (False, True)],
    "antwort_sammel.txt.j2": [
        {"anrede": "Sehr geehrte Damen und Herren", "eingang": "01.03.2027, 14:03 Uhr",
         "runde": "EWS 6", "eingaenge": [
             {"datei": f"bewerbung-{number}.pdf", "ergebnis": result,
              "aktenzeichen": "13.0.70-001/2027", "kommune": "Stadt Musterstadt",
              "eingangsnummer": f"00000{number}", "gruende": ["Ein Grund."]}
             for number, result in enumerate([*RESULT_WORDS.values(), "doppelt"], start=1)],
         "anhaenge": ["brief.pdf"], "nicht_angehaengt": more,
         "nicht_angenommen": ["bild.jpg: keine PDF-Datei"], "buero": _OFFICE_SAMPLE}
        for more in ([], ["brief-26.pdf"])],
    "bescheid.txt.j2": [
        {"art": art, "anrede": "Sehr geehrte Frau Bürgermeisterin Muster",
         "aktenzeichen": "13.0.70-001/2027", "kommune": "Stadt Musterstadt", "runde": "EWS 6",
         "rueckmeldung_bis": "30.04.2027", "rang": 3, "anhaenge": ["zusage.pdf"],
         "buero": _OFFICE_SAMPLE}
        for art in ("zusage", "nachrueckerzusage", "absage", "wartelistenbescheid")],
    "erinnerung.txt.j2": [
        {"art": art, "anrede": "Sehr geehrte Damen und Herren",
         "aktenzeichen": "13.0.70-001/2027", "kommune": kommune, "runde": "EWS 6",
         "schreiben_vom": "01.04.2027", "faellig_am": "15.04.2027", "notiz": notiz,
         "buero": _OFFICE_SAMPLE}
        for art in ("korrektur", "freistellung", "erklaerung", "manuell")
        for kommune, notiz in (("Stadt Musterstadt", "Unterlagen zur Freistellung"), ("", ""))],
    "eingang_nachricht.txt.j2": [
        {"anrede": "Sehr geehrte Damen und Herren", "betreff": subject,
         "eingang": "01.03.2027, 14:03 Uhr", "aktenzeichen": az, "buero": _OFFICE_SAMPLE}
        for subject, az in (("Frage zur Bewerbung", ""), ("", "13.0.70-001/2027"))],
}


def check_mail_templates(settings: Settings) -> list[str]:
    """German descriptions of every problem in the mail templates; ``[]`` when fine."""
    folder = settings.templates_dir / "mail"
    problems: list[str] = []
    for name, contexts in _MAIL_SAMPLES.items():
        if not (folder / name).is_file():
            problems.append(f"E-Mail-Vorlage „{name}“ fehlt im Ordner {folder}.")
            continue
        try:
            for context in contexts:
                render_body(settings, context, template=name)
        except jinja2.TemplateSyntaxError as exc:
            problems.append(f"E-Mail-Vorlage „{name}“, Zeile {exc.lineno}: der Platzhalter "
                            f"oder die Anweisung ist fehlerhaft ({exc.message}).")
        except jinja2.UndefinedError as exc:
            problems.append(f"E-Mail-Vorlage „{name}“: unbekannter Platzhalter ({exc.message});"
                            f" verfügbar sind: {', '.join(sorted(contexts[0]))}.")
        except jinja2.TemplateError as exc:
            problems.append(f"E-Mail-Vorlage „{name}“ kann nicht ausgefüllt werden: {exc}.")
    return problems
