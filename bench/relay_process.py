"""The relay in a process of its own, built by ``hub.runtime.relay.build_relay`` as ``backa relay`` builds it.

    python -m bench.relay_process [--poll-interval SECONDS] [--no-listen] [--partition I/N]

Settings come from the ``BACKA_*`` variables (database URL, data folder, NATS URL, unit
keys folder). Without options the relay runs with its defaults, as in production (on
PostgreSQL it wakes on every commit); ``--no-listen`` makes it only poll the log;
``--partition I/N`` makes it one of N relay processes (as ``backa relay --partition``).
SIGTERM stops it cleanly.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
from typing import Any

from adapters.relay_partition import Partition
from hub.runtime.relay import build_relay, relay_root
from hub.runtime.settings import Settings


async def _run(relay: Any) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await relay.run(stop)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.relay_process")
    parser.add_argument("--poll-interval", type=float, default=None)
    parser.add_argument("--no-listen", action="store_true", help="poll the log only; no commit notifications")
    parser.add_argument("--partition", default=None, metavar="I/N", help="deliver for partition I of N relay processes")
    args = parser.parse_args()
    runtime = relay_root(Settings.from_env())
    options: dict[str, Any] = {}
    if args.partition:
        options["partition"] = Partition.parse(args.partition)
    if args.poll_interval is not None:
        options["poll_interval"] = args.poll_interval
    relay = build_relay(runtime, listen=not args.no_listen, **options)
    try:
        asyncio.run(_run(relay))
    finally:
        close = getattr(relay.positions, "close", None)
        if close is not None:
            close()
        runtime.close()


if __name__ == "__main__":
    main()
