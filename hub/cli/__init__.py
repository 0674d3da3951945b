"""``backa``: serve the hub, load and serve the demo, issue demo tokens, export the schemas.

Nothing is read or built at import time: settings are read when a command runs.

    backa serve [--host 127.0.0.1] [--port 8000] [--workers N] [--data-dir DIR] [--checkpoint-key FILE] [--witness DIR]
    backa demo  [--host] [--port] [--data-dir DIR] [--children N] [--seed N] [--reset] [--load-only] [--database-url URL]
    backa token USER [--data-dir DIR]
    backa schemas export [--out DIR]
    backa relay [--data-dir DIR] [--nats URL] [--keys DIR] [--partition I/N | --repartition N]
    backa subscribe --unit UNIT --key KEYFILE [--tenant T] [--nats URL] [--out FILE.jsonl | --post URL]
                    [--secret-file FILE | --unsigned] [--dead-letters FILE] [--attempts N]
    backa webhooks new-secret --out FILE
    backa webhooks dead-letters --file FILE (--list | --replay [ID ...] --secret-file FILE [--post URL] [--nats URL --unit UNIT])
    backa keys generate --unit UNIT --out DIR
    backa keys new-kek --out FILE
    backa keys rotate-kek --new FILE [--data-dir DIR]
    backa audit verify [--data-dir DIR] [--witness DIR] [--key KEY] [--checkpoint FILE ...]
    backa audit checkpoint [--data-dir DIR] [--checkpoint-key FILE] [--witness DIR] [--out FILE]
    backa audit witness adopt [--data-dir DIR] [--witness DIR] [--key KEY] [--checkpoint FILE ...]
    backa forget CHILD --reason TEXT [--data-dir DIR]   (the administrator's token in BACKA_TOKEN)
    backa guardians check (CHILD | --all [--dry-run]) [--data-dir DIR]   (a token in BACKA_TOKEN)
    backa consents remind [--at MOMENT] [--dry-run] [--data-dir DIR]   (the administrator's token in BACKA_TOKEN)
    backa views rebuild [--processes N] [--page N] [--from-scratch] [--data-dir DIR]   (with the hub stopped)
    backa views prune [--grace-seconds S] [--at MOMENT] [--data-dir DIR]
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
EXIT_REFUSED = 2


def _say(*parts: object) -> None:
    print(*parts, file=sys.stderr, flush=True)


def _settings(args: argparse.Namespace, **overrides: Any) -> Any:
    from hub.runtime.settings import Settings

    return Settings.from_env(
        data_dir=getattr(args, "data_dir", None),
        checkpoint_key_file=getattr(args, "checkpoint_key", None),
        witness_dir=getattr(args, "witness", None),
        **overrides,
    )


def _serve(runtime: Any, host: str, port: int) -> None:
    import uvicorn

    from hub.http.app import create_app

    app = create_app(runtime)
    try:
        # No access log: request lines carry child ids and the free-text purpose of a read.
        # X-Forwarded-For only from the proxies named: uvicorn otherwise believes any local caller's.
        proxies = runtime.settings.forwarded_allow_ips.strip()
        uvicorn.run(
            app, host=host, port=port, log_level="info", server_header=False, access_log=False,
            proxy_headers=bool(proxies), forwarded_allow_ips=proxies or None,
        )
    finally:
        runtime.close()


def _serve_workers(settings: Any, host: str, port: int) -> None:
    """``settings.workers`` uvicorn worker processes, each building its own runtime from the
    environment (:mod:`hub.http.asgi`) while it already answers ``/health``; the flags are
    handed to them as ``BACKA_*`` variables."""
    import os

    import uvicorn

    for name, value in (
        ("BACKA_DATA_DIR", settings.data_dir),
        ("BACKA_CHECKPOINT_KEY_FILE", settings.checkpoint_key_file),
        ("BACKA_WITNESS_DIR", settings.witness_dir),
    ):
        if value is not None:
            os.environ[name] = str(value)
    proxies = settings.forwarded_allow_ips.strip()
    uvicorn.run(
        "hub.http.asgi:staged_app_from_env", factory=True, workers=settings.workers, host=host, port=port, log_level="info",
        server_header=False, access_log=False, proxy_headers=bool(proxies), forwarded_allow_ips=proxies or None,
    )


def _serve_staged(settings: Any, host: str, port: int) -> None:
    """Listen at once and build the hub meanwhile (:mod:`hub.http.staged`): ``/health`` answers
    from the first moment, however long the imports and the build take. A build that fails
    stops the server, and its error is raised here as if the hub had never listened."""
    import uvicorn

    from hub.http.staged import StagedApp

    def build() -> Any:
        from hub.http.asgi import served_app

        return served_app(settings)

    class Server(uvicorn.Server):
        async def startup(self, sockets: Any = None) -> None:
            await super().startup(sockets=sockets)
            if not self.should_exit:
                app.start()  # once listening: /health does not wait for the hub's imports

    app = StagedApp(build, build_at_startup=False)
    proxies = settings.forwarded_allow_ips.strip()
    server = Server(uvicorn.Config(
        app, host=host, port=port, log_level="info", server_header=False, access_log=False, lifespan="on",
        proxy_headers=bool(proxies), forwarded_allow_ips=proxies or None,
    ))

    def stop() -> None:
        server.should_exit = True

    app.on_failure = stop
    try:
        server.run()
    finally:
        app.close()
    if app.failure is not None:
        raise app.failure


def cmd_serve(args: argparse.Namespace) -> int:
    from hub.http.asgi import WorkersNeedPostgresError, check_workers
    from hub.runtime.store_choice import store_kind

    settings = _settings(args, workers=args.workers)
    try:
        check_workers(settings)
    except WorkersNeedPostgresError as e:
        _say(f"backa serve: {e}")
        return EXIT_REFUSED
    where = "PostgreSQL" if store_kind(settings) == "postgres" else f"{settings.store} store"
    _say(f"Backa barnet hub: data in {settings.data_dir.resolve()} ({where})")
    _say(f"  health   http://{args.host}:{args.port}/health")
    _say(f"  OpenAPI  http://{args.host}:{args.port}/api/v1/schema/openapi.json")
    if settings.workers == 1:
        try:
            _serve_staged(settings, args.host, args.port)
        except WorkersNeedPostgresError as e:
            _say(f"backa serve: {e}")
            return EXIT_REFUSED
        return 0
    from hub.runtime.bootstrap import bootstrap

    # Built once here before any worker starts: keys, tables and the views' catching up are
    # then done by one process, not raced by several on a first start.
    bootstrap(settings).close()
    _say(f"  {settings.workers} worker processes")
    _serve_workers(settings, args.host, args.port)
    return 0


def _progress_printer() -> Any:
    began = time.perf_counter()

    def progress(done: int, total: int) -> None:
        _say(f"  demo: {done}/{total} children loaded ({time.perf_counter() - began:.0f} s)")

    return progress


def cmd_demo(args: argparse.Namespace) -> int:
    from hub import demo
    from hub.runtime.bootstrap import bootstrap

    settings = demo_settings(args)
    data_dir: Path = settings.data_dir
    where = _demo_place(settings)
    if demo.has_hub_data(data_dir) and not demo.is_demo_folder(data_dir):
        _say(f"backa demo: {data_dir} holds a hub that was not loaded by `backa demo`; it is left untouched.")
        _say("  Give the demo another folder with --data-dir.")
        return EXIT_REFUSED
    reload = args.reset or not demo.demo_ready(data_dir)
    if reload and settings.store == "postgres" and _holds_a_log(settings):
        _say(f"backa demo: {where} already holds a hub's log; it is left untouched.")
        _say("  Give the demo an empty schema (?schema=... in the database URL).")
        return EXIT_REFUSED
    if reload:
        if demo.is_demo_folder(data_dir) and not args.reset:
            _say("backa demo: the previous demo load did not finish; loading again")
        _say(f"backa demo: loading the Ystad demo ({args.children} children) into {where}")
        try:
            summary = demo.build_demo_data(settings, children=args.children, seed=args.seed, progress=_progress_printer())
        except demo.DemoFolderError as e:
            _say(f"backa demo: {e}")
            return EXIT_REFUSED
        _say(f"  {summary.children} children, {summary.facts} facts in {summary.seconds:.1f} s")
    else:
        _say(f"backa demo: serving the demo already in {where} (use --reset to load it again)")
    _print_demo_help(args, data_dir)
    if args.load_only:
        return 0
    runtime = bootstrap(settings)
    _serve(runtime, args.host, args.port)
    return 0


def demo_settings(args: argparse.Namespace) -> Any:
    """The demo's settings: its own SQLite files in the data folder, or, with a database URL
    (``--database-url`` or ``BACKA_DATABASE_URL``), the log and the views in that PostgreSQL
    schema while the demo's users and keys stay in the folder."""
    url = getattr(args, "database_url", None)
    settings = _settings(args, demo_mode=True, **({"database_url": url} if url else {}))
    return settings.model_copy(update={"store": "postgres" if settings.database_url else "sqlite"})


