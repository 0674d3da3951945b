"""Per-child encryption of the stored log, under a key-encryption key that can be rotated.

Every child has a data key of its own (DEK, 32 random bytes) that seals that child's
facts with AES-256-GCM. The data keys are stored only wrapped by the key-encryption key
(KEK) with the AES Key Wrap of RFC 3394 (NIST SP 800-38F §6.2, algorithm KW), so that:

- the log, a copy of it or a backup reveals no fact without the KEK *and* the key store;
- rotating the KEK rewraps the small key table and never touches the log, whose stored
  bytes the Merkle tree of :mod:`hub.tlog.leaves` is built over;
- destroying one child's data key makes that child's stored facts unreadable while every
  other child's, and every Merkle proof, stays as it was (erasure by key destruction).

A sealed fact is ``MAGIC | child id (16) | nonce (12) | ciphertext | tag (16)``. The
child id is in the clear so that ``open`` knows which key to use; ``MAGIC`` and the child
id are the AEAD's associated data, so a ciphertext moved to another child's header, or
opened with another child's key, is refused. The nonce is 96 random bits per seal, the
RBG-based construction of NIST SP 800-38D §8.2.2, whose limit of 2**32 seals per key is
far beyond one child's facts. The KEK id is not in the sealed fact: it belongs to the
wrapped key, which rotation changes, and the sealed fact must not change.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.keywrap import (
    InvalidUnwrap,
    aes_key_unwrap,
    aes_key_wrap,
)

MAGIC = b"BK\x01"
"""Format and version of a sealed fact; stored JSON starts with ``{``, never with this."""
ROW_MAGIC = b"BR\x01"
"""Format and version of a sealed view row."""
HEADER = len(MAGIC) + 16
NONCE = 12
TAG = 16
KEK_FILE = "kek.key"
KEYS_DB = "child_keys.sqlite"
DEFAULT_CACHE = 10_000


class ChildKeyError(Exception):
    """A stored fact or a child key cannot be used. Messages never name a child."""


class ChildKeyDestroyedError(ChildKeyError):
    """The child's key was destroyed (the record erased): its facts are unreadable for good,
    and nothing new is sealed for the child."""

    def __init__(self, child_id: UUID) -> None:
        super().__init__("the child's key was destroyed; its record is erased")
        self.child_id = child_id


class ChildKeyMissingError(ChildKeyError):
    """A sealed fact names a child the key store has no key for, not even a destroyed one:
    the key store is not the one the log was written with, or was damaged."""

    def __init__(self, child_id: UUID) -> None:
        super().__init__("no key for a sealed fact is in the key store; is it the log's own key store?")
        self.child_id = child_id


class SealedFactError(ChildKeyError):
    """The stored bytes are not a fact this hub sealed, or were changed since."""


class KekConfigError(ChildKeyError):
    """The key-encryption key is missing or unreadable: the hub does not start."""


class KekMismatchError(KekConfigError):
    """The configured key-encryption key(s) do not unwrap the stored child keys."""

    def __init__(self) -> None:
        super().__init__("the key-encryption key does not open the stored child keys")


# -- key-encryption keys --------------------------------------------------------------


@dataclass(frozen=True)
class Kek:
    """A key-encryption key and its id (the first 8 hex digits of its SHA-256)."""

    key: bytes
    id: str

    @classmethod
    def of(cls, key: bytes) -> Kek:
        if len(key) != 32:
            raise KekConfigError("a key-encryption key is 32 bytes (64 hex digits)")
        return cls(key, hashlib.sha256(key).hexdigest()[:8])

    def __repr__(self) -> str:
        return f"Kek(id={self.id!r})"


def parse_keks(text: str, source: str) -> list[Kek]:
    """Hex keys, one a line or separated by commas or spaces; ``#`` starts a comment."""
    keks = []
    for line in text.splitlines():
        for word in line.split("#", 1)[0].replace(",", " ").split():
            try:
                raw = bytes.fromhex(word)
            except ValueError:
                raise KekConfigError(f"{source} holds something that is not a hex key") from None
            keks.append(Kek.of(raw))
    if not keks:
        raise KekConfigError(f"{source} holds no key-encryption key")
    return keks


def read_kek_file(path: Path) -> list[Kek]:
    try:
        text = Path(path).read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError):
        raise KekConfigError(f"cannot read the key-encryption key file {path}") from None
    return parse_keks(text, f"the key-encryption key file {path}")


def write_kek_file(path: Path) -> Kek:
    """A new random KEK in a new file only its owner can read."""
    kek = Kek.of(secrets.token_bytes(32))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise KekConfigError(f"{path} exists; a key file is never overwritten") from None
    with os.fdopen(fd, "w") as f:
        f.write(kek.key.hex() + "\n")
    return kek


