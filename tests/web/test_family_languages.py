"""The family's pages in the languages guardians read: the guardian chooses, the choice is
remembered, Arabic and Persian read right to left, dates and numbers are the language's,
the receipt keeps the binding Swedish wording beside it; staff pages stay Swedish.

The pages' texts come from a copy of the catalogues with a small Arabic stand-in file of
its own, so these tests check the machinery whether or not the Arabic catalogue is there."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from litestar.testing import TestClient

from hub.runtime.bootstrap import Runtime
from hub.web import i18n
from hub.web.filters import format_day, format_moment, format_number
from hub.web.i18n import FAMILY_LANGUAGES, LANGUAGE_COOKIE, LANGUAGE_NAMES, LANGUAGES
from tests.conftest import family
from tests.factories import GUARDIAN_1_PNR
from tests.web.conftest import post_sign_in
from tests.web.test_family_pages import answer, child_with_request, client, sign_in

ARABIC = {
    "Consent requests": "طلبات الموافقة",
    "Receipt of consent": "إيصال الموافقة",
    "Language": "اللغة",
}
STAND_IN = '# Arabic stand-in for the tests.\nmsgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n"Language: ar\\n"\n' + "".join(
    f'\nmsgid "{msgid}"\nmsgstr "{text}"\n' for msgid, text in ARABIC.items()
)


@pytest.fixture(autouse=True)
def arabic_stand_in(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The real catalogues, and an Arabic file read after any real one (its name sorts last)."""
    folder = tmp_path / "locales"
    shutil.copytree(i18n.LOCALES, folder)
    (folder / "ar").mkdir(exist_ok=True)
    (folder / "ar" / "zz_stand_in.po").write_text(STAND_IN, encoding="utf-8")
    monkeypatch.setattr(i18n, "LOCALES", folder)
    yield folder


def test_a_guardian_who_chooses_arabic_reads_the_consent_page_in_arabic_right_to_left(rt: Runtime) -> None:
    child, _ = child_with_request(rt)
    with client(rt) as anna:
        sign_in(anna, GUARDIAN_1_PNR)
        chosen = anna.get(f"/language/ar?next=/family/children/{child}/consents%3Flang%3Dsv", follow_redirects=False)
        page = anna.get(chosen.headers["location"])
    assert chosen.status_code == 303 and chosen.headers["location"] == f"/family/children/{child}/consents"
    assert '<html lang="ar" dir="rtl">' in page.text
    assert "طلبات الموافقة" in page.text and "Frågor om samtycke" not in page.text
    assert '<nav aria-label="اللغة" class="languages">' in page.text  # the chooser, named for a screen reader
    for code in FAMILY_LANGUAGES:
        assert LANGUAGE_NAMES[code] in page.text and f'lang="{code}"' in page.text


def test_the_chosen_language_is_remembered_on_the_next_page_and_after_signing_in_again(rt: Runtime) -> None:
    child, _ = child_with_request(rt)
    with client(rt) as anna:
        sign_in(anna, GUARDIAN_1_PNR)
        anna.get("/language/ar?next=/family", follow_redirects=False)
        assert anna.cookies.get(LANGUAGE_COOKIE) == "ar"
        later = anna.get(f"/family/children/{child}/consents")
        signed_out = anna.post("/sign-out", data={"csrf_token": _csrf(anna)}, follow_redirects=False)
        sign_in(anna, GUARDIAN_1_PNR)
        again = anna.get(f"/family/children/{child}/consents")
    assert '<html lang="ar" dir="rtl">' in later.text and "طلبات الموافقة" in later.text
    assert signed_out.status_code == 303
    assert '<html lang="ar" dir="rtl">' in again.text


def _csrf(c: TestClient[Any]) -> str:
    import re

    found = re.search(r'name="csrf_token" value="([^"]+)"', c.get("/family").text)
    assert found
    return found.group(1)


def test_a_staff_page_stays_swedish_with_the_language_cookie_set_to_arabic(rt: Runtime) -> None:
    with client(rt) as maria:
        r = post_sign_in(maria, kind="staff", user="larare.ostra")
        assert r.status_code == 303
        maria.cookies.set(LANGUAGE_COOKIE, "ar")
        page = maria.get("/staff")
        asked = maria.get("/staff?lang=ar")
    for shown in (page, asked):
        assert shown.status_code == 200
        assert '<html lang="sv" dir="ltr">' in shown.text
        assert "العربية" not in shown.text  # the staff pages offer Swedish and English only
    assert LANGUAGES == ("sv", "en")


def answer_in(c: TestClient[Any], language: str, child: UUID, consent: UUID, verb: str) -> None:
    """Answer from the page read in ``language`` (its forms carry the language in their action)."""
    c.cookies.set(LANGUAGE_COOKIE, language)
    assert answer(c, child, consent, verb).status_code == 303