def _holds_a_log(settings: Any) -> bool:
    """Whether the settings' PostgreSQL schema holds facts already (a demo loads into an empty one)."""
    from psycopg import sql

    from hub.runtime.stores import APP_NAME, PostgresKit, store_kit

    kit = store_kit(settings)
    try:
        if not isinstance(kit, PostgresKit):
            return False
        events = sql.Identifier(kit.config.schema, f"{APP_NAME}_events")
        with kit.datastore.get_connection() as conn:
            found = conn.execute("SELECT to_regclass(%s) AS t", (events.as_string(conn),)).fetchone()
            if found is None or found["t"] is None:
                return False
            return conn.execute(sql.SQL("SELECT 1 FROM {0} LIMIT 1").format(events)).fetchone() is not None
    finally:
        kit.close()


def _demo_place(settings: Any) -> str:
    """Where the demo's data goes, as said to the user (never the database's password)."""
    if settings.store != "postgres":
        return str(settings.data_dir.resolve())
    from hub.runtime.stores import PostgresConfig

    config = PostgresConfig.from_url(settings.database_url)
    folder = settings.data_dir.resolve()
    return f"PostgreSQL {config.host}:{config.port}/{config.dbname}, schema {config.schema} (users and keys in {folder})"


def _print_demo_help(args: argparse.Namespace, data_dir: Path) -> None:
    from hub import demo

    users = demo.demo_users(data_dir)
    families = [name for name, u in users.items() if u["kind"] != "staff"]
    folder = f" --data-dir {shlex.quote(str(args.data_dir))}" if args.data_dir else ""
    base = f"http://{args.host}:{args.port}"
    _say("")
    _say(f"  Open {base}/ in a browser: the start page lets you sign in as any demo user.")
    _say(f"  Demo users are listed in {demo.demo_folder(data_dir) / demo.USERS_FILE}:")
    _say("    staff   karin.holm (BVC), henrik.olsson (Barnkontakt, Norreportskolan), eva.bjork (Stödsamordnare),")
    _say("            jonas.wikstrom (socialtjänsten), lars.ahlgren (loggranskare), ... ")
    _say(f"    family  {', '.join(families[:6])}{', ...' if len(families) > 6 else ''}")
    _say("  Get a token (in another terminal):")
    _say(f"    TOKEN=$({_program()} token henrik.olsson{folder})")
    _say(f"    curl -H \"Authorization: Bearer $TOKEN\" {base}/api/v1/case-list")
    _say(f"  OpenAPI: {base}/api/v1/schema/openapi.json   health: {base}/health")
    _say("")


def _program() -> str:
    """How ``backa`` was called, so the hints can be pasted as they are (``.venv/bin/backa``)."""
    called = Path(sys.argv[0]) if sys.argv and sys.argv[0] else Path("backa")
    return shlex.quote(str(called)) if called.name == "backa" else "backa"


def cmd_token(args: argparse.Namespace) -> int:
    from hub import demo

    settings = _settings(args)
    try:
        token = demo.issue_demo_token(settings.data_dir, args.user, audience=settings.audience)
    except demo.DemoFolderError as e:
        _say(f"backa token: {e}")
        return EXIT_REFUSED
    print(token)
    return 0


def cmd_schemas_export(args: argparse.Namespace) -> int:
    from contracts.schemas import export_schemas

    written = export_schemas(Path(args.out))
    _say(f"backa schemas: wrote {len(written)} files to {Path(args.out).resolve()}")
    return 0


