"""The per-child sealer of the stored log: what it refuses, and what a KEK rotation keeps."""

from __future__ import annotations

import base64
import threading
from collections.abc import Callable
from pathlib import Path
from uuid import UUID, uuid4

import pytest

from hub.keys.child_keys import (
    HEADER,
    MAGIC,
    NONCE,
    ChildKeyDestroyedError,
    ChildKeyMissingError,
    ChildKeySealer,
    Kek,
    KekConfigError,
    KekMismatchError,
    Keyring,
    SealedFactError,
    WrappedKey,
    parse_keks,
    read_kek_file,
    rotate_kek,
    write_kek_file,
)
from hub.keys.key_stores import MemoryKeyStore

KEK_A = Kek.of(bytes(range(32)))
KEK_B = Kek.of(bytes(range(1, 33)))
FACT = b'{"traceparent":null,"fact":{"personnummer":"201507122388","given_name":"Alva"}}'
ALVA, BO = UUID("0f0e0d0c-0b0a-4908-8706-050403020100"), UUID("10000000-0000-4000-8000-000000000001")


def sealer(store: MemoryKeyStore | None = None, *keks: Kek, cache_size: int = 100) -> ChildKeySealer:
    return ChildKeySealer(store if store is not None else MemoryKeyStore(), Keyring(keks or [KEK_A]), cache_size=cache_size)


def test_a_fact_opens_again_and_is_stored_without_its_plaintext() -> None:
    s = sealer()
    sealed = s.seal(ALVA, FACT)
    assert s.open(sealed) == FACT
    assert sealed.startswith(MAGIC + ALVA.bytes)
    assert b"201507122388" not in sealed and b"Alva" not in sealed
    assert s.seal(ALVA, FACT) != sealed  # a fresh nonce each time


def test_each_child_has_a_key_of_its_own_made_on_its_first_fact() -> None:
    store = MemoryKeyStore()
    s = sealer(store)
    s.seal(ALVA, FACT)
    s.seal(ALVA, FACT)
    s.seal(BO, FACT)
    assert len(store.batch(None, 10)) == 2
    assert store.get(ALVA) != store.get(BO)
    assert store.get(ALVA).kek_id == KEK_A.id  # type: ignore[union-attr]


def _flip(index: int) -> Callable[[bytes], bytes]:
    def change(sealed: bytes) -> bytes:
        return sealed[:index] + bytes([sealed[index] ^ 1]) + sealed[index + 1:]

    return change


@pytest.mark.parametrize(
    ("change", "error"),
    [
        pytest.param(_flip(-1), SealedFactError, id="tag changed"),
        pytest.param(_flip(HEADER + NONCE + 3), SealedFactError, id="ciphertext changed"),
        pytest.param(_flip(HEADER), SealedFactError, id="nonce changed"),
        pytest.param(_flip(0), SealedFactError, id="format prefix changed"),
        pytest.param(lambda s: s[: HEADER + NONCE + 8], SealedFactError, id="cut short"),
        pytest.param(lambda s: s + b"\x00", SealedFactError, id="bytes appended"),
        pytest.param(lambda s: FACT, SealedFactError, id="plaintext put in its place"),
        pytest.param(lambda s: MAGIC + BO.bytes + s[HEADER:], SealedFactError, id="moved under another child's id"),
        pytest.param(lambda s: MAGIC + uuid4().bytes + s[HEADER:], ChildKeyMissingError, id="moved under an unknown child"),
    ],
)
def test_a_changed_or_moved_ciphertext_is_refused(change: Callable[[bytes], bytes], error: type[Exception]) -> None:
    s = sealer()
    s.seal(BO, FACT)  # Bo has a key too
    sealed = s.seal(ALVA, FACT)
    with pytest.raises(error) as refused:
        s.open(change(sealed))
    assert str(ALVA) not in str(refused.value) and "Alva" not in str(refused.value)


def test_one_childs_key_does_not_open_anothers_facts_even_with_its_header() -> None:
    """The header is associated data; Bo's key on Alva's ciphertext fails the tag."""
    store = MemoryKeyStore()
    s = sealer(store)
    alva = s.seal(ALVA, FACT)
    s.seal(BO, FACT)
    store._keys[ALVA] = store._keys[BO]  # Bo's key filed under Alva's id
    with pytest.raises(SealedFactError):
        sealer(store).open(alva)