class Keyring:
    """The configured KEKs, the one that wraps new keys first (the others during rotation)."""

    def __init__(self, keks: Sequence[Kek]) -> None:
        if not keks:
            raise KekConfigError("no key-encryption key is configured")
        self.current = keks[0]
        self._by_id = {k.id: k for k in reversed(keks)}

    @property
    def ids(self) -> list[str]:
        return list(self._by_id)

    def wrap(self, dek: bytes) -> WrappedKey:
        return WrappedKey(self.current.id, aes_key_wrap(self.current.key, dek))

    def unwrap(self, wrapped: WrappedKey) -> bytes:
        kek = self._by_id.get(wrapped.kek_id)
        if kek is None:
            raise KekMismatchError()
        try:
            return aes_key_unwrap(kek.key, wrapped.wrapped)
        except InvalidUnwrap:
            raise KekMismatchError() from None

    def check(self, store: ChildKeyStore) -> None:
        """Refuse a KEK that does not open the stored keys, before any request is served:
        one stored key per KEK id must unwrap (RFC 3394 §2.2.3 checks the integrity)."""
        for kek_id in store.kek_ids():
            sample = store.sample(kek_id)
            if sample is not None:
                self.unwrap(sample)


# -- the key store ----------------------------------------------------------------------


@dataclass(frozen=True)
class WrappedKey:
    kek_id: str
    wrapped: bytes

    @property
    def destroyed(self) -> bool:
        return self.kek_id == DESTROYED


DESTROYED = "destroyed"
"""The ``kek_id`` of a tombstone: the row that stays where a destroyed key was, so that an
erased child is told apart from an unknown one and never gets a new key."""
TOMBSTONE = WrappedKey(DESTROYED, b"")


class ChildKeyStore(Protocol):
    """Where the wrapped data keys live, one per child (the stores are in
    :mod:`hub.keys.key_stores`)."""

    def get(self, child_id: UUID) -> WrappedKey | None: ...

    def add(self, child_id: UUID, key: WrappedKey) -> WrappedKey:
        """Store the key unless the child has one already; either way return the stored
        one, so that two processes sealing a new child's first fact end with one key."""
        ...

    def destroy(self, child_id: UUID) -> bool:
        """Replace the child's key with a tombstone (or put one where there was no key),
        leaving as little of the old key behind as the engine allows. True if a live key
        was destroyed now, False if there was none or it was destroyed already."""
        ...

    def kek_ids(self) -> list[str]:
        """The KEK ids live keys are wrapped under (never the tombstones')."""
        ...

    def sample(self, kek_id: str) -> WrappedKey | None: ...

    def batch(self, after: UUID | None, limit: int) -> list[tuple[UUID, WrappedKey]]:
        """Up to ``limit`` keys with child ids above ``after``, in child id order."""
        ...

    def replace(self, rows: Sequence[tuple[UUID, WrappedKey, WrappedKey]]) -> int:
        """In one transaction, set each ``(child, old, new)`` whose stored key is still ``old``."""
        ...

    def close(self) -> None: ...


# -- the sealer ---------------------------------------------------------------------------