def _log_to_stderr() -> None:
    import logging

    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


async def _until_signalled(run: Any) -> None:
    """Run ``run(stop)`` until SIGINT or SIGTERM sets ``stop``."""
    import asyncio
    import signal

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await run(stop)


def cmd_relay(args: argparse.Namespace) -> int:
    import asyncio

    from adapters.relay_partition import Partition, RelayPartitionError
    from hub.runtime.relay import RelayConfigError, build_relay, relay_root, repartition

    _log_to_stderr()
    try:
        partition = Partition.parse(args.partition) if args.partition else None
    except RelayPartitionError as e:
        _say(f"backa relay: {e}")
        return EXIT_REFUSED
    overrides = {"relay_partition": partition.index, "relay_partitions": partition.count} if partition else {}
    settings = _settings(args, nats_url=args.nats, unit_keys_dir=args.keys, **overrides)
    try:
        runtime = relay_root(settings)
    except RelayConfigError as e:
        _say(f"backa relay: {e}")
        return EXIT_REFUSED
    from adapters.nats_link import StreamSetupError

    if args.repartition is not None:
        try:
            at = asyncio.run(repartition(runtime, args.repartition))
        except (RelayConfigError, RelayPartitionError, StreamSetupError) as e:
            _say(f"backa relay: {e}")
            return EXIT_REFUSED
        finally:
            runtime.close()
        _say(f"backa relay: {args.repartition} partition(s) now start at log position {at.position}")
        return 0
    try:
        relay = build_relay(runtime)
    except (RelayConfigError, RelayPartitionError) as e:
        runtime.close()
        _say(f"backa relay: {e}")
        return EXIT_REFUSED
    _say(
        f"backa relay: delivering from {settings.data_dir.resolve()} to {settings.nats_url} (stream {relay.stream.name}, "
        f"partition {relay.partition})"
    )
    from hub.runtime.delivery_reports import build_report_intake

    intake, keeper = build_report_intake(runtime)  # the agencies' reports of webhooks no receiver took

    async def both(stop: asyncio.Event) -> None:
        await asyncio.gather(relay.run(stop), intake.run(stop))

    try:
        asyncio.run(_until_signalled(both))
    except StreamSetupError as e:
        _say(f"backa relay: {e}")
        return EXIT_REFUSED
    finally:
        relay.positions.close()  # type: ignore[attr-defined]
        keeper.close()
        runtime.close()
    _say(f"backa relay: stopped at log position {relay.position.position}")
    return 0


def cmd_subscribe(args: argparse.Namespace) -> int:
    import asyncio

    from adapters.agency_subscriber import (
        AgencySubscriber,
        HttpPostSink,
        JsonLinesSink,
        ProcessedIds,
        SubscriberSetupError,
        consumer_name,
    )
    from adapters.sealed_box import KeyFileError, load_private_key

    _log_to_stderr()
    try:
        key = load_private_key(args.key)
    except KeyFileError as e:
        _say(f"backa subscribe: {e}")
        return EXIT_REFUSED
    url = args.nats or _settings(args).nats_url or "nats://127.0.0.1:4222"
    durable = args.durable or consumer_name(args.unit, args.tenant)
    sink: Any
    if args.post and args.secret_file:
        sink = _signed_sink(args, durable)
        if isinstance(sink, int):
            return sink
    elif args.post and args.unsigned:
        sink = HttpPostSink(args.post)
    elif args.post:
        _say("backa subscribe: --post signs each delivery with the unit's --secret-file; --unsigned posts without")
        return EXIT_REFUSED
    else:
        sink = JsonLinesSink(args.out)
    state = args.state or (
        Path(f"{args.out}.seen.sqlite") if args.out else Path(f"{durable}.seen.sqlite")
    )
    processed = ProcessedIds(state)
    try:
        subscriber = AgencySubscriber(
            nats_url=url, unit_id=args.unit, tenant_id=args.tenant, private_key=key, sink=sink,
            processed=processed, durable=durable,
        )
        _say(f"backa subscribe: unit {args.unit} (consumer {durable}, key {subscriber.kid}) on {url}")
        if hasattr(sink, "reporter"):  # the hub's administrator is told of each dead letter, over this connection
            from adapters.delivery_reports import DeliveryReporter

            sink.reporter = DeliveryReporter(args.unit, lambda: subscriber.js)

        async def run(stop: asyncio.Event) -> None:
            if hasattr(sink, "sender"):
                sink.sender.stop_on(stop)  # a stop does not wait out a signed post's retries
            await subscriber.run(stop)

        asyncio.run(_until_signalled(run))
    except SubscriberSetupError as e:
        _say(f"backa subscribe: {e}")
        return EXIT_REFUSED
    finally:
        processed.close()
        sink.close()
    stats = subscriber.stats
    dead = f", {sink.dead_lettered} dead-lettered" if hasattr(sink, "dead_lettered") else ""
    _say(
        f"backa subscribe: stopped; {stats.delivered} handed over{dead}, {stats.duplicates} repeats ignored, "
        f"{len(stats.rejections)} could not be opened"
    )
    return 0


def _signed_sink(args: argparse.Namespace, durable: str) -> Any:
    from adapters.signed_webhooks import DeadLetters, RetryPolicy, SecretFileError, SignedWebhookSink, WebhookSender, load_secrets

    try:
        hooks = load_secrets(args.secret_file)
    except SecretFileError as e:
        _say(f"backa subscribe: {e}")
        return EXIT_REFUSED
    dead_letters = DeadLetters(args.dead_letters or Path(f"{durable}.dead-letters.sqlite"))
    return SignedWebhookSink(args.post, WebhookSender(hooks, policy=RetryPolicy(attempts=args.attempts)), dead_letters)


def cmd_webhooks_new_secret(args: argparse.Namespace) -> int:
    from adapters.signed_webhooks import SecretFileError, write_secret

    try:
        write_secret(args.out)
    except SecretFileError as e:
        _say(f"backa webhooks: {e}")
        return EXIT_REFUSED
    _say(f"backa webhooks: wrote a new secret to {args.out} (readable by its owner only)")
    return 0


