"""Drafts of circulars as staff write them (I/O: files; parsing is pure).

A draft is a folder under the drafts folder with ``rundschreiben.md``: a YAML header between
``---`` lines (titel, aktenzeichen, verteiler, anrede_an, anlagen) and the text in Markdown,
in which Jinja placeholders (``{{ kommune }}``, ``{{ anrede }}``, ``{{ frist }}`` …) are filled
in per recipient. Attachments lie beside it in the folder. ``ews rundschreiben neu`` makes one
from ``templates/rundschreiben.md``.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import yaml
from jinja2.sandbox import SandboxedEnvironment

from ews.circulars.distribution import ListSpec
from ews.circulars.text import markdown_literal
from ews.core.errors import CircularError, DistributionError
from ews.core.templating import sandboxed_environment

DRAFT_FILE = "rundschreiben.md"
SKELETON = "rundschreiben.md"  # in the templates folder
PROBE_FOLDER = "probelauf"  # in a draft's folder: the Probelauf's document
KEYS = {"titel", "aktenzeichen", "verteiler", "anrede_an", "anlagen"}
ADDRESS_TO = ("ansprechperson", "hvb")
_AZ = re.compile(r"^\d+(\.\d+)*-\d{1,6}(/\d{4})?$")
_FRONT = re.compile(r"\A\ufeff?---[ \t]*\r?\n(.*?)^---[ \t]*\r?\n?", re.DOTALL | re.MULTILINE)
#: the recipient's values (the document gets general ones) and the circular's
PLACEHOLDERS = ("anrede", "kommune", "nummer", "mitteilung", "datum", "aktenzeichen", "titel",
                "runde", "frist", "tage_bis_frist", "monat", "buero")


@dataclass(frozen=True)
class Draft:
    name: str
    folder: Path
    title: str
    az: str
    list_spec: ListSpec
    address_to: str
    attachments: tuple[str, ...]
    text: str


def draft_folder(drafts_dir: Path, name: str) -> Path:
    """The folder of a draft given by name or path."""
    given = Path(name)
    if given.is_dir():
        return given
    if given.name == DRAFT_FILE and given.is_file():
        return given.parent
    return drafts_dir / name


def read_draft(folder: Path, default_round: str) -> Draft:
    """The draft in ``folder``; CircularError with every problem found."""
    path = folder / DRAFT_FILE
    if not path.is_file():
        raise CircularError([f"Entwurf „{folder.name}“ nicht gefunden: {path} fehlt."])
    return parse_draft(folder, path.read_text(encoding="utf-8-sig"), default_round)


def parse_draft(folder: Path, content: str, default_round: str) -> Draft:
    """The draft ``content`` (header and text) as if it lay in ``folder`` (its attachments
    are looked up there); CircularError with every problem found."""
    header, text = split_front_matter(content.removeprefix("\ufeff"))
    problems = _header_problems(header, folder)
    problems += template_problems(text)
    problems += [f"titel: {p}" for p in template_problems(str(header.get("titel") or ""))]
    spec = None
    try:
        spec = ListSpec.parse(str(header.get("verteiler") or ""), default_round)
    except DistributionError as exc:
        problems.append(f"verteiler: {exc}")
    if problems:
        raise CircularError([f"Entwurf „{folder.name}“: {p}" for p in problems])
    assert spec is not None
    return Draft(name=folder.name, folder=folder, title=str(header["titel"]).strip(),
                 az=str(header["aktenzeichen"]).strip(), list_spec=spec,
                 address_to=str(header.get("anrede_an") or ADDRESS_TO[0]),
                 attachments=tuple(str(a) for a in header.get("anlagen") or ()), text=text)


def split_front_matter(content: str) -> tuple[dict[str, Any], str]:
    """The YAML header and the text; CircularError when the header is missing or broken."""
    match = _FRONT.match(content)
    if match is None:
        raise CircularError(["Der Entwurf beginnt nicht mit dem Kopf zwischen zwei Zeilen "
                             "„---“ (titel, aktenzeichen, verteiler …)."])
    try:
        header = yaml.safe_load(match.group(1)) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" in Zeile {mark.line + 2}" if mark is not None else ""
        raise CircularError([f"Der Kopf des Entwurfs ist fehlerhaft{where}: "
                             f"{getattr(exc, 'problem', exc)}."]) from exc
    if not isinstance(header, dict):
        raise CircularError(["Der Kopf des Entwurfs muss aus Zeilen „Name: Wert“ bestehen."])
    return header, content[match.end():]


def _header_problems(header: dict[str, Any], folder: Path) -> list[str]:
    problems = [f"unbekannte Angabe „{key}“ im Kopf (bekannt: {', '.join(sorted(KEYS))})."
                for key in header if key not in KEYS]
    if not str(header.get("titel") or "").strip():
        problems.append("titel fehlt.")
    az = str(header.get("aktenzeichen") or "").strip()
    if not _AZ.match(az):
        problems.append(f"aktenzeichen „{az}“ hat nicht die Form 13.0.70-001.")
    if str(header.get("anrede_an") or ADDRESS_TO[0]) not in ADDRESS_TO:
        problems.append("anrede_an muss „ansprechperson“ oder „hvb“ sein.")
    attachments = header.get("anlagen") or []
    if not isinstance(attachments, list):
        return [*problems, "anlagen muss eine Liste sein (je Zeile „- Dateiname.pdf“)."]
    for name in attachments:
        if not (folder / str(name)).is_file() or Path(str(name)).name != str(name):
            problems.append(f"Anlage „{name}“ liegt nicht im Ordner {folder}.")
    return problems


def template_problems(text: str) -> list[str]:
    """German problems of the text's Jinja placeholders (syntax, unknown names)."""
    environment = jinja_environment()
    try:
        parsed = environment.parse(text)
    except jinja2.TemplateSyntaxError as exc:
        return [f"Platzhalter in Zeile {exc.lineno} fehlerhaft: {exc.message}."]
    from jinja2 import meta

    unknown = sorted(meta.find_undeclared_variables(parsed) - set(PLACEHOLDERS))
    return [f"unbekannter Platzhalter „{{{{ {name} }}}}“ (verfügbar: "
            f"{', '.join(PLACEHOLDERS)})." for name in unknown]