class ChildKeySealer:
    """Seals each child's facts with that child's data key (the :class:`hub.keys.sealing.Sealer`).

    Unwrapped keys are kept in a bounded LRU cache, so that sealing and opening cost one
    AES-GCM pass and a dictionary look-up; only a child not seen lately costs a look-up
    in the key store (and the first fact of a new child, an insert).
    """

    def __init__(
        self, store: ChildKeyStore, keyring: Keyring, *, cache_size: int = DEFAULT_CACHE,
        on_close: Callable[[], None] | None = None,
    ) -> None:
        self.store = store
        self.keyring = keyring
        self._on_close = on_close
        """What else to close with the sealer (the store kit it opened its store from)."""
        self.cache_size = max(1, cache_size)
        self._cache: OrderedDict[bytes, AESGCM] = OrderedDict()
        self._lock = threading.Lock()

    def seal(self, child_id: UUID, plaintext: bytes) -> bytes:
        header = MAGIC + child_id.bytes
        nonce = secrets.token_bytes(NONCE)
        return header + nonce + self._aead(child_id, create=True).encrypt(nonce, plaintext, header)

    def open(self, sealed: bytes) -> bytes:
        sealed = bytes(sealed)
        if len(sealed) < HEADER + NONCE + TAG or not sealed.startswith(MAGIC):
            raise SealedFactError("a stored fact is not sealed in a format this hub knows")
        header = sealed[:HEADER]
        key = header[len(MAGIC):]
        with self._lock:  # a cached key is found by the stored bytes, without making the child's UUID
            aead = self._cache.get(key)
            if aead is not None:
                self._cache.move_to_end(key)
        if aead is None:
            aead = self._aead(UUID(bytes=key), create=False)
        try:
            return aead.decrypt(sealed[HEADER:HEADER + NONCE], sealed[HEADER + NONCE:], header)
        except InvalidTag:
            raise SealedFactError("a stored fact does not open: it was changed or sealed for another child") from None

    def seal_row(self, child_id: UUID, text: str) -> str:
        """A view row's personal part, sealed like a fact but under its own format byte
        (so a row can never pass for a stored fact, nor a fact for a row), as base64 text
        for the views' text columns."""
        header = ROW_MAGIC + child_id.bytes
        nonce = secrets.token_bytes(NONCE)
        sealed = header + nonce + self._aead(child_id, create=True).encrypt(nonce, text.encode(), header)
        return base64.b64encode(sealed).decode("ascii")

    def open_row(self, text: str) -> str | None:
        """The row's text, or ``None`` if its child's key was destroyed (the child erased)."""
        try:
            sealed = base64.b64decode(text, validate=True)
        except (ValueError, TypeError):
            raise SealedFactError("a view row is not sealed in a format this hub knows") from None
        if len(sealed) < HEADER + NONCE + TAG or not sealed.startswith(ROW_MAGIC):
            raise SealedFactError("a view row is not sealed in a format this hub knows")
        header = sealed[:HEADER]
        try:
            aead = self._aead(UUID(bytes=header[len(ROW_MAGIC):]), create=False)
        except ChildKeyDestroyedError:
            return None
        try:
            return aead.decrypt(sealed[HEADER:HEADER + NONCE], sealed[HEADER + NONCE:], header).decode()
        except InvalidTag:
            raise SealedFactError("a view row does not open: it was changed or sealed for another child") from None

    def warm(self, sealed: Sequence[bytes]) -> None:
        """Unwrap at once the keys of the children these stored facts are sealed for that
        are not cached, with one query to a store that can fetch many (a rebuild meets a
        new child every few facts, which would otherwise cost a query each)."""
        get_many = getattr(self.store, "get_many", None)
        if not callable(get_many):
            return
        wanted: dict[bytes, UUID] = {}
        with self._lock:
            for state in sealed:
                head = bytes(state[:HEADER])
                if head.startswith(MAGIC) and len(head) == HEADER:
                    key = head[len(MAGIC):]
                    if key not in self._cache and key not in wanted:
                        wanted[key] = UUID(bytes=key)
        if not wanted:
            return
        found: dict[UUID, WrappedKey] = get_many(list(wanted.values()))
        opened = [(c.bytes, AESGCM(self.keyring.unwrap(w))) for c, w in found.items() if not w.destroyed]
        with self._lock:
            for key, aead in opened:
                self._cache[key] = aead
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)

    def is_destroyed(self, child_id: UUID) -> bool:
        """Whether the child's key was destroyed (a key in use here never was)."""
        with self._lock:
            if child_id.bytes in self._cache:
                return False
        wrapped = self.store.get(child_id)
        return wrapped is not None and wrapped.destroyed

    def destroy(self, child_id: UUID) -> bool:
        """Destroy the child's key for good, here and in the key store (see
        :meth:`ChildKeyStore.destroy`); from now on nothing of the child's opens or seals."""
        self.forget_cached(child_id)
        destroyed = self.store.destroy(child_id)
        self.forget_cached(child_id)  # a seal that raced the tombstone may have cached it again
        return destroyed

    def forget_cached(self, child_id: UUID) -> None:
        """Drop a child's unwrapped key from this process."""
        with self._lock:
            self._cache.pop(child_id.bytes, None)

    def close(self) -> None:
        with self._lock:
            self._cache.clear()
        self.store.close()
        if self._on_close is not None:
            self._on_close()

    def _aead(self, child_id: UUID, *, create: bool) -> AESGCM:
        key = child_id.bytes
        with self._lock:
            aead = self._cache.get(key)
            if aead is not None:
                self._cache.move_to_end(key)
                return aead
        wrapped = self.store.get(child_id)
        if wrapped is None:
            if not create:
                raise ChildKeyMissingError(child_id)
            wrapped = self.store.add(child_id, self.keyring.wrap(AESGCM.generate_key(256)))
        if wrapped.destroyed:
            raise ChildKeyDestroyedError(child_id)
        aead = AESGCM(self.keyring.unwrap(wrapped))
        with self._lock:
            self._cache[key] = aead
            if len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return aead


# -- rotation -----------------------------------------------------------------------------


def rotate_kek(store: ChildKeyStore, keyring: Keyring, new: Kek, *, batch_size: int = 500) -> int:
    """Rewrap every child key under ``new``, one transaction per batch; the log is not read.

    ``keyring`` must open the stored keys (the old KEK, and ``new`` if an earlier rotation
    was cut short). Returns how many keys were rewrapped; running it again rewraps none.
    """
    target = Keyring([new])
    after: UUID | None = None
    rewrapped = 0
    while rows := store.batch(after, batch_size):
        after = rows[-1][0]
        changes = [(c, k, target.wrap(keyring.unwrap(k))) for c, k in rows if k.kek_id != new.id and not k.destroyed]
        if changes:
            rewrapped += store.replace(changes)
    return rewrapped


def configured_keks(kek_file: Path | None, kek_hex: str | None) -> list[Kek]:
    """The KEKs from ``BACKA_KEK_FILE`` then ``BACKA_KEK``, the current one first."""
    keks: list[Kek] = []
    if kek_file is not None:
        keks += read_kek_file(kek_file)
    if kek_hex:
        keks += parse_keks(kek_hex, "BACKA_KEK")
    return keks