def cmd_webhooks_dead_letters(args: argparse.Namespace) -> int:
    import asyncio

    from adapters.signed_webhooks import DeadLetters, RetryPolicy, SecretFileError, WebhookSender, load_secrets, replay

    if not args.file.exists():
        _say(f"backa webhooks: no dead-letter file {args.file}")
        return EXIT_REFUSED
    dead_letters = DeadLetters(args.file)
    try:
        if args.replay is None:
            for d in dead_letters.list():
                print(f"{d.id}\t{d.failed_at}\t{d.attempts}\t{d.reason}\t{d.url}")
            return 0
        if args.secret_file is None:
            _say("backa webhooks: --replay signs with the unit's --secret-file")
            return EXIT_REFUSED
        try:
            sender = WebhookSender(load_secrets(args.secret_file), policy=RetryPolicy(attempts=args.attempts))
        except SecretFileError as e:
            _say(f"backa webhooks: {e}")
            return EXIT_REFUSED
        outcomes = asyncio.run(_replay_reporting(args, dead_letters, sender, replay))
        for msg_id, outcome in outcomes:
            print(f"{msg_id}\t{'delivered' if outcome.accepted else 'kept: ' + outcome.reason}")
        return 0 if all(o.accepted for _, o in outcomes) else 1
    finally:
        dead_letters.close()


async def _replay_reporting(args: argparse.Namespace, dead_letters: Any, sender: Any, replay: Any) -> Any:
    """The replay; with ``--nats`` and ``--unit``, each delivered one is reported to the hub."""
    import asyncio

    if not (args.nats and args.unit):
        return await replay(dead_letters, sender, ids=args.replay, url=args.post)
    from adapters.delivery_reports import DeliveryReporter
    from adapters.nats_link import close_connection, connect

    try:
        nc = await asyncio.wait_for(connect(args.nats, name=f"backa-webhooks-{args.unit}"), timeout=10)
    except Exception as e:  # noqa: BLE001 - the replay goes ahead; only the report to the hub is lost
        _say(f"backa webhooks: NATS cannot be reached ({type(e).__name__}); the hub is not told of this replay")
        return await replay(dead_letters, sender, ids=args.replay, url=args.post)
    try:
        js = nc.jetstream()
        reporter = DeliveryReporter(args.unit, lambda: js)
        return await replay(dead_letters, sender, ids=args.replay, url=args.post, reporter=reporter)
    finally:
        await close_connection(nc, f"backa-webhooks-{args.unit}")


def cmd_keys_generate(args: argparse.Namespace) -> int:
    from adapters.deliveries import is_subject_token
    from adapters.sealed_box import KeyFileError, generate_key_pair, key_id, load_public_key

    if not is_subject_token(args.unit):
        _say("backa keys: a unit id is letters, digits, '-' and '_'")
        return EXIT_REFUSED
    try:
        private_path, public_path = generate_key_pair(args.unit, args.out)
    except KeyFileError as e:
        _say(f"backa keys: {e}")
        return EXIT_REFUSED
    _say(f"backa keys: key {key_id(load_public_key(public_path))} for unit {args.unit}")
    _say(f"  private  {private_path}  (keep it at the agency; mode 0600)")
    _say(f"  public   {public_path}  (put it in the hub's BACKA_UNIT_KEYS_DIR)")
    return 0


def cmd_keys_new_kek(args: argparse.Namespace) -> int:
    from hub.keys.child_keys import KekConfigError, write_kek_file

    try:
        kek = write_kek_file(args.out)
    except KekConfigError as e:
        _say(f"backa keys: {e}")
        return EXIT_REFUSED
    _say(f"backa keys: key-encryption key {kek.id} written to {args.out} (mode 0600)")
    return 0


def cmd_keys_rotate_kek(args: argparse.Namespace) -> int:
    """Rewrap every child key under the new KEK; the log is neither read nor written."""
    from hub.runtime.stores import store_kind, store_kit
    from hub.keys.child_keys import KEK_FILE, KEYS_DB, KekConfigError, Keyring, configured_keks, read_kek_file, rotate_kek

    settings = _settings(args)
    kind = store_kind(settings)
    if kind == "memory":
        _say("backa keys: the memory store keeps no keys to rotate")
        return EXIT_REFUSED
    if kind == "sqlite" and not (settings.data_dir / KEYS_DB).exists():
        _say(f"backa keys: {settings.data_dir.resolve()} holds no child keys")
        return EXIT_REFUSED
    new = read_kek_file(args.new)[0]
    old = configured_keks(settings.kek_file, settings.kek.get_secret_value() if settings.kek else None)
    if not old and (settings.data_dir / KEK_FILE).exists():
        old = read_kek_file(settings.data_dir / KEK_FILE)
    if not old:
        raise KekConfigError("the current key-encryption key is needed to rotate: set BACKA_KEK_FILE")
    ring = Keyring([new, *old])
    kit = store_kit(settings)
    try:
        store = kit.key_store()
        try:
            ring.check(store)
            count = rotate_kek(store, ring, new)
        finally:
            store.close()
    finally:
        kit.close()
    _say(f"backa keys: {count} child keys rewrapped under key-encryption key {new.id}; the log was not touched")
    _say(f"  start the hub with BACKA_KEK_FILE={args.new}; the old key-encryption key is no longer needed")
    return 0


EXIT_FAILED = 1


def _audit_inputs(args: argparse.Namespace, settings: Any, places: Any) -> tuple[Any, Any, list[tuple[str, str]]] | int:
    """The witness (its folder and key; the key None when its folder holds none), the log's
    verifier key and the kept checkpoints, or the exit code of a refusal."""
    from hub.tlog.checkpoint import NoteError
    from hub.tlog.store import read_verifier_arg, read_verifier_key
    from hub.tlog.witness import WITNESS_PUB_FILE, read_pinned_log_key, read_witness_key

    folder = places.witness_dir
    witness = None
    try:
        if folder is not None:
            witness = (folder, read_witness_key(folder) if (folder / WITNESS_PUB_FILE).exists() else None)
        pinned = read_pinned_log_key(folder) if folder is not None else None
    except (NoteError, OSError) as e:
        _say(f"backa audit: the witness in {folder} cannot be read: {e}")
        return EXIT_REFUSED
    try:
        # The key the witness pinned is trusted over the one in the data folder, which a
        # writer of the data folder could replace along with every checkpoint.
        key = read_verifier_arg(args.key) if args.key else pinned or read_verifier_key(settings.data_dir)
    except (NoteError, OSError) as e:
        _say(f"backa audit: no verifier key to check the checkpoints with: {e}")
        return EXIT_REFUSED
    kept = []
    for path in args.checkpoint:
        try:
            kept.append((str(path), Path(path).read_text(encoding="utf-8")))
        except (OSError, UnicodeDecodeError):
            _say(f"backa audit: cannot read the kept checkpoint {path}")
            return EXIT_REFUSED
    return witness, key, kept


