"""Rate limits on signing in, starting sessions and failing tokens (OWASP ASVS V2.2.1,
V11.1.4): so that a burst of sign-ins, of session starts, or of guessed tokens is
answered ``429`` with the seconds to wait, rather than worked through.

Counted per client (its address) and, once a sign-in has named who signs in, per
subject, in fixed windows by :mod:`limits` on the hub's own store
(:mod:`hub.identity.limit_stores`), so every process of a hub counts together. The
counters are keyed by a hash of the address or the subject: neither is stored.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field

from limits import RateLimitItem, parse
from limits.storage import Storage
from limits.strategies import FixedWindowRateLimiter

from hub.errors import TooManyAttemptsError
from hub.identity.principals import Principal
from hub.runtime.clock import Clock


def rate(text: str) -> RateLimitItem:
    """A limit as ``limits`` writes it (``30/minute``, ``100 per hour``); ValueError if not one."""
    return parse(text)


@dataclass(frozen=True)
class LimitRules:
    sign_in_per_client: RateLimitItem
    """Sign-in attempts (pages and ``POST /api/v1/sessions``) from one address."""
    sign_in_per_subject: RateLimitItem
    """Sessions started for one person, from wherever."""
    token_failures_per_client: RateLimitItem
    """Bearer tokens refused for one address."""
    survey_codes_per_client: RateLimitItem = field(default_factory=lambda: rate("10/minute"))
    """Links and codes of the digital conversation tried from one address, right or wrong."""


class Throttle:
    def __init__(self, storage: Storage, clock: Clock, rules: LimitRules) -> None:
        self.storage = storage
        self.clock = clock
        self.rules = rules
        self._limiter = FixedWindowRateLimiter(storage)

    def sign_in(self, client: str) -> None:
        """Count a sign-in attempt from ``client``; refuse it beyond the limit."""
        self._hit(self.rules.sign_in_per_client, "too many sign-ins from this address", "sign-in", client)

    def session_for(self, principal: Principal) -> None:
        """Count a session started for ``principal``; refuse it beyond the limit."""
        self._hit(
            self.rules.sign_in_per_subject, "too many sign-ins as this user", "subject", principal.tenant_id, principal.user_id
        )

    def token_failed(self, client: str) -> None:
        """Count a refused token from ``client``; beyond the limit, raise instead of the refusal."""
        self._hit(self.rules.token_failures_per_client, "too many refused tokens from this address", "token", client)

    def survey_code(self, client: str) -> None:
        """Count a link or code of the digital conversation tried from ``client``; refuse it
        beyond the limit, so codes are not guessed by trying them."""
        self._hit(self.rules.survey_codes_per_client, "too many codes tried from this address", "survey-code", client)

    def _hit(self, item: RateLimitItem, detail: str, kind: str, *ids: str) -> None:
        key = hashlib.sha256("\x1f".join(ids).encode()).hexdigest()[:32]
        if self._limiter.hit(item, kind, key):
            return
        reset = self._limiter.get_window_stats(item, kind, key).reset_time
        wait = max(1, math.ceil(reset - self.clock().timestamp()))
        raise TooManyAttemptsError(f"{detail}; try again later", retry_after=wait)

    def close(self) -> None:
        close = getattr(self.storage, "close", None)
        if close is not None:
            close()


__all__ = ["LimitRules", "Throttle", "rate"]
