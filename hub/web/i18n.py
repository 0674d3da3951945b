"""The pages' texts: gettext catalogues (``locales/<lang>/*.po``), read with Babel.

Swedish is the language of the model and the default; English is a switch away. The
family's and the child's pages (:data:`FAMILY_PATHS`) are offered in the languages many
guardians read better than Swedish too (:data:`FAMILY_LANGUAGES`); staff pages stay in
Swedish and English, so a staff page asked in Arabic shows Swedish. Every
text a page shows goes through ``t(msgid)``: the message ids are English, the Swedish
catalogue translates every one (a test finds any it misses), and English shows the id
unless its catalogue words it otherwise. Catalogues are plain ``.po`` files, one per area
of the pages, read when a language is first shown (no compile step; reading them at start
made the hub answer later after it started). The names of the vocabulary's terms
(``area:trygghet``, ``unitkind:bvc``, ``category:health`` ...) are not in them: they come
from :mod:`contracts.labels`, the names the published schemas carry too.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from babel.messages.pofile import read_po

from contracts.labels import vocabulary_messages
from contracts.vocabulary import FamilyLanguage

LANGUAGES = ("sv", "en")
"""The staff pages' languages."""
FAMILY_LANGUAGES = tuple(language.value for language in FamilyLanguage)
"""The family's and the child's pages' languages, as the vocabulary names them (a consent
answer records one of them)."""
LANGUAGE_NAMES = {
    "sv": "Svenska", "en": "English", "ar": "العربية", "so": "Soomaali", "ti": "ትግርኛ", "fa": "فارسی", "uk": "Українська",
}
"""Each language named in itself, for the chooser."""
RIGHT_TO_LEFT = frozenset({"ar", "fa"})
FAMILY_PATHS = ("/family", "/samtal", "/sign-in")
"""The pages a guardian or child reads: the family pages, the digital conversation, and
signing in to them."""
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


def load_catalogue(language: str, folder: Path = LOCALES) -> Catalogue:
    """One language's messages: the vocabulary's names, and the pages' texts merged from
    its ``.po`` files."""
    messages: dict[str, str] = vocabulary_messages(language)
    for path in sorted((folder / language).glob("*.po")):
        with path.open("rb") as f:
            for message in read_po(f, locale=language):
                if message.id and isinstance(message.id, str) and message.string:
                    messages[message.id] = str(message.string)
    return Catalogue(language, messages)


def load_catalogues(folder: Path = LOCALES, languages: tuple[str, ...] = LANGUAGES) -> dict[str, Catalogue]:
    """Every language's messages (the staff pages' unless told), read now."""
    return {language: load_catalogue(language, folder) for language in languages}


class Catalogues(Mapping[str, Catalogue]):
    """Every language's catalogue, each read the first time a page is shown in it."""

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder or LOCALES
        self._loaded: dict[str, Catalogue] = {}
        self._lock = threading.Lock()

    def __getitem__(self, language: str) -> Catalogue:
        found = self._loaded.get(language)
        if found is not None:
            return found
        if language not in FAMILY_LANGUAGES:
            raise KeyError(language)
        with self._lock:
            if language not in self._loaded:
                self._loaded[language] = load_catalogue(language, self.folder)
            return self._loaded[language]

    def __iter__(self) -> Iterator[str]:
        return iter(FAMILY_LANGUAGES)

    def __len__(self) -> int:
        return len(FAMILY_LANGUAGES)

    @property
    def loaded(self) -> list[str]:
        """The languages read so far."""
        return list(self._loaded)


def offered_languages(path: str) -> tuple[str, ...]:
    """The languages the page at ``path`` is offered in."""
    family = any(path == p or path.startswith(p + "/") or path.startswith(p + "?") for p in FAMILY_PATHS)
    return FAMILY_LANGUAGES if family else LANGUAGES


def choose_language(asked: str | None, cookie: str | None, offered: tuple[str, ...] = LANGUAGES) -> str:
    """The language asked for, else the one remembered, if the page is offered in it; else
    Swedish (a guardian's Arabic does not turn a staff page Arabic)."""
    for candidate in (asked, cookie):
        if candidate in offered:
            return candidate  # type: ignore[return-value]
    return DEFAULT_LANGUAGE


def text_direction(language: str) -> str:
    return "rtl" if language in RIGHT_TO_LEFT else "ltr"


Translate = Callable[..., str]
