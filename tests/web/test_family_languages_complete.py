"""Every family language has its catalogues: the family pages are offered in Arabic, Somali,
Tigrinya, Persian and Ukrainian, so none of them may be missing (the per-text check in
test_family_translations.py checks the languages whose folder exists)."""

from __future__ import annotations

from hub.web.i18n import LOCALES
from tests.web.test_family_translations import REQUIRED_LANGUAGES


def test_every_family_language_has_its_catalogue_folder() -> None:
    missing = [language for language in REQUIRED_LANGUAGES if not list((LOCALES / language).glob("*.po"))]
    assert missing == []
