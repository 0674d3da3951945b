"""Personal identity numbers: validated, and found only through a keyed blind index.

The number is personal data; the hub never uses it, or a bare hash of it, as a key.
Ids are derived with HMAC-SHA256 under a secret index key, so the same person always
gets the same pseudonymous id and nobody without the key can go from number to id.
Validation (checksum, date, coordination numbers) is the ``personnummer`` package's.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import date
from uuid import UUID

from personnummer.personnummer import Personnummer, PersonnummerException

from hub.errors import InvalidInputError


@dataclass(frozen=True)
class IdentityNumber:
    """A validated personnummer or samordningsnummer in its 12-digit form."""

    digits: str
    birth_date: date
    coordination: bool


def parse_identity_number(value: str, field: str = "personnummer") -> IdentityNumber:
    try:
        parsed = Personnummer(value)
    except (PersonnummerException, ValueError, TypeError):
        raise InvalidInputError(
            "not a valid personal identity number (check digit, date or format)", field=field
        ) from None
    coordination = parsed.is_coordination_number()
    try:
        birth = parsed.get_date()
    except ValueError:
        raise InvalidInputError("the identity number holds no valid date of birth", field=field) from None
    return IdentityNumber(parsed.format(long_format=True), birth, coordination)


class BlindIndex:
    """Derives pseudonymous ids from identity numbers under a secret key."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 32:
            raise ValueError("the blind-index key must be at least 32 bytes")
        self._key = key

    def _mac(self, *parts: str) -> bytes:
        return hmac.new(self._key, "\x1f".join(parts).encode(), hashlib.sha256).digest()

    def digest(self, label: str, *parts: str) -> str:
        """A keyed digest of ``parts`` under ``label``: finds a stored entry by a value
        (a provider's ``sub``) that a copy of the store must not reveal."""
        return self._mac(label, *parts).hex()

    def child_id(self, tenant_id: str, number: IdentityNumber) -> UUID:
        """The child's id in one cooperation area: the same number always gives the same id."""
        return UUID(bytes=self._mac("child", tenant_id, number.digits)[:16], version=4)

    def guardian_id(self, tenant_id: str, number: IdentityNumber) -> str:
        return "g-" + self._mac("guardian", tenant_id, number.digits)[:12].hex()
