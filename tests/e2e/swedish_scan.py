"""The Swedish page scan: what a Swedish page must never show a reader.

A Swedish page shows no English word, no code of the vocabulary or of a record's fields, no
UUID or hex id, no user id (``maria.persson``), no ISO timestamp and no decimal point. The
scan reads the page's visible text and the texts a screen reader speaks (the title,
``aria-label``, ``title``, ``alt``, ``placeholder``), leaving out what is marked as another
language (the "English" switch) or as a machine value (``<code>``, ``<pre>``: the audit
checkpoint's hashes, shown for auditors to compare on purpose).

The English words are those of the pages' message ids (the catalogues' English side) and
a list of common English words, less every word the Swedish side uses itself ("team",
"plan"); the codes are every value of the vocabulary's enums, less those that are Swedish
words too ("fritid", "barnteam").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from functools import cache
from html.parser import HTMLParser
from pathlib import Path

from babel.messages.pofile import read_po

from contracts import vocabulary
from contracts.labels import vocabulary_messages

LOCALES = Path(__file__).resolve().parents[2] / "hub" / "web" / "locales"

COMMON_ENGLISH = """
the and of with from for this that these those what which who whom when where why how not
are was were been being have has had does did done will would could should shall may might must
you your yours our ours their theirs his her its they them there here into onto about after before
over under again only just also than then very more most some any each every other such none
yes back next previous page show hide open close save send submit cancel choose select search
filter date time name unit child children guardian guardians consent card cards record records
report reports plan step steps team needs identity internal external planned done cancelled
none null true false unknown error settings review reviews access log yet already
""".split()

SWEDISH_TOO = {
    "region", "status", "version", "personal", "information", "person", "data",
    "sent", "far", "bar", "hand", "rest", "all", "for", "spring",
}
"""Swedish words that English has too, which the Swedish catalogue may not happen to use."""

WORD = re.compile(r"[A-Za-zÅÄÖåäöÉéÜü]+(?:['’][a-z]+)?")
SNAKE = re.compile(r"\b[a-z]+(?:_[a-z0-9]+)+\b")
CAMEL = re.compile(r"\b[A-Z][a-z]{2,}(?:[A-Z][a-z]{2,})+\b")  # parts of three letters or more: a random token such as AxaTg is not a field code
PREFIXED_CODE = re.compile(r"\b[a-z]+:[a-z_]+\b")
UUID_RE = re.compile(r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b")
HEX_ID = re.compile(r"\b(?:[a-z]+-)?(?=[0-9a-f]*[a-f])(?=[0-9a-f]*[0-9])[0-9a-f]{8,}\b")
UNIT_ID = re.compile(r"(?<![\w-])[a-z]{3,}-[a-z]{3,}(?![\w-])")
USER_ID = re.compile(r"\b[a-zåäö]{2,}\.[a-zåäö]{2,}\b")
ISO_TIME = re.compile(
    r"\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})?|\b\d{2}:\d{2}:\d{2}\b|\bT\d{2}:\d{2}"
)
DECIMAL_POINT = re.compile(r"(?<![\d.])\d+\.\d+(?![\d.])")
SWEDISH_CLOCK = re.compile(r"kl\.\s*$")


@dataclass(frozen=True)
class Offence:
    kind: str
    token: str

    def __str__(self) -> str:
        return f"{self.kind}: {self.token!r}"


def _words(text: str) -> set[str]:
    return {w.lower() for w in WORD.findall(text)}


@cache
def swedish_words() -> frozenset[str]:
    """Every word the Swedish side of the pages uses: its catalogue and the vocabulary's names."""
    words: set[str] = set()
    for path in sorted((LOCALES / "sv").glob("*.po")):
        with path.open("rb") as f:
            for message in read_po(f, locale="sv"):
                if message.id and isinstance(message.string, str):
                    words |= _words(re.sub(r"\{[^}]*\}", " ", message.string))  # a placeholder's name is no word shown
    for name in vocabulary_messages("sv").values():
        words |= _words(name)
    words |= SWEDISH_TOO
    for area in vocabulary.COMPASS.values():
        words |= _words(area.definition_sv) | _words(" ".join(area.need_statements_sv))
    return frozenset(words)


