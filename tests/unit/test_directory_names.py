"""Names in the directory are one line of visible text: a unit or a person cannot be named with
characters that break a line in a log or an export, or that turn text around on a page so one
name reads as another."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from contracts.vocabulary import Role, UnitKind
from hub.application.directory_admin import AddStaff, AddUnit, RenameUnit


@pytest.mark.parametrize(
    "name",
    ["Östra\u0085skolan", "Östra\u2028skolan", "Östra\u2029skolan", "\u202eanaloks artsÖ", "Östra\u2066skolan", "   ", "\u00a0"],
    ids=["next-line", "line-separator", "paragraph-separator", "right-to-left-override", "isolate", "spaces", "no-break-space"],
)
def test_a_name_that_breaks_a_line_turns_text_around_or_is_blank_is_refused(name: str) -> None:
    with pytest.raises(ValidationError):
        AddUnit(unit_id="skola-norra", kind=UnitKind.SCHOOL, name=name)
    with pytest.raises(ValidationError):
        RenameUnit(name=name)
    with pytest.raises(ValidationError):
        AddStaff(user_id="ny.person", unit_id="skola-ostra", roles=(Role.DISCOVERER,), name=name)
    with pytest.raises(ValidationError):
        AddStaff(user_id="ny.person", unit_id="skola-ostra", roles=(Role.DISCOVERER,), name="Ny", title=name.strip() or "\u2028")


def test_a_swedish_name_with_a_dash_a_hyphen_and_an_apostrophe_is_kept_as_written() -> None:
    name = "Norra skolan – Åsa-Lill O'Brien's klass"
    assert AddUnit(unit_id="skola-norra", kind=UnitKind.SCHOOL, name=name).name == name
    assert AddStaff(user_id="ny.person", unit_id="skola-ostra", roles=(Role.DISCOVERER,), name="Åsa-Lill Ölund", title="").title == ""
