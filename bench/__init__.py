"""The side-by-side benchmark of the hub on PostgreSQL and NATS JetStream.

    .venv/bin/python -m bench                 # the full run (about 15-20 minutes)
    .venv/bin/python -m bench --quick         # a short run to check that everything works
    .venv/bin/python -m bench --write-docs    # ... and write the results into docs/benchmarks.md

One run measures, side by side, and prints as ratios:

1. the hub's consent-gated commands against the ``eventsourcing`` library's raw single
   saves at the same concurrency (``bench/commands.py``);
2. commands per second and p50/p99 latency over HTTP at 50 and 200 clients, and
3. audited reads against the same reads unrecorded (``bench/over_http.py``);
4. the latency from a committed fact to its delivery on a unit's NATS subject at 1,000
   facts per second (``bench/delivery.py``);
5. rebuilding the views from a log of a million facts against the library's raw read
   rate (``bench/rebuild.py``);
6. a visit to the auditors' checkpoint page, incremental and cached, against recomputing
   the tree from every stored record per visit (``bench/checkpoint_page.py``);
7. a mixed load over HTTP (80 % audited reads, 20 % commands) at 10, 50 and 200 clients
   with its refusals counted, audited reads against a trivial endpoint of the same app,
   and one against two worker processes (``bench/load.py``).

``--only`` runs some of them (``commands,http,load,delivery,rebuild,checkpoint,start``).

It needs PostgreSQL (``--database-url``, by default the local test database) and
starts its own nats-server on a free loopback port. Every schema it makes is named
``bench_<run>_*`` and dropped at the end. It is not part of the test suite.
"""
