"""The pages' texts: gettext catalogues (``locales/<lang>/*.po``), read with Babel.

Swedish is the language of the model and the default; English is a switch away. Every
text a page shows goes through ``t(msgid)``: the message ids are English, the Swedish
catalogue translates every one (a test finds any it misses), and English shows the id
unless its catalogue words it otherwise. Catalogues are plain ``.po`` files, one per area
of the pages, read at start (no compile step). The names of the vocabulary's terms
(``area:trygghet``, ``unitkind:bvc``, ``category:health`` ...) are not in them: they come
from :mod:`contracts.labels`, the names the published schemas carry too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from babel.messages.pofile import read_po

from contracts.labels import vocabulary_messages

LANGUAGES = ("sv", "en")
DEFAULT_LANGUAGE = "sv"
LANGUAGE_COOKIE = "backa_lang"
LOCALES = Path(__file__).parent / "locales"


@dataclass(frozen=True)
class Catalogue:
    language: str
    messages: dict[str, str]

    def gettext(self, msgid: str, **values: Any) -> str:
        """``msgid`` in this language (itself if untranslated), with ``{name}`` values filled in."""
        text = self.messages.get(msgid) or msgid
        return text.format(**values) if values else text


def load_catalogues(folder: Path = LOCALES) -> dict[str, Catalogue]:
    """Every language's messages: the vocabulary's names, and the pages' texts merged
    from its ``.po`` files."""
    out = {}
    for language in LANGUAGES:
        messages: dict[str, str] = vocabulary_messages(language)
        for path in sorted((folder / language).glob("*.po")):
            with path.open("rb") as f:
                for message in read_po(f, locale=language):
                    if message.id and isinstance(message.id, str) and message.string:
                        messages[message.id] = str(message.string)
        out[language] = Catalogue(language, messages)
    return out


def choose_language(asked: str | None, cookie: str | None) -> str:
    for candidate in (asked, cookie):
        if candidate in LANGUAGES:
            return candidate  # type: ignore[return-value]
    return DEFAULT_LANGUAGE


Translate = Callable[..., str]
