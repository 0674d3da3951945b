"""The auditors' checkpoint page reads, per visit, only what was stored since its last visit:
a second visit for the same checkpoint reads nothing, a visit after new facts reads just
those, however long the log is; a changed fact it already took in is still caught once a
check fails, on the whole stored log."""

from __future__ import annotations

from typing import Any

from litestar.testing import TestClient

from hub.runtime.bootstrap import Runtime
from hub.tlog.checkpoint import Checkpoint, sign_checkpoint
from hub.tlog.merkle import MerkleLog
from hub.tlog.store import open_checkpoint
from tests.conftest import family, register_child
from tests.factories import GUARDIAN_1_PNR
from tests.web.test_audit_pages import sign_in


def reads(rt: Runtime, n: int) -> None:
    guardian = family(rt, GUARDIAN_1_PNR)
    child_id = rt.hub.family_children(guardian)[0].child_id
    for _ in range(n):
        rt.hub.family_access_log(guardian, child_id)


def test_the_checkpoint_page_reads_only_what_was_stored_since_its_last_visit(rt: Runtime, client: TestClient[Any]) -> None:
    assert rt.transparency is not None
    audit = rt.transparency.audit
    register_child(rt)
    reads(rt, 40)
    sign_in(client, "granskare.ystad")
    first = rt.transparency.checkpoint_now()

    assert "Loggen stämmer:" in client.get("/audit/checkpoint").text
    assert audit.leaves_read == first.size

    for _ in range(3):
        assert "Loggen stämmer:" in client.get("/audit/checkpoint").text
        assert audit.leaves_read == 0, "the same checkpoint is answered from the cache"

    for more in (5, 5):
        reads(rt, more)
        rt.transparency.checkpoint_now()
        page = client.get("/audit/checkpoint").text
        assert "Loggen stämmer:" in page
        # the auditor's own page views are reads too, so the new facts are those reads and
        # the page views since: a handful, not the whole log
        assert 0 < audit.leaves_read <= more + 8, audit.leaves_read


def test_a_checkpoint_the_stored_log_does_not_match_is_confirmed_on_the_whole_log(
    rt: Runtime, client: TestClient[Any]
) -> None:
    assert rt.transparency is not None
    log = rt.transparency
    register_child(rt)
    reads(rt, 6)
    sign_in(client, "granskare.ystad")
    log.checkpoint_now()
    assert "Loggen stämmer:" in client.get("/audit/checkpoint").text

    # A checkpoint signed with the hub's key over a log whose first fact differs from the
    # stored one: the frontier kept since the last visit alone cannot tell where.
    reads(rt, 2)
    log.catch_up()
    forged = MerkleLog([b"\x00" * 32, *log.tree.leaf_hashes()[1:]])
    signer = log.keys.signer()
    note = sign_checkpoint(Checkpoint(signer.name, forged.size, forged.root()), signer)
    log.store._remember(open_checkpoint(note, signer.verifier()), "a forged record")  # noqa: SLF001

    page = client.get("/audit/checkpoint").text

    assert "Loggen stämmer:" not in page
    assert log.audit.leaves_read >= forged.size, "the mismatch was confirmed on the whole stored log"