def test_a_consent_answered_in_arabic_has_its_receipt_in_arabic_with_the_binding_swedish_beside_it(rt: Runtime) -> None:
    child, consent = child_with_request(rt)
    with client(rt) as anna:
        sign_in(anna, GUARDIAN_1_PNR)
        answer_in(anna, "ar", child, consent, "grant")
        in_arabic = anna.get(f"/family/children/{child}/consents/{consent}/receipt?lang=ar")
        later_in_swedish = anna.get(f"/family/children/{child}/consents/{consent}/receipt?lang=sv")
    for receipt in (in_arabic, later_in_swedish):  # the language answered in, whatever the page's is now
        text = receipt.text
        assert receipt.status_code == 200
        assert '<section lang="ar" dir="rtl" aria-labelledby="wording-ar">' in text
        assert "مارس 2027" in text  # until when, with the month named in Arabic
        assert '<section class="binding-wording" lang="sv" dir="ltr"' in text
        assert "Den svenska texten gäller" in text and "2 mars 2027" in text  # the Swedish beside it
    assert '<html lang="ar" dir="rtl">' in in_arabic.text and "إيصال الموافقة" in in_arabic.text
    assert '<html lang="sv" dir="ltr">' in later_in_swedish.text
    assert "Kvittot är på det språk samtycket besvarades på (العربية)" in later_in_swedish.text


def test_a_consent_answered_in_swedish_has_its_receipt_in_swedish_alone_even_on_an_arabic_page(rt: Runtime) -> None:
    child, consent = child_with_request(rt)
    with client(rt) as anna:
        sign_in(anna, GUARDIAN_1_PNR)
        answer_in(anna, "sv", child, consent, "grant")
        receipt = anna.get(f"/family/children/{child}/consents/{consent}/receipt?lang=ar")
    text = receipt.text
    assert receipt.status_code == 200 and '<html lang="ar" dir="rtl">' in text  # the page around it is Arabic
    assert '<section lang="sv" dir="ltr" aria-labelledby="wording-sv">' in text
    assert "binding-wording" not in text and "2 mars 2027" in text and "مارس 2027" not in text
    assert "(Svenska)" in text  # the Arabic page says which language the receipt is in


def test_each_answer_records_the_language_its_request_was_read_in_and_the_receipt_follows_the_latest(rt: Runtime) -> None:
    child, consent = child_with_request(rt)
    with client(rt) as anna:
        sign_in(anna, GUARDIAN_1_PNR)
        answer_in(anna, "ar", child, consent, "grant")
        answer_in(anna, "uk", child, consent, "withdraw")
        receipt = anna.get(f"/family/children/{child}/consents/{consent}/receipt?lang=sv")
    view = rt.hub.read_child(family(rt, GUARDIAN_1_PNR), child, purpose="Family: consent receipt", view="family_view")
    answers = [(i.type, i.fields.get("language")) for i in view.items if i.type in ("ConsentGranted", "ConsentWithdrawn")]
    assert answers == [("ConsentGranted", "ar"), ("ConsentWithdrawn", "uk")]
    assert '<section lang="uk" dir="ltr" aria-labelledby="wording-uk">' in receipt.text
    assert "березня 2027" in receipt.text


def test_an_answer_recorded_without_a_language_keeps_its_receipt_in_the_pages_language(rt: Runtime) -> None:
    child, consent = child_with_request(rt)
    rt.hub.grant_consent(family(rt, GUARDIAN_1_PNR), child, consent)  # as the API answers: no page was read
    with client(rt) as anna:
        sign_in(anna, GUARDIAN_1_PNR)
        receipt = anna.get(f"/family/children/{child}/consents/{consent}/receipt?lang=fa")
    assert '<section lang="fa" dir="rtl" aria-labelledby="wording-fa">' in receipt.text
    assert '<section class="binding-wording" lang="sv" dir="ltr"' in receipt.text


def test_days_moments_and_numbers_are_written_in_the_pages_language() -> None:
    assert format_day("2026-03-02", "long", "ar") == "2 مارس 2026"
    assert format_day("2026-03-02", "long", "uk").startswith("2 березня 2026")
    assert format_day("2026-03-02", "short", "sv") == "2026-03-02"
    assert format_day("2026-03-02", "short", "uk") != "2026-03-02"  # the language's own form
    assert format_moment("2026-03-02T09:00:00+00:00", "long", "sv") == "2 mars 2026 kl. 10.00"  # Swedish time
    assert format_moment("2026-03-02T09:00:00+00:00", "long", "ti").endswith("10:00")
    assert format_number(1234.5, "uk") == "1\xa0234,5"
    for language in FAMILY_LANGUAGES:
        assert format_day("2026-03-02", "long", language)


def test_the_digital_conversation_is_offered_in_the_family_languages_and_an_unknown_one_is_swedish(rt: Runtime) -> None:
    with client(rt) as alva:
        somali = alva.get("/samtal?lang=so")
        persian = alva.get("/samtal?lang=fa")
        unknown = alva.get("/language/xx?next=/samtal", follow_redirects=False)
        after = alva.get("/samtal")
    assert '<html lang="so" dir="ltr">' in somali.text and "Soomaali" in somali.text
    assert '<html lang="fa" dir="rtl">' in persian.text
    assert unknown.status_code == 303 and alva.cookies.get(LANGUAGE_COOKIE) == "sv"
    assert '<html lang="sv" dir="ltr">' in after.text
