"""The hub's HTTP API in a process of its own, for the HTTP measures.

    python -m bench.server --port PORT [--workers N]

Settings come from the ``BACKA_*`` variables (the benchmark sets the database URL, the
data folder, demo mode and whether reads are recorded). Loopback only, without access
logging: the measure is the hub, not the log lines. With several workers it serves as
``backa serve --workers N`` does: uvicorn's worker processes, each building its runtime
from the environment (:mod:`hub.http.asgi`), after one build here makes what they share.
"""

from __future__ import annotations

import argparse

import uvicorn

from hub.http.app import create_app
from hub.http.asgi import check_workers
from hub.runtime.bootstrap import bootstrap
from hub.runtime.settings import Settings


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.server")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    settings = Settings.from_env(workers=args.workers)
    check_workers(settings)
    runtime = bootstrap(settings)
    options: dict[str, object] = {
        "host": "127.0.0.1", "port": args.port, "log_level": "warning", "access_log": False, "server_header": False,
    }
    if settings.workers > 1:
        runtime.close()
        uvicorn.run("hub.http.asgi:app_from_env", factory=True, workers=settings.workers, **options)  # type: ignore[arg-type]
        return
    try:
        uvicorn.run(create_app(runtime), **options)  # type: ignore[arg-type]
    finally:
        runtime.close()


if __name__ == "__main__":
    main()