@cache
def english_words() -> frozenset[str]:
    """The catalogues' English words and common English words that Swedish does not share."""
    words = set(COMMON_ENGLISH)
    for path in sorted((LOCALES / "sv").glob("*.po")):
        with path.open("rb") as f:
            for message in read_po(f, locale="sv"):
                if isinstance(message.id, str) and message.id:
                    words |= {w for w in _words(re.sub(r"\{[^}]*\}", " ", message.id)) if len(w) >= 3}
    for name in vocabulary_messages("en").values():
        words |= {w for w in _words(name) if len(w) >= 3}
    return frozenset(words - swedish_words())


@cache
def vocabulary_codes() -> frozenset[str]:
    """Every code of the vocabulary's enums that is no Swedish word as well."""
    codes = {
        str(member.value)
        for thing in vars(vocabulary).values()
        if isinstance(thing, type) and issubclass(thing, Enum) and thing is not Enum
        for member in thing
        if isinstance(member.value, str)
    }
    return frozenset(c for c in codes if re.fullmatch(r"[a-z_]+", c) and c not in swedish_words())


def offences(text: str) -> list[Offence]:
    """Everything in ``text`` a Swedish page must not show, in the order found."""
    found: list[Offence] = []
    for pattern, kind in ((ISO_TIME, "ISO timestamp"), (UUID_RE, "UUID"), (HEX_ID, "hex id"),
                          (USER_ID, "user id"), (UNIT_ID, "unit id"), (SNAKE, "field code"), (CAMEL, "field code"),
                          (PREFIXED_CODE, "field code")):
        found += [Offence(kind, m.group(0)) for m in pattern.finditer(text)]
    for m in DECIMAL_POINT.finditer(text):
        if not SWEDISH_CLOCK.search(text[max(0, m.start() - 6):m.start()]):
            found.append(Offence("decimal point", m.group(0)))
    codes, english = vocabulary_codes(), english_words()
    for m in WORD.finditer(text):
        word = m.group(0)
        if word in codes:
            found.append(Offence("vocabulary code", word))
        elif word.lower() in english:
            found.append(Offence("English word", word))
    return found


SKIPPED = {"script", "style", "code", "pre", "template", "noscript"}
SPOKEN = ("aria-label", "title", "alt", "placeholder")
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class _Text(HTMLParser):
    """The text of a page a reader sees or hears, less other languages and machine values."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.stack: list[tuple[str, bool]] = []  # each open element, and whether its content is skipped

    def _skipping(self) -> bool:
        return bool(self.stack) and self.stack[-1][1]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        lang = found.get("lang")
        skip = self._skipping() or tag in SKIPPED or bool(lang and not lang.startswith("sv") and tag != "html")
        if not skip:
            self.parts += [str(found[a]) for a in SPOKEN if found.get(a)]
            if tag == "input" and found.get("type") in ("submit", "button") and found.get("value"):
                self.parts.append(str(found["value"]))
        if tag not in VOID:
            self.stack.append((tag, skip))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in VOID and self.stack:
            self.stack.pop()

    def handle_endtag(self, tag: str) -> None:
        """Close ``tag`` and whatever was left open inside it (``<p>``, ``<li>``)."""
        if any(open_tag == tag for open_tag, _ in self.stack):
            while self.stack and self.stack.pop()[0] != tag:
                pass

    def handle_data(self, data: str) -> None:
        if not self._skipping() and data.strip():
            self.parts.append(data.strip())


def visible_text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    parser.close()
    return "\n".join(parser.parts)


def is_swedish(html: str) -> bool:
    return re.search(r"<html[^>]*\blang=\"sv", html) is not None


def html_offences(html: str) -> list[Offence]:
    return offences(visible_text(html))


def assert_swedish(html: str, where: str) -> None:
    """Fail naming each offending token of a Swedish page; a page in another language passes."""
    if not is_swedish(html):
        return
    found = html_offences(html)
    assert not found, f"{where} shows on a Swedish page: " + "; ".join(dict.fromkeys(str(o) for o in found))
