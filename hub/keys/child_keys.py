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
import contextlib
import hashlib
import os
import secrets
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap, aes_key_wrap

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
    """Where the wrapped data keys live, one per child."""

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


class MemoryKeyStore:
    def __init__(self) -> None:
        self._keys: dict[UUID, WrappedKey] = {}
        self._lock = threading.Lock()

    def get(self, child_id: UUID) -> WrappedKey | None:
        return self._keys.get(child_id)

    def add(self, child_id: UUID, key: WrappedKey) -> WrappedKey:
        with self._lock:
            return self._keys.setdefault(child_id, key)

    def destroy(self, child_id: UUID) -> bool:
        with self._lock:
            old = self._keys.get(child_id)
            self._keys[child_id] = TOMBSTONE
        return old is not None and not old.destroyed

    def kek_ids(self) -> list[str]:
        return sorted({k.kek_id for k in self._keys.values() if not k.destroyed})

    def sample(self, kek_id: str) -> WrappedKey | None:
        return next((k for k in self._keys.values() if k.kek_id == kek_id and not k.destroyed), None)

    def batch(self, after: UUID | None, limit: int) -> list[tuple[UUID, WrappedKey]]:
        with self._lock:
            ids = sorted((c for c in self._keys if after is None or c.bytes > after.bytes), key=lambda c: c.bytes)
            return [(c, self._keys[c]) for c in ids[:limit]]

    def replace(self, rows: Sequence[tuple[UUID, WrappedKey, WrappedKey]]) -> int:
        with self._lock:
            changed = [(c, new) for c, old, new in rows if self._keys.get(c) == old]
            self._keys.update(changed)
        return len(changed)

    def close(self) -> None:
        pass


