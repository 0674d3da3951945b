"""End-to-end encryption of a delivery to one unit's public key.

Each delivery is sealed with HPKE (RFC 9180) in base mode, suite
DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-256-GCM: a fresh ephemeral X25519 key per
message, the shared secret stretched by HKDF, the payload sealed by AES-256-GCM. Only the
holder of the unit's private key can open it; the broker, and whoever runs it, see
only ciphertext.

Why this library: ``cryptography`` (pyca) is already a dependency of the hub for its
tokens and keys, is maintained by the Python Cryptographic Authority on OpenSSL, and
has had a standard HPKE implementation since 47.0. Using it means no hand-made key
schedule and no second cryptographic library to keep up to date.

The ``info`` parameter binds each ciphertext to where it was sent (the CloudEvent id,
the NATS subject and the event type), so a ciphertext moved to another message or
another unit's subject no longer opens.

Keys are files: the private key as PKCS#8 PEM (mode 0600), the public key as
SubjectPublicKeyInfo PEM. A key id (``kid``) is the first 16 hex digits of the SHA-256
of the raw public key: it names the key without revealing anything.
"""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.hpke import AEAD, KDF, KEM, Suite

SCHEME = "hpke-base.x25519-sha256.aes256gcm"
"""The scheme name carried in every sealed envelope (RFC 9180 suite 0x0020/0x0001/0x0002)."""

_SUITE = Suite(KEM.X25519, KDF.HKDF_SHA256, AEAD.AES_256_GCM)
_INFO_PREFIX = b"backa.v1 sealed delivery"


class SealError(Exception):
    """A sealed envelope cannot be opened: wrong key, altered bytes, or another message's."""


class KeyFileError(Exception):
    """A key file is missing, unreadable or not an X25519 key."""


def key_id(public_key: X25519PublicKey) -> str:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def context_info(*parts: str) -> bytes:
    """The HPKE ``info`` that binds a ciphertext to the message that carries it."""
    return b"\x00".join([_INFO_PREFIX, *(p.encode() for p in parts)])


@dataclass(frozen=True)
class Sealed:
    """The JSON envelope a CloudEvent carries as its data: no plaintext, only the sealed bytes."""

    kid: str
    ciphertext: bytes
    enc: str = SCHEME

    def to_json(self) -> dict[str, str]:
        return {"enc": self.enc, "kid": self.kid, "ciphertext": base64.b64encode(self.ciphertext).decode()}

    @classmethod
    def from_json(cls, data: object) -> Sealed:
        if not isinstance(data, dict):
            raise SealError("the message data is not a sealed envelope")
        enc, kid, ct = data.get("enc"), data.get("kid"), data.get("ciphertext")
        if enc != SCHEME or not isinstance(kid, str) or not isinstance(ct, str):
            raise SealError("the message data is not a sealed envelope of a known scheme")
        try:
            raw = base64.b64decode(ct, validate=True)
        except ValueError:
            raise SealError("the ciphertext is not base64") from None
        return cls(kid=kid, ciphertext=raw, enc=enc)


def seal(public_key: X25519PublicKey, plaintext: bytes, info: bytes) -> Sealed:
    return Sealed(kid=key_id(public_key), ciphertext=_SUITE.encrypt(plaintext, public_key, info))


def open_sealed(private_key: X25519PrivateKey, sealed: Sealed, info: bytes) -> bytes:
    """The plaintext, or :class:`SealError` when this key or this context does not open it."""
    if sealed.kid != key_id(private_key.public_key()):
        raise SealError("the message was sealed to another key")
    try:
        return _SUITE.decrypt(sealed.ciphertext, private_key, info)
    except (InvalidTag, ValueError) as e:
        raise SealError(f"the message does not open with this key ({type(e).__name__})") from None


# -- key files --------------------------------------------------------------------------


def generate_key_pair(unit_id: str, out_dir: Path, *, overwrite: bool = False) -> tuple[Path, Path]:
    """Write ``<unit_id>.key`` (private, mode 0600) and ``<unit_id>.pub`` into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    private_path, public_path = out_dir / f"{unit_id}.key", out_dir / f"{unit_id}.pub"
    if not overwrite and (private_path.exists() or public_path.exists()):
        raise KeyFileError(f"a key for unit {unit_id} already exists in {out_dir}")
    key = X25519PrivateKey.generate()
    private_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | (0 if overwrite else os.O_EXCL)
    fd = os.open(private_path, flags, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(private_pem)
    os.chmod(private_path, 0o600)
    public_path.write_bytes(public_pem)
    return private_path, public_path


def load_private_key(path: Path) -> X25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as e:
        raise KeyFileError(f"cannot read the private key {path.name}: {type(e).__name__}") from None
    if not isinstance(key, X25519PrivateKey):
        raise KeyFileError(f"{path.name} is not an X25519 private key")
    return key


def load_public_key(path: Path) -> X25519PublicKey:
    try:
        key = serialization.load_pem_public_key(path.read_bytes())
    except (OSError, ValueError, TypeError) as e:
        raise KeyFileError(f"cannot read the public key {path.name}: {type(e).__name__}") from None
    if not isinstance(key, X25519PublicKey):
        raise KeyFileError(f"{path.name} is not an X25519 public key")
    return key


__all__ = [
    "SCHEME",
    "KeyFileError",
    "SealError",
    "Sealed",
    "context_info",
    "generate_key_pair",
    "key_id",
    "load_private_key",
    "load_public_key",
    "open_sealed",
    "seal",
]
