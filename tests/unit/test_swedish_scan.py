"""The Swedish page scan names each thing a Swedish page must not show, and lets plain Swedish pass."""

from __future__ import annotations

import pytest

from tests.e2e.swedish_scan import assert_swedish, html_offences, offences, visible_text


@pytest.mark.parametrize(
    ("text", "kind", "token"),
    [
        ("Slag: internal", "vocabulary code", "internal"),
        ("Kategorier: identity, needs", "vocabulary code", "identity"),
        ("Beslut: own_support", "field code", "own_support"),
        ("Steg: TeamDecided", "field code", "TeamDecided"),
        ("Kategori: category:health", "field code", "category:health"),
        ("Kort card-bf436b6c6f79", "hex id", "card-bf436b6c6f79"),
        ("Barn 3f2504e0-4f89-11d3-9a0c-0305e82c3301", "UUID", "3f2504e0-4f89-11d3-9a0c-0305e82c3301"),
        ("Inloggad: maria.persson", "user id", "maria.persson"),
        ("Verksamhet: skola-ostra", "unit id", "skola-ostra"),
        ("Läst 2026-12-04T13:05:07.123456+00:00", "ISO timestamp", "2026-12-04T13:05:07.123456+00:00"),
        ("Läst 2026-12-04 13:05:07", "ISO timestamp", "2026-12-04 13:05:07"),
        ("Medel 2.88", "decimal point", "2.88"),
        ("Barnkontakt: case list", "English word", "case"),
        ("Visa the plan", "English word", "the"),
    ],
)
def test_each_kind_of_offence_is_caught_and_named(text: str, kind: str, token: str) -> None:
    found = offences(text)
    assert any(o.kind == kind and o.token == token for o in found), found


def test_plain_swedish_with_swedish_dates_numbers_and_words_shared_with_english_passes() -> None:
    text = (
        "Barnets plan för Alva Lind: ett individuellt barnteam med Elevhälsan. Nästa steg: Kurator, "
        "senast 4 december 2026 kl. 14.05 (2026-12-04). Gemensam skattning 2,88 av 1 234 i Trygghet och Fritid. "
        "Teamet har 3 skattningar, t.ex. från BVC och bl.a. Region Skåne. "
        "Barnet hämtas sent av sin far; en bvc-sjuksköterska och all personal vet."
    )
    assert offences(text) == []


def test_the_scan_reads_what_is_seen_and_spoken_but_not_other_languages_or_machine_values() -> None:
    page = (
        '<html lang="sv"><head><title>Barnets plan</title></head><body>'
        '<nav aria-label="Language"><a lang="en" href="/language/en">English</a></nav>'
        "<p>Trygghet</p><dl><dt>Rothash</dt><dd><code>ab12cd34ef56ab78</code></dd></dl>"
        '<input type="hidden" name="user" value="maria.persson"><img alt="Barnets kompass">'
        "<script>var x = 'the';</script></body></html>"
    )
    assert [o.token for o in html_offences(page)] == ["Language"]
    assert "English" not in visible_text(page) and "Barnets kompass" in visible_text(page)


def test_the_assertion_names_every_offending_token_and_passes_pages_in_english() -> None:
    with pytest.raises(AssertionError, match=r"user id: 'maria.persson'.*vocabulary code: 'internal'"):
        assert_swedish('<html lang="sv"><body><p>maria.persson internal</p></body></html>', "/staff")
    assert_swedish('<html lang="en"><body><p>The plan of the child</p></body></html>', "/staff?lang=en")