class SQLiteKeyStore:
    """A ``child_keys`` table in a file beside the log: a copy of the log alone opens nothing."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._db = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
        self._lock = threading.Lock()
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA secure_delete=ON")  # freed and overwritten bytes are zeroed
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS child_keys ("
            "child_id BLOB PRIMARY KEY, kek_id TEXT NOT NULL, wrapped BLOB NOT NULL) WITHOUT ROWID"
        )
        os.chmod(self.path, 0o600)

    def _one(self, query: str, params: tuple[Any, ...]) -> WrappedKey | None:
        with self._lock:
            row = self._db.execute(query, params).fetchone()
        return None if row is None else WrappedKey(row[0], bytes(row[1]))

    def get(self, child_id: UUID) -> WrappedKey | None:
        return self._one("SELECT kek_id, wrapped FROM child_keys WHERE child_id = ?", (child_id.bytes,))

    def add(self, child_id: UUID, key: WrappedKey) -> WrappedKey:
        with self._lock:
            self._db.execute(
                "INSERT INTO child_keys (child_id, kek_id, wrapped) VALUES (?, ?, ?) ON CONFLICT (child_id) DO NOTHING",
                (child_id.bytes, key.kek_id, key.wrapped),
            )
        stored = self.get(child_id)
        if stored is None:  # pragma: no cover - the row was just written or found
            raise ChildKeyDestroyedError(child_id)
        return stored

    def destroy(self, child_id: UUID) -> bool:
        """The tombstone is written with ``secure_delete`` on, and the write-ahead log is
        then checkpointed and truncated, so the wrapped key is left neither in the file's
        free space nor in an old frame of the WAL."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                row = self._db.execute("SELECT kek_id FROM child_keys WHERE child_id = ?", (child_id.bytes,)).fetchone()
                self._db.execute(
                    "INSERT INTO child_keys (child_id, kek_id, wrapped) VALUES (?, ?, ?) "
                    "ON CONFLICT (child_id) DO UPDATE SET kek_id = excluded.kek_id, wrapped = excluded.wrapped",
                    (child_id.bytes, DESTROYED, b""),
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return row is not None and row[0] != DESTROYED

    def kek_ids(self) -> list[str]:
        with self._lock:
            return [
                r[0]
                for r in self._db.execute(
                    "SELECT DISTINCT kek_id FROM child_keys WHERE kek_id <> ? ORDER BY kek_id", (DESTROYED,)
                )
            ]

    def sample(self, kek_id: str) -> WrappedKey | None:
        if kek_id == DESTROYED:
            return None
        return self._one("SELECT kek_id, wrapped FROM child_keys WHERE kek_id = ? LIMIT 1", (kek_id,))

    def batch(self, after: UUID | None, limit: int) -> list[tuple[UUID, WrappedKey]]:
        with self._lock:
            rows = self._db.execute(
                "SELECT child_id, kek_id, wrapped FROM child_keys WHERE child_id > ? ORDER BY child_id LIMIT ?",
                (after.bytes if after else b"", limit),
            ).fetchall()
        return [(UUID(bytes=bytes(c)), WrappedKey(k, bytes(w))) for c, k, w in rows]

    def replace(self, rows: Sequence[tuple[UUID, WrappedKey, WrappedKey]]) -> int:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                changed = 0
                for child_id, old, new in rows:
                    changed += self._db.execute(
                        "UPDATE child_keys SET kek_id = ?, wrapped = ? WHERE child_id = ? AND kek_id = ? AND wrapped = ?",
                        (new.kek_id, new.wrapped, child_id.bytes, old.kek_id, old.wrapped),
                    ).rowcount
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return changed

    def close(self) -> None:
        with self._lock:
            self._db.close()


class PostgresKeyStore:
    """A ``child_keys`` table in the hub's schema, reached with the log's connection settings.

    Connections fail as the log's do (eventsourcing's ``OperationalError``), so a request
    that needs a key while the database is away is answered 503 like any other; a broken
    connection is dropped from the pool, so each costs at most one failed request.
    """

    def __init__(
        self, *, dbname: str, host: str, port: int, user: str, password: str, schema: str,
        connect_timeout: int = 5, max_size: int = 4, pre_ping: bool = False,
    ) -> None:
        from psycopg import sql
        from psycopg_pool import ConnectionPool

        self._table = sql.Identifier(schema, "child_keys")
        self._pool = ConnectionPool(
            kwargs={
                "dbname": dbname, "host": host, "port": port, "user": user, "password": password,
                "connect_timeout": connect_timeout, "autocommit": True,
            },
            min_size=1, max_size=max_size, timeout=connect_timeout, open=False,
            check=ConnectionPool.check_connection if pre_ping else None, name="backa-child-keys",
        )
        with self._errors():
            self._pool.open(wait=True, timeout=connect_timeout)
            self._run(
                "CREATE TABLE IF NOT EXISTS {t} (child_id uuid PRIMARY KEY, kek_id text NOT NULL, wrapped bytea NOT NULL)"
            )

    @staticmethod
    @contextlib.contextmanager
    def _errors() -> Iterator[None]:
        import psycopg
        from eventsourcing.persistence import OperationalError
        from psycopg_pool import PoolTimeout

        try:
            yield
        except (psycopg.OperationalError, PoolTimeout) as e:
            raise OperationalError("the key store cannot be reached") from e

    def _run(self, query: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        from psycopg import sql

        with self._errors(), self._pool.connection() as db:
            cur = db.execute(sql.SQL(query).format(t=self._table), params)
            return cur.fetchall() if cur.description else []

    def get(self, child_id: UUID) -> WrappedKey | None:
        rows = self._run("SELECT kek_id, wrapped FROM {t} WHERE child_id = %s", (child_id,))
        return WrappedKey(rows[0][0], bytes(rows[0][1])) if rows else None

    def add(self, child_id: UUID, key: WrappedKey) -> WrappedKey:
        rows = self._run(
            "INSERT INTO {t} (child_id, kek_id, wrapped) VALUES (%s, %s, %s) ON CONFLICT (child_id) DO NOTHING "
            "RETURNING kek_id, wrapped",
            (child_id, key.kek_id, key.wrapped),
        )
        stored = WrappedKey(rows[0][0], bytes(rows[0][1])) if rows else self.get(child_id)
        if stored is None:  # pragma: no cover - the row was just written or found
            raise ChildKeyDestroyedError(child_id)
        return stored

    def destroy(self, child_id: UUID) -> bool:
        """The old row version stays in the table's file until vacuumed, so the table is
        vacuumed at once; what PostgreSQL's write-ahead log and backups still hold is
        made useless by rotating the KEK (see the README)."""
        from psycopg import sql

        with self._errors(), self._pool.connection() as db:
            with db.transaction():
                old = db.execute(
                    sql.SQL("SELECT kek_id FROM {t} WHERE child_id = %s FOR UPDATE").format(t=self._table), (child_id,)
                ).fetchone()
                db.execute(
                    sql.SQL(
                        "INSERT INTO {t} (child_id, kek_id, wrapped) VALUES (%s, %s, %s) ON CONFLICT (child_id) "
                        "DO UPDATE SET kek_id = excluded.kek_id, wrapped = excluded.wrapped"
                    ).format(t=self._table),
                    (child_id, DESTROYED, b""),
                )
            db.execute(sql.SQL("VACUUM {t}").format(t=self._table))
        return old is not None and old[0] != DESTROYED

    def kek_ids(self) -> list[str]:
        return [r[0] for r in self._run("SELECT DISTINCT kek_id FROM {t} WHERE kek_id <> %s ORDER BY kek_id", (DESTROYED,))]

    def sample(self, kek_id: str) -> WrappedKey | None:
        if kek_id == DESTROYED:
            return None
        rows = self._run("SELECT kek_id, wrapped FROM {t} WHERE kek_id = %s LIMIT 1", (kek_id,))
        return WrappedKey(rows[0][0], bytes(rows[0][1])) if rows else None

    def batch(self, after: UUID | None, limit: int) -> list[tuple[UUID, WrappedKey]]:
        rows = self._run(
            "SELECT child_id, kek_id, wrapped FROM {t} WHERE child_id > %s ORDER BY child_id LIMIT %s",
            (after or UUID(int=0), limit),
        )
        return [(UUID(str(c)), WrappedKey(k, bytes(w))) for c, k, w in rows]

    def replace(self, rows: Sequence[tuple[UUID, WrappedKey, WrappedKey]]) -> int:
        from psycopg import sql

        query = sql.SQL(
            "UPDATE {t} SET kek_id = %s, wrapped = %s WHERE child_id = %s AND kek_id = %s AND wrapped = %s"
        ).format(t=self._table)
        changed = 0
        with self._errors(), self._pool.connection() as db, db.transaction():
            for child_id, old, new in rows:
                changed += db.execute(query, (new.kek_id, new.wrapped, child_id, old.kek_id, old.wrapped)).rowcount
        return changed

    def close(self) -> None:
        self._pool.close()


# -- the sealer ---------------------------------------------------------------------------


class ChildKeySealer:
    """Seals each child's facts with that child's data key (the :class:`hub.keys.sealing.Sealer`).

    Unwrapped keys are kept in a bounded LRU cache, so that sealing and opening cost one
    AES-GCM pass and a dictionary look-up; only a child not seen lately costs a look-up
    in the key store (and the first fact of a new child, an insert).
    """

    def __init__(self, store: ChildKeyStore, keyring: Keyring, *, cache_size: int = DEFAULT_CACHE) -> None:
        self.store = store
        self.keyring = keyring
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
        aead = self._aead(UUID(bytes=header[len(MAGIC):]), create=False)
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


def key_store_for(kind: str, data_dir: Path, postgres: Any = None) -> ChildKeyStore:
    """The key store beside the log: ``memory``, ``sqlite`` (``child_keys.sqlite`` in the data
    folder) or ``postgres`` (``postgres`` is the hub's :class:`~hub.runtime.bootstrap.PostgresConfig`)."""
    if kind == "memory":
        return MemoryKeyStore()
    if kind == "postgres":
        return PostgresKeyStore(
            dbname=postgres.dbname, host=postgres.host, port=postgres.port, user=postgres.user,
            password=postgres.password, schema=postgres.schema, connect_timeout=postgres.connect_timeout,
            pre_ping=postgres.pre_ping,
        )
    data_dir.mkdir(parents=True, exist_ok=True)
    return SQLiteKeyStore(data_dir / KEYS_DB)


def configured_keks(kek_file: Path | None, kek_hex: str | None) -> list[Kek]:
    """The KEKs from ``BACKA_KEK_FILE`` then ``BACKA_KEK``, the current one first."""
    keks: list[Kek] = []
    if kek_file is not None:
        keks += read_kek_file(kek_file)
    if kek_hex:
        keks += parse_keks(kek_hex, "BACKA_KEK")
    return keks
