"""The hub's side of the delivery reports: a durable pull consumer on the reports stream
(:mod:`contracts.delivery_reports`), run by ``backa relay``, that hands each report to the
hub's store.

- The stream and the consumer are created explicitly (:func:`adapters.nats_link.ensure_stream`);
  every report is acknowledged explicitly once stored.
- Each report is checked strictly: its subject's kind, tenant and unit must be the body's,
  and the body exactly the contract's. A malformed report, or one the hub refuses (a unit
  not of the area it names), is terminated and counted, never stored; what is logged of it
  is its stream sequence and why, never its content.
- When the store cannot take a report now, it is offered again later (``nak`` with a delay).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError
from pydantic import ValidationError

from adapters.delivery_reports import ReportStreamSettings
from adapters.nats_link import Stopped, close_connection, connect, ensure_stream, unless_stopped
from contracts.delivery_reports import REPORT_TYPES, REPORTS_SUBJECTS, DeliveryReport

log = logging.getLogger("backa.reports")

DURABLE = "backa-hub-reports"


class RefusedReport(Exception):
    """The hub will not keep this report (a unit not of the area it names)."""


@dataclass
class IntakeStats:
    stored: int = 0
    refused: int = 0
    """Terminated: malformed, or refused by the hub."""


def parse_report(subject: str, data: bytes) -> DeliveryReport:
    """The report on ``subject``, checked against its contract and its subject; ``ValueError``
    (naming what is wrong, never the content) when it is not one."""
    parts = subject.split(".")
    if len(parts) != 5 or parts[:2] != ["backa", "reports"] or parts[4] not in REPORT_TYPES:
        raise ValueError("not a report subject")
    try:
        report = REPORT_TYPES[parts[4]].model_validate_json(data, strict=True)
    except ValidationError as e:
        fields = sorted({_where(err["type"], err["loc"]) for err in e.errors(include_input=False)})
        raise ValueError(f"not a valid {parts[4]} ({', '.join(fields)})") from None
    if (report.tenant_id, report.unit_id) != (parts[2], parts[3]):
        raise ValueError("the report names another tenant or unit than its subject")
    return report


def _where(kind: str, loc: tuple[int | str, ...]) -> str:
    """A declared field's name, never a name the sender made up (it could be anything)."""
    if kind == "extra_forbidden":
        return "a field the contract does not declare"
    return ".".join(str(x) for x in loc) or "body"


class ReportIntake:
    def __init__(
        self,
        *,
        nats_url: str,
        record: Callable[[DeliveryReport], None],
        stream: ReportStreamSettings | None = None,
        durable: str = DURABLE,
        batch: int = 50,
        fetch_timeout: float = 1.0,
        retry_delay: float = 5.0,
        reconnect_wait: float = 0.5,
    ) -> None:
        """``record`` stores a report (in a worker thread), or raises :class:`RefusedReport`."""
        self.nats_url = nats_url
        self.record = record
        self.stream = stream or ReportStreamSettings()
        self.durable = durable
        self.batch = batch
        self.fetch_timeout = fetch_timeout
        self.retry_delay = retry_delay
        self.reconnect_wait = reconnect_wait
        self.stats = IntakeStats()
        self._nc: Client | None = None
        self._sub: JetStreamContext.PullSubscription | None = None

    async def start(self) -> None:
        """Connect, create the reports stream and the durable consumer (or check them), bind."""
        if self._nc is None or self._nc.is_closed:
            self._nc = await connect(self.nats_url, name="backa-relay-reports", reconnect_wait=self.reconnect_wait)
        js = self._nc.jetstream()
        await ensure_stream(js, self.stream)
        try:
            await js.consumer_info(self.stream.name, self.durable)
        except NotFoundError:
            await js.add_consumer(
                self.stream.name,
                ConsumerConfig(
                    name=self.durable, durable_name=self.durable, description="Backa hub: delivery reports to store",
                    filter_subject=REPORTS_SUBJECTS, deliver_policy=DeliverPolicy.ALL, ack_policy=AckPolicy.EXPLICIT,
                    ack_wait=30.0, max_deliver=-1, max_ack_pending=1000,
                ),
            )
        self._sub = await js.pull_subscribe_bind(self.durable, stream=self.stream.name)

    async def poll(self) -> int:
        """Fetch what is waiting (up to one batch) and handle it; how many were handled."""
        if self._sub is None:
            await self.start()
        if self._sub is None:
            raise RuntimeError("the intake is not bound to its consumer")
        try:
            msgs = await self._sub.fetch(self.batch, timeout=self.fetch_timeout)
        except TimeoutError:
            return 0
        for msg in msgs:
            await self.handle(msg)
        return len(msgs)

    async def handle(self, msg: Msg) -> None:
        seq = msg.metadata.sequence.stream
        try:
            report = parse_report(msg.subject, msg.data)
            await asyncio.to_thread(self.record, report)
        except (ValueError, RefusedReport) as e:
            self.stats.refused += 1
            log.error("delivery report %d is terminated and not stored: %s", seq, e)
            await msg.term()
            return
        except Exception as e:  # noqa: BLE001 - the store is away: the report waits in the stream
            log.warning("delivery report %d cannot be stored now (%s); offered again later", seq, type(e).__name__)
            await msg.nak(delay=self.retry_delay)
            return
        self.stats.stored += 1
        await msg.ack()

    async def run(self, stop: asyncio.Event) -> None:
        """Take reports until ``stop`` is set."""
        delay = 0.5
        try:
            while not stop.is_set():
                try:
                    if self._sub is None:
                        await unless_stopped(stop, self.start())
                    await self.poll()  # at most one fetch timeout: a report being stored is finished, not cut off
                    delay = 0.5
                except Stopped:
                    break
                except asyncio.CancelledError:
                    raise
                except Exception as e:  # noqa: BLE001 - NATS away: wait and try again
                    log.warning("delivery reports: cannot fetch now (%s); trying again in %.1f s", type(e).__name__, delay)
                    self._sub = None
                    try:
                        await asyncio.wait_for(stop.wait(), timeout=delay)
                    except TimeoutError:
                        pass
                    delay = min(delay * 2, 10.0)
        finally:
            await self.close()

    async def close(self) -> None:
        sub, self._sub = self._sub, None
        if sub is not None and self._nc is not None and self._nc.is_connected:
            try:
                await sub.unsubscribe()  # its inbox may hold pull status replies that a drain would wait for
            except Exception as e:  # noqa: BLE001 - the connection may be going; it is closed next
                log.debug("unbinding from the reports consumer: %s", type(e).__name__)
        await close_connection(self._nc, "backa-relay-reports")
        self._nc = None
        self._sub = None


__all__ = ["DURABLE", "IntakeStats", "RefusedReport", "ReportIntake", "parse_report"]