def test_a_destroyed_key_leaves_the_childs_facts_unreadable_and_others_readable() -> None:
    store = MemoryKeyStore()
    s = sealer(store)
    alva, bo = s.seal(ALVA, FACT), s.seal(BO, FACT)
    assert s.destroy(ALVA) is True
    with pytest.raises(ChildKeyDestroyedError) as destroyed:
        s.open(alva)
    assert destroyed.value.child_id == ALVA
    assert str(ALVA) not in str(destroyed.value)
    assert s.open(bo) == FACT
    assert s.is_destroyed(ALVA) and not s.is_destroyed(BO)


def test_a_destroyed_key_is_never_replaced_by_a_new_one() -> None:
    """An erased child gets no new key: nothing more is sealed for it, in any process."""
    store = MemoryKeyStore()
    s = sealer(store)
    s.seal(ALVA, FACT)
    s.destroy(ALVA)
    for anyone in (s, sealer(store)):
        with pytest.raises(ChildKeyDestroyedError):
            anyone.seal(ALVA, FACT)
        with pytest.raises(ChildKeyDestroyedError):
            anyone.seal_row(ALVA, "Alva")
    assert s.destroy(ALVA) is False, "destroying again changes nothing"


def test_a_child_never_seen_can_be_destroyed_ahead_and_then_gets_no_key() -> None:
    store = MemoryKeyStore()
    s = sealer(store)
    assert s.destroy(ALVA) is False
    with pytest.raises(ChildKeyDestroyedError):
        s.seal(ALVA, FACT)


def test_a_fact_whose_key_was_never_stored_is_a_missing_key_not_an_erasure() -> None:
    """A lost or wrong key store must not pass for erased children."""
    sealed = sealer().seal(ALVA, FACT)
    with pytest.raises(ChildKeyMissingError):
        sealer(MemoryKeyStore()).open(sealed)


def test_tombstones_are_skipped_by_the_kek_check_and_by_rotation() -> None:
    store = MemoryKeyStore()
    s = sealer(store, KEK_A)
    s.seal(ALVA, FACT)
    s.seal(BO, FACT)
    s.destroy(ALVA)
    assert store.kek_ids() == [KEK_A.id]
    Keyring([KEK_A]).check(store)
    assert rotate_kek(store, Keyring([KEK_A]), KEK_B) == 1
    assert store.kek_ids() == [KEK_B.id]
    assert store.get(ALVA).destroyed
    Keyring([KEK_B]).check(store)


def test_a_sealed_view_row_opens_only_as_a_row_of_its_own_child() -> None:
    store = MemoryKeyStore()
    s = sealer(store)
    row = s.seal_row(ALVA, '{"given_name":"Alva"}')
    assert "Alva" not in row
    assert s.open_row(row) == '{"given_name":"Alva"}'
    raw = base64.b64decode(row)
    with pytest.raises(SealedFactError):
        s.open(raw)  # a row never passes for a stored fact
    with pytest.raises(SealedFactError):
        s.open_row(base64.b64encode(s.seal(ALVA, b"{}")).decode())  # nor a fact for a row
    s.seal_row(BO, "{}")
    moved = base64.b64encode(raw[:3] + BO.bytes + raw[HEADER:]).decode()
    with pytest.raises(SealedFactError):
        s.open_row(moved)
    with pytest.raises(SealedFactError):
        s.open_row("not base64 at all!")


def test_a_wrong_kek_is_refused_at_the_check_and_on_use() -> None:
    store = MemoryKeyStore()
    sealed = sealer(store, KEK_A).seal(ALVA, FACT)
    with pytest.raises(KekMismatchError, match="the key-encryption key does not open the stored child keys"):
        Keyring([KEK_B]).check(store)
    with pytest.raises(KekMismatchError):
        sealer(store, KEK_B).open(sealed)
    Keyring([KEK_A]).check(store)
    Keyring([KEK_B, KEK_A]).check(store)


def test_a_wrapped_key_changed_in_the_store_is_refused_as_a_wrong_kek() -> None:
    """AES key wrap's integrity check (RFC 3394 §2.2.3) catches a changed wrapped key."""
    store = MemoryKeyStore()
    sealed = sealer(store).seal(ALVA, FACT)
    stored = store.get(ALVA)
    assert stored is not None
    store._keys[ALVA] = WrappedKey(stored.kek_id, bytes([stored.wrapped[0] ^ 1]) + stored.wrapped[1:])
    with pytest.raises(KekMismatchError):
        Keyring([KEK_A]).check(store)
    with pytest.raises(KekMismatchError):
        sealer(store).open(sealed)