@functools.cache
def jinja_environment(*, markdown: bool = True) -> SandboxedEnvironment:
    """The environment of a circular's Markdown text (every ``{{ … }}`` output escaped as
    literal Markdown) or, with ``markdown=False``, of plain text such as the title."""
    return sandboxed_environment(autoescape=False, keep_trailing_newline=True,
                                 finalize=markdown_literal if markdown else None)


def compiled_text(text: str) -> jinja2.Template:
    """The Markdown text as a template, compiled once to be filled for many recipients."""
    return jinja_environment().from_string(text)


def fill_text(text: str, values: dict[str, Any]) -> str:
    """The Markdown text with its placeholders filled; each value shows literally."""
    return compiled_text(text).render(values)


def fill_plain(text: str, values: dict[str, Any]) -> str:
    """Plain text (a title: the subject of the mails) with its placeholders filled as they
    are; escaped as Markdown only where the title is placed into the text."""
    return jinja_environment(markdown=False).from_string(text).render(values)


def create_draft(drafts_dir: Path, templates_dir: Path, *, title: str, az: str,
                 list_spec: ListSpec, name: str | None = None) -> Path:
    """A new draft folder from the skeleton in the templates folder; returns its file."""
    header, text = split_front_matter((templates_dir / SKELETON).read_text(encoding="utf-8"))
    header.update(titel=title, aktenzeichen=az, verteiler=str(list_spec))
    folder = _free_folder(drafts_dir, name or slug(title))
    folder.mkdir(parents=True)
    (folder / DRAFT_FILE).write_text(draft_content(header, text), encoding="utf-8")
    return folder / DRAFT_FILE


def draft_content(header: dict[str, Any], text: str) -> str:
    """The ``rundschreiben.md`` of a header and a text."""
    return ("---\n" + yaml.safe_dump(header, allow_unicode=True, sort_keys=False) + "---\n"
            + text)


def draft_names(drafts_dir: Path) -> list[str]:
    """The drafts in the drafts folder (folders holding a ``rundschreiben.md``), by name."""
    if not drafts_dir.is_dir():
        return []
    return sorted(p.name for p in drafts_dir.iterdir()
                  if p.is_dir() and not p.name.startswith(".") and (p / DRAFT_FILE).is_file())


def existing_draft(drafts_dir: Path, name: str) -> Path:
    """The folder of the draft ``name``, only a folder directly in the drafts folder (never a
    path given from outside); CircularError when there is none."""
    if name not in draft_names(drafts_dir):
        raise CircularError([f"Einen Entwurf „{name}“ gibt es nicht."])
    return drafts_dir / name


def attachment_name(given: str) -> str:
    """A safe file name for an attachment uploaded as ``given``: a name without any folder,
    characters other than letters, digits, space and ``._-()+`` replaced by ``_``;
    CircularError for a path, a hidden name or the draft's own file."""
    name = unicodedata.normalize("NFC", given).strip()
    if (not name or "/" in name or "\\" in name or name.startswith(".")
            or any(ord(c) < 32 for c in name)):
        raise CircularError([f"Der Dateiname „{given}“ ist für eine Anlage nicht erlaubt "
                             "(keine Ordnerangabe, kein Punkt am Anfang)."])
    cleaned = re.sub(r"[^\w .()+-]", "_", name)[-120:].strip()
    if cleaned.casefold() in (DRAFT_FILE, PROBE_FOLDER) or cleaned.startswith("."):
        raise CircularError([f"„{given}“ kann keine Anlage sein: der Name gehört dem "
                             "Entwurf selbst."])
    return cleaned


def _free_folder(drafts_dir: Path, base: str) -> Path:
    candidate, number = drafts_dir / base, 2
    while candidate.exists():
        candidate, number = drafts_dir / f"{base}-{number}", number + 1
    return candidate


def slug(title: str) -> str:
    """A folder name from a title: lower-case ASCII, words joined by hyphens."""
    text = title.casefold()
    for umlaut, plain in (("ä", "ae"), ("ö", "oe"), ("ü", "ue"), ("ß", "ss")):
        text = text.replace(umlaut, plain)
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "-".join(re.findall(r"[a-z0-9]+", text))[:60] or "rundschreiben"
