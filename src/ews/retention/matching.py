"""Whether a stored value names a person: case- and accent-insensitive for names, an
e-mail address compared normalised (pure)."""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from email.utils import getaddresses

_SPACES = re.compile(r"\s+")


def folded(text: str) -> str:
    """NFC, casefolded (ß → ss), accents removed, spaces collapsed: "Dörte Weiß" and
    "DORTE WEISS" fold alike."""
    decomposed = unicodedata.normalize("NFD", unicodedata.normalize("NFC", text).casefold())
    plain = "".join(char for char in decomposed if not unicodedata.combining(char))
    return _SPACES.sub(" ", plain).strip()


def spelled(text: str) -> str:
    """The German spelling without umlauts: "Dörte" → "doerte" (folded)."""
    text = unicodedata.normalize("NFC", text).casefold()
    for umlaut, plain in (("ä", "ae"), ("ö", "oe"), ("ü", "ue")):
        text = text.replace(umlaut, plain)
    return folded(text)


@dataclass(frozen=True)
class Person:
    """The name or address a request is about."""

    query: str

    @property
    def is_address(self) -> bool:
        return "@" in self.query

    def matches(self, value: object) -> bool:
        """Whether ``value`` (text, list or mapping) names the person."""
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        if not text:
            return False
        if self.is_address:
            wanted = self.query.strip().casefold()
            return any(address.casefold() == wanted
                       for _, address in getaddresses([text.replace(";", ",")])) \
                or wanted in text.casefold()
        haystack = folded(text)
        return folded(self.query) in haystack or spelled(self.query) in spelled(text)
