"""The case list's search and groups: what a query matches, and which groups a case is in.

A search is by name (every word, in any order, regardless of case) or by personnummer
(digits, with or without the century and the dash). It is checked before anything is read,
so a query that cannot be a name or a number is refused with what is wrong with it.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from hub.application.readmodels import CaseGroup
from hub.errors import InvalidInputError
from projections.caselist import CaseFlags

MAX_QUERY = 100
"""The longest search: a full name with room to spare."""
MIN_DIGITS = 6
"""The fewest digits a search by number takes (a date of birth, YYMMDD)."""


@dataclass(frozen=True)
class CaseListTiming:
    """How many days ahead a consent counts as expiring, and how many days a discoverer
    may wait for feedback on a card (settings ``case_list_consent_expiring_days`` and
    ``case_list_feedback_days``)."""

    consent_expiring_days: int = 30
    feedback_days: int = 14


@dataclass(frozen=True)
class Terms:
    words: tuple[str, ...] = ()
    digits: str = ""


def search_terms(query: str) -> Terms | None:
    """What a query asks for, or ``None`` when there is no query. A query too long, with
    control characters, or a number too short to find one child is refused."""
    text = unicodedata.normalize("NFC", query).strip()
    if not text:
        return None
    if len(text) > MAX_QUERY:
        raise InvalidInputError("a search may be at most 100 characters", field="q")
    if not text.isprintable():
        raise InvalidInputError("a search may hold only letters, digits and punctuation", field="q")
    compact = re.sub(r"[\s+-]", "", text)
    if compact.isdecimal() and compact.isascii():
        if len(compact) < MIN_DIGITS:
            raise InvalidInputError("search by at least 6 digits of the personnummer", field="q")
        return Terms(digits=compact)
    return Terms(words=tuple(text.casefold().split()))


def matches(terms: Terms, name: str, personnummer: str) -> bool:
    """Whether a child of this name and number is what ``terms`` ask for."""
    if terms.digits:
        return terms.digits in personnummer
    folded = name.casefold()
    return all(word in folded for word in terms.words)


def groups_of(flags: CaseFlags, *, expiring: bool, withdrawn: bool) -> list[CaseGroup]:
    """The groups that need action a case is in; a closed case is in none."""
    if flags.closed:
        return []
    found = {
        CaseGroup.NEW_CARDS: flags.new_cards > 0,
        CaseGroup.FEEDBACK_OWED: flags.awaiting_feedback > 0 and flags.barnkontakt_staff_id is not None,
        CaseGroup.OVERDUE_ACTIONS: flags.overdue_actions > 0,
        CaseGroup.CONSENT_EXPIRING: expiring,
        CaseGroup.CONSENT_WITHDRAWN: withdrawn,
        CaseGroup.NO_NEXT_STEP: flags.no_next_step,
    }
    return [group for group, yes in found.items() if yes]
