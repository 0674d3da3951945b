"""The purpose of a read is written to the access log that families and auditors read: it is
one line of text, never control characters that would rewrite what a terminal or a page shows."""

from __future__ import annotations

from pathlib import Path

import pytest
from litestar.testing import TestClient

from hub.http import create_app
from hub.runtime.bootstrap import bootstrap
from hub.runtime.clock import SettableClock
from hub.runtime.settings import Settings
from tests.conftest import register_child
from tests.factories import directory, staff
from tests.http.test_admission import bearer

BK = "rektor.ostra"


@pytest.mark.parametrize("purpose", ["a\x00b", "Möte\x1b[31m", "Möte\r\nFalsk rad", "\x85"], ids=["NUL", "escape", "CRLF", "NEL"])
def test_a_purpose_with_control_characters_is_refused_and_no_read_is_recorded(
    purpose: str, tmp_path: Path, clock: SettableClock
) -> None:
    rt = bootstrap(Settings(store="memory", demo_mode=True, data_dir=tmp_path), clock=clock, directory=directory())
    try:
        child_id = register_child(rt)
        rt.hub.assign_barnkontakt(staff(BK), child_id, staff_id=BK)
        before = rt.hub.log_length()
        with TestClient(create_app(rt)) as http:
            for path in (f"/api/v1/children/{child_id}", f"/api/v1/children/{child_id}/fhir"):
                answer = http.get(path, params={"purpose": purpose}, headers=bearer(rt, BK))
                assert answer.status_code in (400, 422), answer.text
                assert answer.headers["content-type"].startswith("application/problem+json")
                assert "purpose" in answer.text
            assert http.get(f"/api/v1/children/{child_id}", params={"purpose": "Möte med skolan"}, headers=bearer(rt, BK)).status_code == 200
        assert rt.hub.log_length() == before + 1  # only the one-line purpose was recorded
    finally:
        rt.close()
