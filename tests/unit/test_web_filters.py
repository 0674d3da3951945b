"""The pages' days, times and numbers: as a person in Sweden reads them, in the page's language."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from jinja2 import Environment

from hub.web.filters import FILTERS


def render(source: str, lang: str = "sv", **values: object) -> str:
    env = Environment(autoescape=True)
    env.filters.update(FILTERS)
    return env.from_string(source).render(lang=lang, **values)


@pytest.mark.parametrize(
    ("moment", "shown"),
    [
        (datetime(2026, 3, 1, 23, 30, tzinfo=UTC), "2026-03-02 kl. 00.30"),  # after midnight in Sweden, CET
        (datetime(2026, 3, 29, 0, 30, tzinfo=UTC), "2026-03-29 kl. 01.30"),  # the night summer time starts
        (datetime(2026, 3, 29, 1, 30, tzinfo=UTC), "2026-03-29 kl. 03.30"),  # ...and an hour later, CEST
        (datetime(2026, 10, 25, 0, 30, tzinfo=UTC), "2026-10-25 kl. 02.30"),  # the night it ends
    ],
)
def test_a_moment_is_shown_in_swedish_time(moment: datetime, shown: str) -> None:
    assert render("{{ m|datetime_sv }}", m=moment) == shown
    assert render("{{ m|date_sv }}", m=moment) == shown[:10]


def test_a_day_is_written_the_swedish_way_short_and_in_the_pages_language_long() -> None:
    moment = datetime(2026, 3, 1, 23, 30, tzinfo=UTC)
    assert render('{{ m|date_sv("long") }}', m=moment) == "2 mars 2026"
    assert render('{{ m|date_sv("long") }}', "en", m=moment) == "March 2, 2026"
    assert render('{{ m|datetime_sv("long") }}', m=moment) == "2 mars 2026 kl. 00.30"
    assert render('{{ m|datetime_sv("long") }}', "en", m=moment) == "March 2, 2026 00:30"
    assert render("{{ d|date_sv }}", "en", d=date(2026, 4, 1)) == "2026-04-01"


def test_a_days_iso_text_among_a_facts_fields_is_shown_as_a_day() -> None:
    assert render("{{ d|date_sv }}", d="2026-04-01") == "2026-04-01"
    assert render("{{ d|date_sv }}", d="2026-03-01T23:30:00Z") == "2026-03-02"
    assert render("[{{ d|date_sv }}]", d=None) == "[]"


def test_numbers_take_the_pages_decimal_sign_and_grouping() -> None:
    assert render("{{ n|number_sv(1) }}", n=3.5) == "3,5"
    assert render("{{ n|number_sv(1) }}", "en", n=3.5) == "3.5"
    assert render("{{ n|number_sv(1) }}", n=3) == "3,0"
    assert render("{{ n|number_sv }}", n=1234) == "1\xa0234"
    assert render("{{ n|number_sv }}", "en", n=1234) == "1,234"


def test_a_moment_reads_as_in_swedish_with_kl_and_a_point_in_the_clock() -> None:
    """4 december 2026 kl. 14.05: never the stored ISO text with its seconds and microseconds."""
    stored = "2026-12-04T13:05:07.123456+00:00"
    assert render('{{ m|datetime_sv("long") }}', m=stored) == "4 december 2026 kl. 14.05"
    assert render("{{ m|datetime_sv }}", m=stored) == "2026-12-04 kl. 14.05"


def test_a_decimal_number_takes_the_swedish_comma() -> None:
    assert render("{{ n|number_sv }}", n=2.88) == "2,88"
    assert render("{{ n|number_sv(2) }}", n=2.875) == "2,88"


@pytest.mark.parametrize(("count", "shown"), [(0, "0 skattningar"), (1, "1 skattning"), (2, "2 skattningar"), (1500, "1\xa0500 skattningar")])
def test_a_count_names_its_noun_in_the_right_number(count: int, shown: str) -> None:
    assert render('{{ n|plural("{n} skattning", "{n} skattningar") }}', n=count) == shown


def test_people_and_units_are_named_from_the_directory_never_by_their_ids() -> None:
    page = "{{ p|person_name }} · {{ u|unit_name }} · {{ x|person_name }} · {{ y|unit_name }}"
    env = Environment(autoescape=True)
    env.filters.update(FILTERS)
    shown = env.from_string(page).render(
        p="maria.persson", u="bvc-ystad", x="okand.person", y="okand-enhet", t=lambda msgid: {"a member of staff": "en medarbetare", "another unit": "en annan verksamhet"}[msgid],
        directory_staff={"maria.persson": "Maria Persson"}, directory_units={"bvc-ystad": "BVC Ystad"},
    )
    assert shown == "Maria Persson · BVC Ystad · en medarbetare · en annan verksamhet"