def _run_audit(settings: Any, key: Any, kept: list[tuple[str, str]], witness: Any) -> Any:
    """The report of ``backa audit verify``, said line by line; an int when the store cannot be read."""
    from eventsourcing.persistence import InterfaceError, OperationalError

    from hub.runtime.log_recorder import open_log_recorder
    from hub.tlog.errors import TransparencyError
    from hub.tlog.verify import audit

    try:
        with open_log_recorder(settings) as recorder:
            report = audit(recorder, settings.data_dir, key, kept, witness)
    except TransparencyError as e:
        _say(f"backa audit: {e.detail}")
        return EXIT_REFUSED
    except (OperationalError, InterfaceError):
        _say("backa audit: the event store cannot be reached")
        return EXIT_REFUSED
    for line in report.holds:
        _say(f"  holds: {line}")
    for line in report.problems:
        _say(f"  FAILS: {line}")
    if not report.ok:
        where = f"; first bad log position {report.first_bad_position}" if report.first_bad_position is not None else ""
        _say(f"backa audit: the log does NOT verify{where}")
    return report


def cmd_audit_verify(args: argparse.Namespace) -> int:
    from hub.runtime.checkpoints import checkpoint_places

    settings = _settings(args)
    inputs = _audit_inputs(args, settings, checkpoint_places(settings, starting=False))
    if isinstance(inputs, int):
        return inputs
    witness, key, kept = inputs
    report = _run_audit(settings, key, kept, witness)
    if isinstance(report, int):
        return report
    if not report.ok:
        return EXIT_FAILED
    _say("backa audit: the log verifies")
    return 0


def cmd_audit_witness_adopt(args: argparse.Namespace) -> int:
    """Start a witness that lost its record from the log's current checkpoint, and only
    after the whole log verifies against every checkpoint the data folder holds (and the
    ones kept with ``--checkpoint``): the hub itself never starts a witness afresh once
    checkpoints were signed, since it would trust whatever the log says today."""
    from hub.runtime.checkpoints import checkpoint_places, witness_of
    from hub.tlog.errors import TransparencyError

    settings = _settings(args)
    places = checkpoint_places(settings, starting=False)
    folder = places.witness_dir
    if folder is None:
        _say("backa audit: name the witness's folder with --witness or BACKA_WITNESS_DIR")
        return EXIT_REFUSED
    if not folder.is_dir():
        _say(f"backa audit: the witness folder {folder} does not exist: create or mount it first")
        return EXIT_REFUSED
    inputs = _audit_inputs(args, settings, places)
    if isinstance(inputs, int):
        return inputs
    _, key, kept = inputs
    witness = witness_of(places)
    if witness is None:  # pragma: no cover - the folder was named above
        return EXIT_REFUSED
    try:
        held = witness.latest(key)
    except TransparencyError as e:
        _say(f"backa audit: {e.detail}")
        return EXIT_FAILED
    if held is not None:
        _say(f"backa audit: the witness in {folder} holds a record (up to size {held.size}); there is nothing to adopt")
        return EXIT_REFUSED
    report = _run_audit(settings, key, kept, None)
    if isinstance(report, int):
        return report
    if not report.ok or report.latest is None:
        _say("backa audit: the log does not verify, so the witness was not started; find out what changed first")
        return EXIT_FAILED
    try:
        witness.add_checkpoint(report.latest.note, 0, [], key)
    except TransparencyError as e:
        _say(f"backa audit: the witness refused the checkpoint: {e.detail}")
        return EXIT_FAILED
    _say(
        f"backa audit: the log verifies; the witness in {folder} starts again from the checkpoint of size "
        f"{report.latest.size}, and the hub hands it checkpoints again"
    )
    return 0


def cmd_forget(args: argparse.Namespace) -> int:
    """Erase a child's record: the administrator's sign-in is checked like any request's,
    the erasure is recorded in the log, and the child's key is destroyed. A running hub
    on the same store drops the child from its views when it reads the erasure."""
    import os
    from uuid import UUID

    from hub.runtime.bootstrap import bootstrap
    from hub.errors import HubError

    try:
        child_id = UUID(args.child)
    except ValueError:
        _say("backa forget: CHILD must be a child id (a UUID)")
        return EXIT_REFUSED
    token = os.environ.get("BACKA_TOKEN", "").strip()
    if not token:
        _say("backa forget: set BACKA_TOKEN to the signed-in administrator's bearer token")
        return EXIT_REFUSED
    runtime = bootstrap(_settings(args), wait_for_views=True)
    try:
        principal = runtime.verifier.verify(token)
        runtime.hub.erase_child(principal, child_id, reason=args.reason)
        runtime.hub.refresh_views()
    except HubError as e:
        _say(f"backa forget: refused: {e.detail}")
        return EXIT_REFUSED
    finally:
        runtime.close()
    _say(f"backa forget: the record of child {child_id} is erased; its key is destroyed and the erasure is on record")
    _say("  copies already delivered to agencies are theirs to erase; each unit was sent an erasure notice by the relay")
    return 0


