"""The population register port: who has custody of a child, as folkbokföringen says.

A staff member names a child's guardians at registration; the hub believes a guardian
link only once the population register confirms it (in Sweden Skatteverket's Navet, which
gives a person's vårdnadshavare). The port is one question: the custodians of one child.
An implementation (a file for the demo and tests, a Navet client in production) answers
the 12-digit personnummer of each vårdnadshavare, and raises :class:`OSError`
(``ConnectionError``, ``TimeoutError``, a file that cannot be read) when the register
cannot be asked, or :class:`ValueError` when its answer cannot be read. The hub bounds
every question with a timeout (:class:`RegisterLookup`), whatever the implementation does.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Protocol

from hub.errors import RegisterUnavailableError

log = logging.getLogger("backa.population")


class PopulationRegister(Protocol):
    def custodians(self, child: str) -> Collection[str]:
        """The personnummer (12 digits) of every vårdnadshavare of the child ``child`` (12 digits)."""
        ...


class NoRegister:
    """No register configured: every guardian link stays unconfirmed (deny by default)."""

    def custodians(self, child: str) -> Collection[str]:
        raise ConnectionError("no population register is configured")


class RegisterLookup:
    """Asks the register with a timeout, in a worker thread of its own, so a register that
    hangs never holds a command longer than ``timeout`` seconds. Every failure becomes
    :class:`RegisterUnavailableError`, named by its kind only: the question holds a
    personnummer, which goes into no message or log."""

    def __init__(self, register: PopulationRegister, timeout: float, *, workers: int = 4) -> None:
        if timeout <= 0:
            raise ValueError("the register's timeout must be positive")
        self.register = register
        self.timeout = timeout
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="population-register")

    def custodians(self, child: str) -> Collection[str]:
        future = self._pool.submit(self.register.custodians, child)
        try:
            answer = future.result(timeout=self.timeout)
        except FutureTimeout:
            future.cancel()
            log.warning("the population register did not answer within %.1f s", self.timeout)
            raise RegisterUnavailableError("the population register did not answer in time") from None
        except (OSError, ValueError) as e:
            log.warning("the population register could not be asked: %s", type(e).__name__)
            raise RegisterUnavailableError("the population register cannot be reached") from None
        return answer

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


__all__ = ["NoRegister", "PopulationRegister", "RegisterLookup"]
