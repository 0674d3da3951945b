"""Every text a page shows is in the Swedish catalogue, and keyed texts are worded in English too."""

from __future__ import annotations

import re
from pathlib import Path

from contracts.labels import LABELS, label, label_key, vocabulary_messages
from contracts.vocabulary import Role
from hub.http.problems import HUB_ERRORS
from hub.web.i18n import LOCALES, load_catalogues

WEB = Path(__file__).resolve().parents[2] / "hub" / "web"
LITERAL_CALL = re.compile(r"""\bt\(\s*(?P<q>["'])(?P<id>(?:(?!(?P=q)).)+)(?P=q)\s*[,)]""")


def used_message_ids() -> set[str]:
    found: set[str] = set()
    for path in [*WEB.rglob("*.html"), *WEB.rglob("*.py")]:
        found.update(m.group("id") for m in LITERAL_CALL.finditer(path.read_text(encoding="utf-8")))
    return found


def test_the_scan_finds_the_texts_of_the_layout() -> None:
    assert {"Skip to content", "Sign out", "Sign in"} <= used_message_ids()


def test_every_literal_text_of_the_pages_has_a_swedish_wording() -> None:
    swedish = load_catalogues()["sv"].messages
    missing = sorted(i for i in used_message_ids() if i not in swedish)
    assert missing == []


def test_every_role_and_every_refusal_is_worded_in_both_languages() -> None:
    catalogues = load_catalogues()
    keys = {f"role:{r.value}" for r in Role} | {f"problem:{kind}" for _, kind, _ in HUB_ERRORS.values()}
    for language in ("sv", "en"):
        missing = sorted(k for k in keys if k not in catalogues[language].messages)
        assert missing == [], language


def test_the_catalogues_are_valid_gettext_files_in_each_language_folder() -> None:
    for language in ("sv", "en"):
        files = list((LOCALES / language).glob("*.po"))
        assert files, language
        for path in files:
            assert '"Language: ' + language in path.read_text(encoding="utf-8"), path


def test_each_text_is_worded_in_one_place_per_language() -> None:
    """Catalogues are merged: a text worded in two files would show whichever was read last."""
    from babel.messages.pofile import read_po

    for language in ("sv", "en"):
        defined: dict[str, list[str]] = {}
        for path in sorted((LOCALES / language).glob("*.po")):
            with path.open("rb") as f:
                for message in read_po(f, locale=language):
                    if message.id and message.string:
                        defined.setdefault(str(message.id), []).append(path.name)
        twice = {i: files for i, files in defined.items() if len(files) > 1}
        assert twice == {}, language


def test_the_pages_name_every_term_of_the_vocabulary_as_the_published_labels_do() -> None:
    catalogues = load_catalogues()
    for language in ("sv", "en"):
        for _, names in LABELS.values():
            for term in names:
                assert catalogues[language].gettext(label_key(term)) == label(term, language), (language, term)


def test_no_page_catalogue_words_a_term_of_the_vocabulary_again() -> None:
    """The vocabulary's names come from ``contracts.labels`` alone; a catalogue entry would
    be a second wording that silently wins on the pages."""
    from babel.messages.pofile import read_po

    terms = set(vocabulary_messages("sv"))
    for language in ("sv", "en"):
        for path in sorted((LOCALES / language).glob("*.po")):
            with path.open("rb") as f:
                again = sorted(str(m.id) for m in read_po(f, locale=language) if m.id in terms)
            assert again == [], path


def test_every_review_rule_has_a_swedish_name_and_explanation() -> None:
    """The access review names each rule that flagged a read, and says what it means, in
    Swedish: a rule added without its words showed its code to the auditors."""
    from hub.application.review_rules import RuleCode
    from hub.web.i18n import load_catalogues

    sv = load_catalogues()["sv"].messages
    for rule in RuleCode:
        for key in (f"rule:{rule.value}", f"rule-detail:{rule.value}"):
            assert sv.get(key), key
