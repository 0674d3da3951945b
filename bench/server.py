"""The hub's HTTP API in a process of its own, for the HTTP measures.

    python -m bench.server --port PORT

Settings come from the ``BACKA_*`` variables (the benchmark sets the database URL, the
data folder, demo mode and whether reads are recorded). One uvicorn worker, loopback
only, without access logging: the measure is the hub, not the log lines.
"""

from __future__ import annotations

import argparse

import uvicorn

from hub.http.app import create_app
from hub.runtime.bootstrap import bootstrap
from hub.runtime.settings import Settings


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.server")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    runtime = bootstrap(Settings.from_env())
    try:
        uvicorn.run(
            create_app(runtime),
            host="127.0.0.1",
            port=args.port,
            log_level="warning",
            access_log=False,
            server_header=False,
        )
    finally:
        runtime.close()


if __name__ == "__main__":
    main()