def test_two_sealers_creating_a_new_childs_key_at_once_end_with_one_key() -> None:
    store = MemoryKeyStore()
    both_looked = threading.Barrier(2)

    class Racing(MemoryKeyStore):
        """Both see no key, then both insert: the second insert must get the first's key."""

        def __init__(self) -> None:
            self.looked = False

        def get(self, child_id: UUID) -> WrappedKey | None:
            if not self.looked:
                self.looked = True
                found = store.get(child_id)
                both_looked.wait(timeout=10)
                return found
            return store.get(child_id)

        def add(self, child_id: UUID, key: WrappedKey) -> WrappedKey:
            return store.add(child_id, key)

    first, second = sealer(Racing()), sealer(Racing())  # type: ignore[arg-type]
    sealed: dict[str, bytes] = {}
    threads = [threading.Thread(target=lambda n=n, s=s: sealed.__setitem__(n, s.seal(ALVA, FACT))) for n, s in (("a", first), ("b", second))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(store.batch(None, 10)) == 1
    assert first.open(sealed["b"]) == FACT and second.open(sealed["a"]) == FACT


def test_the_key_cache_is_bounded_and_a_child_dropped_from_it_still_opens() -> None:
    s = sealer(cache_size=2)
    children = [uuid4() for _ in range(5)]
    sealed = [s.seal(c, FACT) for c in children]
    assert len(s._cache) == 2
    assert all(s.open(x) == FACT for x in sealed)


def test_rotation_rewraps_every_key_so_that_the_new_kek_alone_opens_the_old_facts() -> None:
    store = MemoryKeyStore()
    old = sealer(store, KEK_A)
    children = [uuid4() for _ in range(7)]
    sealed = [old.seal(c, FACT) for c in children]
    before = {c: store.get(c) for c in children}
    assert rotate_kek(store, Keyring([KEK_B, KEK_A]), KEK_B, batch_size=3) == 7
    assert rotate_kek(store, Keyring([KEK_B, KEK_A]), KEK_B, batch_size=3) == 0  # again: nothing left to do
    assert all(store.get(c).kek_id == KEK_B.id and store.get(c) != before[c] for c in children)  # type: ignore[union-attr]
    Keyring([KEK_B]).check(store)
    assert all(sealer(store, KEK_B).open(x) == FACT for x in sealed)
    with pytest.raises(KekMismatchError):
        Keyring([KEK_A]).check(store)


def test_rotation_cut_short_is_finished_by_running_it_again() -> None:
    store = MemoryKeyStore()
    old = sealer(store, KEK_A)
    children = [uuid4() for _ in range(4)]
    sealed = [old.seal(c, FACT) for c in children]
    first = store.batch(None, 2)
    store.replace([(c, k, Keyring([KEK_B]).wrap(Keyring([KEK_A]).unwrap(k))) for c, k in first])
    with pytest.raises(KekMismatchError):
        Keyring([KEK_B]).check(store)  # half rotated: the new key alone is not enough yet
    Keyring([KEK_B, KEK_A]).check(store)
    assert rotate_kek(store, Keyring([KEK_B, KEK_A]), KEK_B) == 2
    assert all(sealer(store, KEK_B).open(x) == FACT for x in sealed)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("", "holds no key-encryption key", id="empty"),
        pytest.param("# only a comment\n", "holds no key-encryption key", id="only a comment"),
        pytest.param("zz" * 32, "not a hex key", id="not hex"),
        pytest.param("ab" * 16, "32 bytes", id="too short"),
        pytest.param("ab" * 33, "32 bytes", id="too long"),
    ],
)
def test_a_bad_kek_is_refused_without_echoing_it(text: str, message: str) -> None:
    with pytest.raises(KekConfigError, match=message) as refused:
        parse_keks(text, "BACKA_KEK")
    assert not text or text.split()[-1] not in str(refused.value)


def test_kek_files_hold_the_new_key_first_and_are_never_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "kek"
    written = write_kek_file(path)
    assert path.stat().st_mode & 0o777 == 0o600
    assert read_kek_file(path) == [written]
    assert len(written.id) == 8 and written.key.hex() not in repr(written)
    with pytest.raises(KekConfigError, match="never overwritten"):
        write_kek_file(path)
    both = tmp_path / "both"
    both.write_text(f"{KEK_B.key.hex()}  # new\n{KEK_A.key.hex()}\n")
    ring = Keyring(read_kek_file(both))
    assert ring.current == KEK_B and set(ring.ids) == {KEK_A.id, KEK_B.id}
    with pytest.raises(KekConfigError, match="cannot read"):
        read_kek_file(tmp_path / "missing")