def cmd_guardians_check(args: argparse.Namespace) -> int:
    """Ask the population register again about a child's guardians with custody, as the
    signed-in staff member or administrator whose token is in BACKA_TOKEN."""
    import os
    from uuid import UUID

    from hub.errors import HubError
    from hub.runtime.bootstrap import bootstrap

    if args.all == (args.child is not None):
        _say("backa guardians check: name one CHILD, or --all")
        return EXIT_REFUSED
    if args.dry_run and not args.all:
        _say("backa guardians check: --dry-run goes with --all")
        return EXIT_REFUSED
    try:
        child_id = UUID(args.child) if args.child is not None else None
    except ValueError:
        _say("backa guardians check: CHILD must be a child id (a UUID)")
        return EXIT_REFUSED
    token = os.environ.get("BACKA_TOKEN", "").strip()
    if not token:
        _say("backa guardians check: set BACKA_TOKEN to the signed-in staff member's or administrator's bearer token")
        return EXIT_REFUSED
    runtime = bootstrap(_settings(args), wait_for_views=True)
    if child_id is None:
        try:
            return _check_all_guardians(runtime, token, dry_run=args.dry_run)
        finally:
            runtime.close()
    try:
        answers = runtime.hub.check_guardians(runtime.verifier.verify(token), child_id)
    except HubError as e:
        _say(f"backa guardians check: refused: {e.detail}")
        return EXIT_REFUSED
    finally:
        runtime.close()
    for guardian_id, answer in sorted(answers.items()):
        _say(f"  {guardian_id}: {answer.value}")
    _say(f"backa guardians check: {len(answers)} guardian link(s) of child {child_id} checked and recorded")
    return 0


def _check_all_guardians(runtime: Any, token: str, *, dry_run: bool) -> int:
    """Check, one child at a time through the core (each asking the permission policy), every
    child of the caller's area whose guardian links the register has not confirmed. A child
    the register cannot answer for now is counted and the run goes on; a run stopped or run
    again starts from the children still unconfirmed. Counts only: no child, name or
    personnummer is said."""
    from contracts.vocabulary import RegisterAnswer
    from hub.errors import HubError, RegisterUnavailableError

    try:
        principal = runtime.verifier.verify(token)
        todo = runtime.hub.guardian_links_to_check(principal)
    except HubError as e:
        _say(f"backa guardians check: refused: {e.detail}")
        return EXIT_REFUSED
    if dry_run:
        _say(f"backa guardians check: {len(todo)} child(ren) would be checked (dry run: nothing asked, nothing recorded)")
        return 0
    confirmed = unconfirmed = unavailable = refused = 0
    for done, child_id in enumerate(todo, 1):
        try:
            answers = runtime.hub.check_guardians(principal, child_id)
        except RegisterUnavailableError:
            unavailable += 1
        except HubError:
            refused += 1  # erased, or no longer the caller's to check, since the list was read
        else:
            if answers and all(a is RegisterAnswer.CONFIRMED for a in answers.values()):
                confirmed += 1
            else:
                unconfirmed += 1
        if done % 100 == 0:
            _say(f"  {done}/{len(todo)} children checked")
    _say(
        f"backa guardians check: {len(todo)} child(ren) checked: {confirmed} confirmed, {unconfirmed} not confirmed by the register, "
        f"{unavailable} the register could not answer for, {refused} refused"
    )
    if unavailable:
        _say("  run it again later: it checks only the children still unconfirmed")
    return EXIT_FAILED if unavailable or refused else 0


def cmd_audit_checkpoint(args: argparse.Namespace) -> int:
    from eventsourcing.persistence import InterfaceError, OperationalError

    from hub.identity.directory import Directory
    from hub.tlog.errors import TransparencyError
    from hub.runtime.log_recorder import open_log_recorder
    from hub.runtime.checkpoints import checkpoint_places, witness_of
    from hub.tlog.service import build_transparency

    settings = _settings(args)
    try:
        with open_log_recorder(settings) as recorder:
            path = settings.data_dir / "directory.json"
            tenants = list(Directory.load(path).tenants) if path.exists() else []
            places = checkpoint_places(settings, starting=False)
            log = build_transparency(
                recorder, settings.data_dir, tenant_ids=tenants, key_file=places.key_file, witness=witness_of(places)
            )
            signed = log.checkpoint_now()
            key = log.verifier().encode()
    except TransparencyError as e:
        _say(f"backa audit: {e.detail}")
        return EXIT_FAILED
    except (OperationalError, InterfaceError):
        _say("backa audit: the event store cannot be reached")
        return EXIT_REFUSED
    if args.out:
        Path(args.out).write_text(signed.note, encoding="utf-8")
        _say(f"backa audit: checkpoint of size {signed.size} written to {args.out}")
    else:
        sys.stdout.write(signed.note)
        sys.stdout.flush()
    _say(f"backa audit: verifier key {key}")
    return 0


def _worker_count(text: str) -> int:
    """``--workers`` as written: plain digits from 1 to 64 (the setting's own bounds), so a
    refusal names the flag the operator typed rather than ``BACKA_WORKERS``."""
    if not (text.isascii() and text.isdigit() and 1 <= int(text) <= 64):
        raise argparse.ArgumentTypeError("a whole number of worker processes from 1 to 64")
    return int(text)


