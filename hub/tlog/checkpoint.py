"""Signed checkpoints of the log: C2SP signed notes carrying a tlog checkpoint.

A checkpoint commits the hub to the log as it stood: its origin (the log's name), the
number of stored events and the Merkle root over them (see :mod:`hub.tlog.merkle`). The hub
signs it with an Ed25519 key; anyone holding the hub's verifier key can check it offline,
and an auditor who kept an earlier checkpoint can demand a consistency proof to the next.

The formats are the C2SP specifications, enforced clause by clause:

- signed note, https://c2sp.org/signed-note ("signed-note" below): a text ending in a
  newline, a blank line, then lines ``— <key name> <base64(key ID || signature)>``;
- tlog checkpoint, https://c2sp.org/tlog-checkpoint ("tlog-checkpoint"): the text is the
  origin line, the tree size in decimal, the base64 root hash, then optional extension lines.

Everything here is pure: it takes text and keys and returns a verified :class:`Checkpoint`
or raises :class:`NoteError` naming the clause that failed. Nothing is trusted before a
signature from a known key has verified ("The text MUST be ignored unless the note is
signed by a trusted key and the signature has been verified", signed-note).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import Enum

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat

from hub.tlog.merkle import HASH_SIZE, MAX_TREE_SIZE

SIGNATURE_PREFIX = "\u2014 "
"""Each signature line starts with an em dash (U+2014) and a space (signed-note, Format)."""

ED25519 = 0x01
"""The signature type identifier byte of Ed25519 (signed-note, Signature types)."""

KEY_ID_SIZE = 4
ED25519_KEY_SIZE = 32
ED25519_SIGNATURE_SIZE = 64

MAX_SIGNATURES = 100
"""A note with more signature lines is refused; signed-note asks for a limit of at least 16."""

PRIVATE_KEY_PREFIX = "PRIVATE+KEY+"
"""Signer keys are written as golang.org/x/mod/sumdb/note writes them, so existing tools can read them."""


class Rejection(str, Enum):
    """Why a key, note or checkpoint was refused."""

    MALFORMED_KEY = "malformed_key"
    MALFORMED_NOTE = "malformed_note"
    UNKNOWN_KEY = "unknown_key"
    BAD_SIGNATURE = "bad_signature"
    MALFORMED_CHECKPOINT = "malformed_checkpoint"
    BAD_TREE_SIZE = "bad_tree_size"
    BAD_ROOT_HASH = "bad_root_hash"
    WRONG_ORIGIN = "wrong_origin"


class NoteError(ValueError):
    """A key, note or checkpoint was refused: ``reason`` says why and ``clause`` which rule it broke."""

    def __init__(self, reason: Rejection, clause: str, detail: str) -> None:
        super().__init__(f"{clause}: {detail}")
        self.reason = reason
        self.clause = clause
        self.detail = detail


# --- encodings --------------------------------------------------------------------------

_HEX_KEY_ID = re.compile(r"[0-9a-f]{8}")
_TREE_SIZE = re.compile(r"0|[1-9][0-9]*")


def _b64encode(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _b64decode(text: str) -> bytes | None:
    """Standard base64 (RFC 4648 §4) in its one canonical form, or None.

    Only the alphabet and padding are allowed, and re-encoding must give the same text, so
    no byte string has two accepted spellings (no stray whitespace, no non-zero pad bits).
    """
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        return None
    return raw if _b64encode(raw) == text else None


def _valid_key_name(name: str) -> bool:
    """Key names MUST be non-empty and MUST NOT contain any Unicode spaces or plus (signed-note, Format)."""
    return bool(name) and "+" not in name and not any(ch.isspace() or ord(ch) < 0x20 for ch in name)


def key_id(name: str, public_key: bytes) -> bytes:
    """SHA-256(key name || 0x0A || 0x01 || 32-byte Ed25519 public key)[:4] (signed-note, Ed25519 signatures)."""
    return hashlib.sha256(name.encode("utf-8") + b"\n" + bytes([ED25519]) + public_key).digest()[:KEY_ID_SIZE]


def _bad_key(detail: str) -> NoteError:
    return NoteError(Rejection.MALFORMED_KEY, "signed-note, Signatures", detail)


# --- keys -------------------------------------------------------------------------------


@dataclass(frozen=True)
class VerifierKey:
    """A known Ed25519 note key: its name, its 4-byte key ID and its 32-byte public key."""

    name: str
    public_key: bytes
    key_id: bytes = field(init=False)

    def __post_init__(self) -> None:
        if not _valid_key_name(self.name):
            raise _bad_key("a key name is non-empty and holds no spaces or '+'")
        if len(self.public_key) != ED25519_KEY_SIZE:
            raise _bad_key("an Ed25519 public key is 32 bytes")
        object.__setattr__(self, "key_id", key_id(self.name, self.public_key))

    def encode(self) -> str:
        """``<name>+<hex key ID>+<base64(0x01 || public key)>``, the verifier-key string."""
        return f"{self.name}+{self.key_id.hex()}+{_b64encode(bytes([ED25519]) + self.public_key)}"

    def verifies(self, message: bytes, signature: bytes) -> bool:
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(signature, message)
        except InvalidSignature:
            return False
        return True


def parse_verifier_key(text: str) -> VerifierKey:
    """Reads ``<name>+<hex key ID>+<base64(0x01 || public key)>``; the key ID must match the key."""
    name, sep1, rest = text.partition("+")
    hex_id, sep2, key64 = rest.partition("+")
    if not (sep1 and sep2):
        raise _bad_key("a verifier key is <name>+<key ID>+<key>")
    if not _HEX_KEY_ID.fullmatch(hex_id):
        raise _bad_key("a key ID is 8 lowercase hex digits")
    raw = _b64decode(key64)
    if raw is None:
        raise _bad_key("the key is not canonical base64")
    if len(raw) != 1 + ED25519_KEY_SIZE or raw[0] != ED25519:
        raise _bad_key("the key is not an Ed25519 key (type 0x01 and 32 bytes)")
    key = VerifierKey(name, raw[1:])
    if key.key_id.hex() != hex_id:
        raise _bad_key("the key ID does not match the key name and public key")
    return key


@dataclass(frozen=True)
class NoteSigner:
    """An Ed25519 note signing key with its name."""

    name: str
    private_key: Ed25519PrivateKey

    def __post_init__(self) -> None:
        if not _valid_key_name(self.name):
            raise _bad_key("a key name is non-empty and holds no spaces or '+'")

    @classmethod
    def generate(cls, name: str) -> NoteSigner:
        return cls(name, Ed25519PrivateKey.generate())

    @classmethod
    def from_seed(cls, name: str, seed: bytes) -> NoteSigner:
        if len(seed) != ED25519_KEY_SIZE:
            raise _bad_key("an Ed25519 private key seed is 32 bytes")
        return cls(name, Ed25519PrivateKey.from_private_bytes(seed))

    @property
    def public_key(self) -> bytes:
        return self.private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)

    @property
    def key_id(self) -> bytes:
        return key_id(self.name, self.public_key)

    def verifier(self) -> VerifierKey:
        return VerifierKey(self.name, self.public_key)

    def sign(self, message: bytes) -> bytes:
        return self.private_key.sign(message)

    def encode(self) -> str:
        """``PRIVATE+KEY+<name>+<hex key ID>+<base64(0x01 || seed)>``: the secret; keep it out of logs."""
        seed = self.private_key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        return f"{PRIVATE_KEY_PREFIX}{self.name}+{self.key_id.hex()}+{_b64encode(bytes([ED25519]) + seed)}"

    def __repr__(self) -> str:  # never show the private key
        return f"NoteSigner(name={self.name!r}, key_id={self.key_id.hex()})"


def parse_signer_key(text: str) -> NoteSigner:
    """Reads ``PRIVATE+KEY+<name>+<hex key ID>+<base64(0x01 || seed)>``; the key ID must match.

    Error messages never repeat the text: it is a secret.
    """
    if not text.startswith(PRIVATE_KEY_PREFIX):
        raise _bad_key("a signer key starts with PRIVATE+KEY+")
    name, sep1, rest = text[len(PRIVATE_KEY_PREFIX) :].partition("+")
    hex_id, sep2, key64 = rest.partition("+")
    if not (sep1 and sep2) or not _HEX_KEY_ID.fullmatch(hex_id):
        raise _bad_key("a signer key is PRIVATE+KEY+<name>+<key ID>+<key>")
    raw = _b64decode(key64)
    if raw is None or len(raw) != 1 + ED25519_KEY_SIZE or raw[0] != ED25519:
        raise _bad_key("the signer key is not a canonical base64 Ed25519 seed")
    signer = NoteSigner.from_seed(name, raw[1:])
    if signer.key_id.hex() != hex_id:
        raise _bad_key("the key ID does not match the key name and key")
    return signer


# --- signed notes -----------------------------------------------------------------------


@dataclass(frozen=True)
class Signature:
    """One signature line: the key name, the key ID and the signature bytes after it."""

    name: str
    key_id: bytes
    signature: bytes

    def line(self) -> str:
        return f"{SIGNATURE_PREFIX}{self.name} {_b64encode(self.key_id + self.signature)}\n"


@dataclass(frozen=True)
class Note:
    """An opened note: its text, the signatures that verified and those from unknown keys."""

    text: str
    verified: tuple[Signature, ...]
    unverified: tuple[Signature, ...]


def _malformed(detail: str, clause: str = "signed-note, Format") -> NoteError:
    return NoteError(Rejection.MALFORMED_NOTE, clause, detail)


def _check_text(text: str) -> None:
    # "Signed notes MUST be valid UTF-8 and MUST NOT contain any ASCII control characters
    # (those below U+0020) other than newline."  "A signed note consists of a text ending in newline."
    if any(ord(ch) < 0x20 and ch != "\n" for ch in text):
        raise _malformed("a note holds no control characters other than newline")
    if not text.endswith("\n"):
        raise _malformed("the note text ends in a newline")


def sign_note(text: str, *signers: NoteSigner) -> str:
    """The signed note: ``text``, a blank line, and one signature line per signer."""
    if not signers:
        raise ValueError("a signed note needs at least one signer")
    _check_text(text)
    if not _encodable(text):
        raise _malformed("a signed note is valid UTF-8")
    message = text.encode("utf-8")
    lines = [Signature(s.name, s.key_id, s.sign(message)).line() for s in signers]
    return text + "\n" + "".join(lines)


def _parse_signature_line(line: str) -> Signature:
    # "em dash (U+2014), space (U+0020), key name, space, base64-encoded signature, newline"
    if not line.startswith(SIGNATURE_PREFIX):
        raise _malformed("a signature line starts with an em dash and one space")
    name, sep, sig64 = line[len(SIGNATURE_PREFIX) :].partition(" ")
    if not sep or not _valid_key_name(name):
        raise _malformed("a signature line names a key with no spaces or '+'")
    raw = _b64decode(sig64)
    if raw is None:
        raise _malformed("a signature is canonical base64 with nothing after it")
    if len(raw) <= KEY_ID_SIZE:
        raise _malformed("a signature is a 4-byte key ID followed by the signature")
    return Signature(name, raw[:KEY_ID_SIZE], raw[KEY_ID_SIZE:])


def _index_verifiers(verifiers: Iterable[VerifierKey]) -> dict[tuple[str, bytes], VerifierKey]:
    known: dict[tuple[str, bytes], VerifierKey] = {}
    for v in verifiers:
        slot = (v.name, v.key_id)
        if slot in known and known[slot] != v:
            raise ValueError(f"two verifier keys share the name and key ID {v.name}+{v.key_id.hex()}")
        known[slot] = v
    return known


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates
        return False
    return True


def split_note(note: bytes | str) -> tuple[str, list[Signature]]:
    """A note's text and its signature lines, checked for form only.

    Nothing is verified: the text is untrusted until :func:`open_note` says otherwise, so
    use this only to see which keys signed a note (for instance to report an unknown key).
    """
    if isinstance(note, bytes):
        try:
            note = note.decode("utf-8")
        except UnicodeDecodeError:
            raise _malformed("a signed note is valid UTF-8") from None
    elif not _encodable(note):
        raise _malformed("a signed note is valid UTF-8")
    if any(ord(ch) < 0x20 and ch != "\n" for ch in note):
        raise _malformed("a note holds no control characters other than newline")
    # "the text is separated from the signatures by the last empty line in the note"
    split = note.rfind("\n\n")
    if split < 0:
        raise _malformed("a signed note has a blank line before its signatures")
    text, block = note[: split + 1], note[split + 2 :]
    if not block or not block.endswith("\n"):
        raise _malformed("a signed note has a text, a blank line and signature lines each ending in a newline")
    lines = block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise _malformed(f"a note has at most {MAX_SIGNATURES} signatures")
    return text, [_parse_signature_line(line) for line in lines]


def open_note(note: bytes | str, verifiers: Iterable[VerifierKey]) -> Note:
    """Parses a signed note and verifies it against known keys.

    Signatures from unknown keys, even ones that share the name or the ID (but not both) of
    a known key, are set aside. A signature from a known key that fails to verify refuses
    the whole note. A note with no verified signature from a known key is refused.
    """
    text, signatures = split_note(note)
    known = _index_verifiers(verifiers)
    message = text.encode("utf-8")
    verified: list[Signature] = []
    unverified: list[Signature] = []
    for sig in signatures:
        key = known.get((sig.name, sig.key_id))
        if key is None:
            # "Verifiers MUST ignore signatures from unknown keys, even if they share a name or ID"
            unverified.append(sig)
            continue
        # "If the key name and ID match a known key, verifiers MUST verify the signature."
        # "If a signature from a known key fails to verify, clients MAY reject the whole note." We do.
        if len(sig.signature) != ED25519_SIGNATURE_SIZE or not key.verifies(message, sig.signature):
            raise NoteError(
                Rejection.BAD_SIGNATURE,
                "signed-note, Signatures",
                f"the signature by {sig.name}+{sig.key_id.hex()} does not verify",
            )
        if sig not in verified:
            verified.append(sig)
    if not verified:
        # "If no signature from a known key verifies successfully, clients MUST reject the note."
        raise NoteError(
            Rejection.UNKNOWN_KEY, "signed-note, Signatures", "the note carries no signature from a known key"
        )
    return Note(text, tuple(verified), tuple(unverified))


# --- checkpoints ------------------------------------------------------------------------


def _bad_checkpoint(reason: Rejection, detail: str) -> NoteError:
    return NoteError(reason, "tlog-checkpoint, Note text", detail)


@dataclass(frozen=True)
class Checkpoint:
    """The log at one size: its origin, the number of leaves and the root hash over them."""

    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # 1. "The origin MUST be non-empty"; no line may hold a newline or control character.
        if not self.origin or any(ord(ch) < 0x20 for ch in self.origin):
            raise _bad_checkpoint(Rejection.MALFORMED_CHECKPOINT, "the origin is one non-empty line")
        # 2. "the number of leaves in the tree" (a uint64, RFC 9162 §4.12)
        if not isinstance(self.size, int) or isinstance(self.size, bool) or not 0 <= self.size <= MAX_TREE_SIZE:
            raise _bad_checkpoint(Rejection.BAD_TREE_SIZE, "the tree size is a whole number that fits in 64 bits")
        # 3. "the root of the RFC 6962 Merkle hash tree": a SHA-256 hash.
        if not isinstance(self.root_hash, bytes) or len(self.root_hash) != HASH_SIZE:
            raise _bad_checkpoint(Rejection.BAD_ROOT_HASH, "the root hash is 32 bytes")
        # 4. "Extension lines, if any, MUST be non-empty."
        if any(not line or any(ord(ch) < 0x20 for ch in line) for line in self.extensions):
            raise _bad_checkpoint(Rejection.MALFORMED_CHECKPOINT, "extension lines are non-empty single lines")

    def body(self) -> str:
        """The note text: origin, size, base64 root hash and any extension lines, each ending in a newline."""
        lines = [self.origin, str(self.size), _b64encode(self.root_hash), *self.extensions]
        return "".join(line + "\n" for line in lines)


def parse_checkpoint_body(text: str) -> Checkpoint:
    """Reads a checkpoint's note text, refusing any line that is not in its one exact form."""
    # "a sequence of at least three non-empty lines, separated by newlines"
    if not text.endswith("\n"):
        raise _bad_checkpoint(Rejection.MALFORMED_CHECKPOINT, "the checkpoint text ends in a newline")
    lines = text[:-1].split("\n")
    if len(lines) < 3:
        raise _bad_checkpoint(
            Rejection.MALFORMED_CHECKPOINT, "a checkpoint has an origin, a size and a root hash line"
        )
    origin, size_line, root_line, *extensions = lines
    # 2. "the ASCII decimal representation ... with no leading zeroes"
    if len(size_line) > len(str(MAX_TREE_SIZE)) or not _TREE_SIZE.fullmatch(size_line) or not size_line.isascii():
        raise _bad_checkpoint(
            Rejection.BAD_TREE_SIZE, "the tree size is ASCII decimal with no sign, spaces or leading zeroes"
        )
    size = int(size_line)
    # 3. "the base64 encoding of the root"
    root_hash = _b64decode(root_line)
    if root_hash is None or len(root_hash) != HASH_SIZE:
        raise _bad_checkpoint(Rejection.BAD_ROOT_HASH, "the root hash is canonical base64 of 32 bytes")
    return Checkpoint(origin, size, root_hash, tuple(extensions))


def sign_checkpoint(checkpoint: Checkpoint, *signers: NoteSigner) -> str:
    """The checkpoint as a signed note. The log's key name should match the origin (tlog-checkpoint, Signatures)."""
    return sign_note(checkpoint.body(), *signers)


def verify_checkpoint(note: bytes | str, verifiers: VerifierKey | Sequence[VerifierKey], origin: str) -> Checkpoint:
    """The checkpoint in ``note``, once a known key's signature on it verifies and its origin is ``origin``.

    The signature is checked before the text is read at all; then every line must be in its
    exact form, and the origin must be the expected log's, so a checkpoint signed for another
    log by the same key is refused.
    """
    keys = [verifiers] if isinstance(verifiers, VerifierKey) else list(verifiers)
    opened = open_note(note, keys)
    checkpoint = parse_checkpoint_body(opened.text)
    if checkpoint.origin != origin:
        raise _bad_checkpoint(Rejection.WRONG_ORIGIN, "the checkpoint is for another log (its origin line differs)")
    return checkpoint
