"""A form sent twice is acted on once: the rule behind every page's double-submission guard."""

from __future__ import annotations

import threading

import pytest

from hub.errors import ConflictError
from hub.web.app import SubmittedForms


def test_the_second_sending_of_a_form_gets_the_first_answer_without_acting_again() -> None:
    forms = SubmittedForms()
    acted: list[str] = []

    def act() -> str:
        acted.append("card")
        return f"/staff/cards/{len(acted)}"

    first = forms.once("session-a", "form-1", act)
    second = forms.once("session-a", "form-1", act)

    assert first == second == "/staff/cards/1"
    assert acted == ["card"]


def test_the_same_form_id_in_another_session_or_a_new_form_is_acted_on() -> None:
    forms = SubmittedForms()
    acted: list[str] = []

    def act() -> str:
        acted.append("x")
        return "/next"

    forms.once("session-a", "form-1", act)
    forms.once("session-b", "form-1", act)
    forms.once("session-a", "form-2", act)

    assert len(acted) == 3


def test_a_form_without_an_id_is_acted_on_each_time() -> None:
    forms = SubmittedForms()
    acted: list[str] = []
    for _ in range(2):
        forms.once("s", None, lambda: acted.append("x") or "/next")
    assert len(acted) == 2


def test_a_refused_form_can_be_corrected_and_sent_again() -> None:
    """Only an answered form is remembered: a refusal leaves it free to be sent anew."""
    forms = SubmittedForms()

    def refuse() -> str:
        raise ValueError("invalid")

    with pytest.raises(ValueError):
        forms.once("s", "form-1", refuse)
    assert forms.once("s", "form-1", lambda: "/done") == "/done"


def test_a_second_sending_while_the_first_is_still_being_acted_on_is_refused() -> None:
    forms = SubmittedForms()
    started, release = threading.Event(), threading.Event()

    def slow() -> str:
        started.set()
        release.wait(5)
        return "/done"

    first = threading.Thread(target=forms.once, args=("s", "form-1", slow))
    first.start()
    started.wait(5)
    try:
        with pytest.raises(ConflictError):
            forms.once("s", "form-1", lambda: "/again")
    finally:
        release.set()
        first.join(5)
    assert forms.once("s", "form-1", lambda: "/again") == "/done"


def test_only_the_most_recent_forms_are_remembered() -> None:
    forms = SubmittedForms(size=2)
    for n in range(3):
        forms.once("s", f"form-{n}", lambda n=n: f"/{n}")
    assert forms.once("s", "form-0", lambda: "/again") == "/again"
    assert forms.once("s", "form-2", lambda: "/again") == "/2"