def _attempts(value: str) -> int:
    if not value.isdigit() or not 1 <= int(value) <= 100:
        raise argparse.ArgumentTypeError("a whole number of attempts from 1 to 100")
    return int(value)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="backa",
        description="Backa barnet hub: consent-gated information sharing around a child.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def server_options(p: argparse.ArgumentParser) -> None:
        p.add_argument("--host", default=DEFAULT_HOST, help=f"address to listen on (default {DEFAULT_HOST})")
        p.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port to listen on (default {DEFAULT_PORT})")
        p.add_argument("--data-dir", type=Path, default=None, help="data folder (default BACKA_DATA_DIR or ./data)")
        p.add_argument(
            "--checkpoint-key", type=Path, default=None, metavar="FILE",
            help="the checkpoint signing key, outside the data folder (default BACKA_CHECKPOINT_KEY_FILE)",
        )
        p.add_argument("--witness", type=Path, default=None, metavar="DIR", help="the witness's folder (default BACKA_WITNESS_DIR)")

    serve = sub.add_parser("serve", help="serve the hub on the embedded store")
    server_options(serve)
    serve.add_argument(
        "--workers", type=_worker_count, default=None, metavar="N",
        help="HTTP worker processes sharing one PostgreSQL (default BACKA_WORKERS or 1)",
    )
    serve.set_defaults(func=cmd_serve)

    demo = sub.add_parser("demo", help="load the Ystad demo into an empty data folder and serve it")
    server_options(demo)
    demo.add_argument("--children", type=int, default=200, help="how many children the demo holds (default 200)")
    demo.add_argument("--seed", type=int, default=2019, help="the seed of the demo's stories (default 2019)")
    demo.add_argument("--reset", action="store_true", help="throw away the demo data in the folder and load it again")
    demo.add_argument("--load-only", action="store_true", help="load the demo and exit without serving")
    demo.add_argument(
        "--database-url", default=None, metavar="URL",
        help="load and serve the demo in this PostgreSQL schema (default BACKA_DATABASE_URL; without one, SQLite files in the data folder)",
    )
    demo.set_defaults(func=cmd_demo)

    token = sub.add_parser("token", help="print a bearer token for a demo user")
    token.add_argument("user", metavar="USER", help="a staff user id (karin.holm) or a family name (vardnadshavare-1)")
    token.add_argument("--data-dir", type=Path, default=None, help="the demo's data folder (default BACKA_DATA_DIR or ./data)")
    token.set_defaults(func=cmd_token)

    schemas = sub.add_parser("schemas", help="the published JSON Schemas")
    schemas_sub = schemas.add_subparsers(dest="schemas_command", required=True, metavar="ACTION")
    export = schemas_sub.add_parser("export", help="write one JSON Schema per event, the vocabulary and an index")
    export.add_argument("--out", type=Path, default=Path("schemas"), help="folder to write into (default ./schemas)")
    export.set_defaults(func=cmd_schemas_export)

    relay = sub.add_parser("relay", help="deliver committed facts, redacted and sealed, to the units over NATS JetStream")
    relay.add_argument("--data-dir", type=Path, default=None, help="the hub's data folder (default BACKA_DATA_DIR or ./data)")
    relay.add_argument("--nats", default=None, help="NATS URL (default BACKA_NATS_URL)")
    relay.add_argument("--keys", type=Path, default=None, help="folder of the units' public keys (default BACKA_UNIT_KEYS_DIR)")
    shares = relay.add_mutually_exclusive_group()
    shares.add_argument(
        "--partition", default=None, metavar="I/N",
        help="deliver for partition I of N relay processes, split by child (default BACKA_RELAY_PARTITION/BACKA_RELAY_PARTITIONS or 0/1)",
    )
    shares.add_argument(
        "--repartition", type=int, default=None, metavar="N",
        help="with every relay stopped: bring the stored partitions to the log's end, then store N partitions there, and exit",
    )
    relay.set_defaults(func=cmd_relay)

    subscribe = sub.add_parser("subscribe", help="at an agency: receive a unit's deliveries and hand them to local systems")
    subscribe.add_argument("--unit", required=True, help="the unit id")
    subscribe.add_argument("--key", type=Path, required=True, help="the unit's private key file")
    subscribe.add_argument("--tenant", default="*", help="the cooperation area (default: any)")
    subscribe.add_argument("--nats", default=None, help="NATS URL (default BACKA_NATS_URL or nats://127.0.0.1:4222)")
    target = subscribe.add_mutually_exclusive_group()
    target.add_argument("--out", type=Path, default=None, help="append each event as a JSON line to this file (default: standard output)")
    target.add_argument("--post", default=None, help="POST each event as a CloudEvent to this local URL")
    subscribe.add_argument("--state", type=Path, default=None, help="file remembering handed-over message ids")
    subscribe.add_argument("--durable", default=None, help="name of the durable consumer (default backa-[TENANT-]UNIT)")
    signing = subscribe.add_mutually_exclusive_group()
    signing.add_argument("--secret-file", type=Path, default=None, help="with --post: sign each delivery with these whsec_ secrets")
    signing.add_argument("--unsigned", action="store_true", help="with --post: post without a signature (a trusted local URL only)")
    subscribe.add_argument(
        "--dead-letters", type=Path, default=None,
        help="with --secret-file: where posts no receiver took are kept (default DURABLE.dead-letters.sqlite)",
    )
    subscribe.add_argument("--attempts", type=_attempts, default=6, help="with --secret-file: tries per delivery, then dead-lettered")
    subscribe.set_defaults(func=cmd_subscribe)

    webhooks = sub.add_parser("webhooks", help="at an agency: secrets and dead letters of the signed webhooks of subscribe --post")
    webhooks_sub = webhooks.add_subparsers(dest="webhooks_command", required=True, metavar="ACTION")
    secret = webhooks_sub.add_parser("new-secret", help="write a new whsec_ secret to a file readable by its owner only")
    secret.add_argument("--out", type=Path, required=True)
    secret.set_defaults(func=cmd_webhooks_new_secret)
    letters = webhooks_sub.add_parser("dead-letters", help="list the deliveries no receiver took, or send them again")
    letters.add_argument("--file", type=Path, required=True, help="the dead-letter file of subscribe --post")
    action = letters.add_mutually_exclusive_group(required=True)
    action.add_argument("--list", action="store_true", help="one line each: id, when, attempts, last reason, URL")
    action.add_argument("--replay", nargs="*", metavar="ID", help="send again (all, or the ids named); delivered ones leave the list")
    letters.add_argument("--secret-file", type=Path, default=None, help="the secrets to sign the replay with")
    letters.add_argument("--post", default=None, help="send to this URL instead of the one each was meant for")
    letters.add_argument("--attempts", type=_attempts, default=3, help="tries per delivery in this replay")
    letters.add_argument("--nats", default=None, help="with --unit: tell the hub's administrator of each one delivered (NATS URL)")
    letters.add_argument("--unit", default=None, help="the unit the dead letters are for, named in the report to the hub")
    letters.set_defaults(func=cmd_webhooks_dead_letters)

    keys = sub.add_parser("keys", help="key pairs for end-to-end encrypted delivery; the key-encryption key of the stored log")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True, metavar="ACTION")
    generate = keys_sub.add_parser("generate", help="write an X25519 key pair for a unit")
    generate.add_argument("--unit", required=True, help="the unit id")
    generate.add_argument("--out", type=Path, required=True, help="folder to write UNIT.key and UNIT.pub into")
    generate.set_defaults(func=cmd_keys_generate)
    new_kek = keys_sub.add_parser("new-kek", help="write a new random key-encryption key for BACKA_KEK_FILE")
    new_kek.add_argument("--out", type=Path, required=True, help="the file to write (never overwritten)")
    new_kek.set_defaults(func=cmd_keys_new_kek)
    rotate = keys_sub.add_parser(
        "rotate-kek", help="rewrap every child key under a new key-encryption key, without touching the log"
    )
    rotate.add_argument("--new", type=Path, required=True, metavar="FILE", help="the new key-encryption key's file")
    rotate.add_argument("--data-dir", type=Path, default=None, help="the hub's data folder (default BACKA_DATA_DIR or ./data)")
    rotate.set_defaults(func=cmd_keys_rotate_kek)

    audit = sub.add_parser("audit", help="the tamper-evident log: signed checkpoints and their verification")
    audit_sub = audit.add_subparsers(dest="audit_command", required=True, metavar="ACTION")
    verify = audit_sub.add_parser(
        "verify", help="recompute the log's Merkle tree and check it against the signed checkpoints (exit 1 if it fails)"
    )
    verify.add_argument("--data-dir", type=Path, default=None, help="the hub's data folder (default BACKA_DATA_DIR or ./data)")
    verify.add_argument(
        "--witness", type=Path, default=None, metavar="DIR",
        help="the witness's folder (default BACKA_WITNESS_DIR, or the demo's witness folder)",
    )
    verify.add_argument("--key", default=None, help="the verifier key, or a file holding it (default: transparency.pub in the data folder)")
    verify.add_argument(
        "--checkpoint", type=Path, action="append", default=[], metavar="FILE",
        help="a signed checkpoint you kept earlier; its consistency with the latest is proven (repeatable)",
    )
    verify.set_defaults(func=cmd_audit_verify)
    sign = audit_sub.add_parser("checkpoint", help="sign a checkpoint of the log now and print it")
    sign.add_argument("--data-dir", type=Path, default=None, help="the hub's data folder (default BACKA_DATA_DIR or ./data)")
    sign.add_argument(
        "--checkpoint-key", type=Path, default=None, metavar="FILE", help="the checkpoint signing key (default BACKA_CHECKPOINT_KEY_FILE)"
    )
    sign.add_argument("--witness", type=Path, default=None, metavar="DIR", help="the witness's folder (default BACKA_WITNESS_DIR)")
    sign.add_argument("--out", type=Path, default=None, help="write the signed note here instead of to standard output")
    sign.set_defaults(func=cmd_audit_checkpoint)
    witness = audit_sub.add_parser("witness", help="the witness that keeps the checkpoints outside the data folder")
    witness_sub = witness.add_subparsers(dest="witness_command", required=True, metavar="ACTION")
    adopt = witness_sub.add_parser(
        "adopt", help="start a witness that lost its record from the current checkpoint, once the whole log verifies"
    )
    adopt.add_argument("--data-dir", type=Path, default=None, help="the hub's data folder (default BACKA_DATA_DIR or ./data)")
    adopt.add_argument("--witness", type=Path, default=None, metavar="DIR", help="the witness's folder (default BACKA_WITNESS_DIR)")
    adopt.add_argument(
        "--key", default=None,
        help="the verifier key, or a file holding it (default: the one the witness pinned, else transparency.pub in the data folder)",
    )
    adopt.add_argument(
        "--checkpoint", type=Path, action="append", default=[], metavar="FILE",
        help="a signed checkpoint you kept earlier; the log must be consistent with it (repeatable)",
    )
    adopt.set_defaults(func=cmd_audit_witness_adopt)

    forget = sub.add_parser(
        "forget",
        help="erase a child's record by destroying its key (the administrator's token in BACKA_TOKEN)",
    )
    forget.add_argument("child", metavar="CHILD", help="the child's id")
    forget.add_argument("--reason", required=True, help="why the record is erased (kept with the erasure, for the auditors)")
    forget.add_argument("--data-dir", type=Path, default=None, help="the hub's data folder (default BACKA_DATA_DIR or ./data)")
    forget.set_defaults(func=cmd_forget)

    guardians = sub.add_parser("guardians", help="guardian links and the population register")
    guardians_sub = guardians.add_subparsers(dest="guardians_command", required=True)
    check = guardians_sub.add_parser(
        "check",
        help="ask the population register again about a child's guardians with custody, or with --all about every child "
        "of the area whose links it has not confirmed (a token in BACKA_TOKEN)",
    )
    check.add_argument("child", metavar="CHILD", nargs="?", default=None, help="the child's id")
    check.add_argument("--all", action="store_true", help="every child of the area whose guardian links are not confirmed")
    check.add_argument("--dry-run", action="store_true", help="with --all: count the children to check, and check none")
    check.add_argument("--data-dir", type=Path, default=None, help="the hub's data folder (default BACKA_DATA_DIR or ./data)")
    check.set_defaults(func=cmd_guardians_check)

    from hub.cli.consents import add_parser as add_consents

    add_consents(sub)
    from hub.cli.views import add_parser as add_views

    add_views(sub)
    from hub.cli.imports import add_parser as add_imports

    add_imports(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "children", 1) < 1:
        _say("backa demo: --children must be at least 1")
        return EXIT_REFUSED
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        return 130
    except Exception as e:
        said = _refusal(e)
        if said is None:
            raise
        _say(said)
        return EXIT_REFUSED


def _refusal(e: Exception) -> str | None:
    """What to say of a configuration the hub refuses, or None for any other failure. The
    errors' modules are imported only here: ``backa serve`` listens before it loads them."""
    from pydantic import ValidationError

    from adapters.migrations import MigrationError
    from adapters.population_file import RegisterFileError
    from hub.keys.child_keys import KekConfigError
    from hub.runtime.checkpoints import CheckpointConfigError

    if isinstance(e, KekConfigError | CheckpointConfigError | MigrationError):
        return f"backa: {e}"
    if isinstance(e, RegisterFileError):
        return f"backa: the population register file (BACKA_POPULATION_REGISTER_FILE) is refused: {e}"
    if isinstance(e, ValidationError):
        problems = "; ".join(f"BACKA_{'.'.join(str(x) for x in err['loc']).upper()}: {err['msg']}" for err in e.errors(include_input=False))
        return f"backa: the configuration is not valid: {problems}"
    return None


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
