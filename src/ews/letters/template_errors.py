"""German descriptions of letter template errors for staff, from Jinja's messages (pure).

Staff edit the Word templates; when a placeholder is unknown or mistyped, these sentences say
which one and how to fix it (``ews.letters.render`` and ``ews.letters.templates`` use them).
"""

from __future__ import annotations

import difflib
import html
import re
from collections.abc import Iterable

import jinja2

RETYPE_HINT = (
    "Tippen Sie den Platzhalter am besten in einem Zug neu ein: zwei geschweifte Klammern auf "
    "jeder Seite, ohne Leerzeichen zwischen den Klammern, ohne Zeilenumbruch, mit geraden "
    "Anführungszeichen, z. B. {{ unser_zeichen }}."
)
#: Jinja's English syntax messages -> what staff should fix ({0} = the name Jinja reports)
_SYNTAX_PROBLEMS = [
    (
        re.compile(r"block that needs to be closed is '(\w+)'"),
        "Zu einer Anweisung „{{%p {0} … %}}“ fehlt das passende „{{%p end{0} %}}“.",
    ),
    (re.compile(r"No filter named '([^']+)'"), "Der Filter „{0}“ ist unbekannt."),
    (
        re.compile(r"Encountered unknown tag '([^']+)'"),
        "Die Anweisung „{0}“ ist unbekannt oder steht an der falschen Stelle.",
    ),
]


def describe_template_error(exc: Exception, known: Iterable[str]) -> str:
    if isinstance(exc, jinja2.UndefinedError):
        return describe_undefined(exc.message or "", known)
    if isinstance(exc, jinja2.TemplateSyntaxError):
        return _describe_syntax(exc)
    if isinstance(exc, jinja2.exceptions.SecurityError):
        return f"Der Platzhalter verwendet einen nicht erlaubten Ausdruck ({exc})."
    return f"Ein Platzhalter kann nicht ausgefüllt werden ({exc}). {RETYPE_HINT}"


def describe_undefined(message: str, known: Iterable[str]) -> str:
    attribute = re.search(r"has no attribute '([^']+)'", message)
    if attribute:
        return f"Der Platzhalter verwendet das unbekannte Feld „{attribute.group(1)}“."
    match = re.search(r"'([^']+)' is undefined", message)
    name = match.group(1) if match else message
    close = difflib.get_close_matches(name, list(known), n=1)
    hint = f" Gemeint ist vielleicht „{{{{ {close[0]} }}}}“." if close else ""
    return f"Der Platzhalter „{{{{ {name} }}}}“ ist unbekannt.{hint}"


def _describe_syntax(exc: jinja2.TemplateSyntaxError) -> str:
    lines = (exc.source or "").splitlines()
    if "end of template" in (exc.message or ""):
        line = _unclosed_block(lines)  # Jinja points at the end, not at the opening tag
    else:
        line = lines[exc.lineno - 1] if 0 < exc.lineno <= len(lines) else ""
    text = html.unescape(re.sub(r"<[^>]+>", "", line)).strip()
    tags = re.findall(r"\{[{%#].*?(?:[}%#]\}|$)", text)
    where = f"Fehler bei „{shortened(tags[0] if tags else text)}“" if text else "Fehler"
    for pattern, problem in _SYNTAX_PROBLEMS:
        match = pattern.search(exc.message or "")
        if match:
            return f"{where}: {problem.format(*match.groups())}"
    return (
        f"{where}: Der Platzhalter ist unvollständig oder fehlerhaft "
        f"(Meldung: {exc.message}). {RETYPE_HINT}"
    )


def _unclosed_block(lines: list[str]) -> str:
    """The innermost ``{% if %}``/``{% for %}`` tag left open."""
    openers: list[str] = []
    for tag in re.finditer(r"\{%-?\s*(\w+).*?%\}", "\n".join(lines)):
        if tag.group(1) in ("if", "for"):
            openers.append(tag.group(0))
        elif tag.group(1) in ("endif", "endfor") and openers:
            openers.pop()
    return openers[-1] if openers else ""


def shortened(text: str, limit: int = 100) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
