"""Every text of the family's and the child's pages is translated in each family language:
a consent request a guardian cannot read is not informed consent.

The texts are found as the Swedish check finds them (``t("...")`` in the templates and page
modules a family sees), with the keyed texts a template builds (``t("family:status:" ~ s)``)
taken from the Swedish catalogue, and the digital conversation's questions. A language is
checked once its catalogue folder is there; that all of them are there is checked apart."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.pofile import read_po

from hub.web.i18n import FAMILY_LANGUAGES, LANGUAGES, LOCALES, load_catalogue

WEB = Path(__file__).resolve().parents[2] / "hub" / "web"
REQUIRED_LANGUAGES = tuple(language for language in FAMILY_LANGUAGES if language not in LANGUAGES)
"""The languages every family-page text must be translated into (Swedish and English are
checked by tests/unit/test_web_catalogues.py)."""
FAMILY_SOURCES = (
    "templates/base.html", "templates/family/*.html", "templates/survey/code.html", "templates/survey/answer.html",
    "templates/survey/thanks.html", "templates/common/error.html", "templates/common/sign_in.html",
    "templates/common/signed_in.html", "templates/common/signing_out.html",
    "pages/family.py", "pages/family_log.py", "pages/survey.py",
)
"""What a guardian or child sees: the family pages, the digital conversation, signing in,
the layout and the error page."""
FAMILY_NAV = ("Main menu", "My children", "My information")
"""The family's part of the menu (common/nav.html is mostly the staff's)."""
LITERAL_CALL = re.compile(r"""\bt\(\s*(?P<q>["'])(?P<id>(?:(?!(?P=q)).)+)(?P=q)\s*[,)]""")
KEYED_CALL = re.compile(r"""\bt\(\s*(?:f?["'])(?P<prefix>[a-z-]+(?::[a-z-]+)*:)(?:["']\s*~|\{)""")
PLACEHOLDER = re.compile(r"\{[a-z_]+\}")


def family_sources() -> list[Path]:
    return [path for pattern in FAMILY_SOURCES for path in sorted(WEB.glob(pattern))]


def family_message_ids() -> set[str]:
    """Every msgid a family page may show."""
    from hub.web.pages.survey import CHILD_QUESTIONS, GUARDIAN_QUESTIONS, YOUTH_QUESTIONS

    swedish = load_catalogue("sv").messages
    found: set[str] = set(FAMILY_NAV)
    for path in family_sources():
        text = path.read_text(encoding="utf-8")
        found.update(m.group("id") for m in LITERAL_CALL.finditer(text))
        for prefix in {m.group("prefix") for m in KEYED_CALL.finditer(text)}:
            found.update(msgid for msgid in swedish if msgid.startswith(prefix))
    for asked in (CHILD_QUESTIONS, GUARDIAN_QUESTIONS, YOUTH_QUESTIONS):
        found.update(asked.values())
    return found


def translated(language: str) -> dict[str, str]:
    """The language's own wordings, from its catalogue files alone (not the vocabulary's
    English stand-ins)."""
    words: dict[str, str] = {}
    for path in sorted((LOCALES / language).glob("*.po")):
        with path.open("rb") as f:
            for message in read_po(f, locale=language):
                if message.id and isinstance(message.id, str) and str(message.string or "").strip():
                    words[message.id] = str(message.string)
    return words


def present_languages() -> list[str]:
    return [language for language in REQUIRED_LANGUAGES if (LOCALES / language).is_dir()]


def test_the_required_languages_are_arabic_somali_tigrinya_persian_and_ukrainian() -> None:
    assert set(REQUIRED_LANGUAGES) == {"ar", "so", "ti", "fa", "uk"}


def test_the_scan_finds_the_family_pages_texts_keyed_texts_and_the_conversations_questions() -> None:
    from hub.web.pages.survey import CHILD_QUESTIONS

    found = family_message_ids()
    assert {"Skip to content", "Receipt of consent", "Withdraw consent", "My children"} <= found
    assert {"family:status:withdrawn", "family:category:needs", "area:trygghet"} <= found
    assert set(CHILD_QUESTIONS.values()) <= found
    assert "New discovery card" not in found  # a staff page's text is not required


def test_every_family_page_text_has_a_swedish_wording() -> None:
    swedish = load_catalogue("sv").messages
    assert sorted(i for i in family_message_ids() if not swedish.get(i)) == []


def test_every_family_page_text_is_translated_in_each_family_language_present() -> None:
    needed = family_message_ids()
    missing = {language: sorted(needed - set(translated(language))) for language in present_languages()}
    assert {language: ids for language, ids in missing.items() if ids} == {}


def test_each_translation_keeps_the_placeholders_of_its_source() -> None:
    """A ``{moment}`` lost or renamed in a translation would fail the page, not just read oddly."""
    wrong = {
        (language, msgid): text
        for language in present_languages()
        for msgid, text in translated(language).items()
        if sorted(PLACEHOLDER.findall(msgid)) != sorted(PLACEHOLDER.findall(text))
    }
    assert wrong == {}
