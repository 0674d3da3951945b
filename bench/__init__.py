"""The side-by-side benchmark of the hub on PostgreSQL and NATS JetStream.

    .venv/bin/python -m bench                 # the full run (about 35-40 minutes on two cores)
    .venv/bin/python -m bench --quick         # a short run to check that everything works
    .venv/bin/python -m bench --write-docs    # ... and write the results into docs/benchmarks.md

One run measures, side by side, and prints as ratios; its summary lists the goals of
holding under load first:

1. the hub's consent-gated commands against the ``eventsourcing`` library's raw single
   saves at the same concurrency (``bench/commands.py``);
2. commands per second and p50/p99 latency over HTTP at 50 and 200 clients, and audited
   reads against the same reads unrecorded (``bench/over_http.py``);
3. a mixed load over HTTP (80 % audited reads, 20 % commands) at 10, 50 and 200 clients
   with its refusals counted, audited reads of children with a year of history against
   a trivial endpoint of the same app, and one against two worker processes
   (``bench/load.py``);
4. audited reads of children with a year of history against new ones (``bench/history.py``);
5. the latency from a committed fact to its delivery on a unit's NATS subject at 1,000
   facts per second with 1, 2 and 4 relay processes, and the rate each holds with its
   p99 under 50 ms (``bench/delivery.py``);
6. rebuilding the views from a log of a million facts with 1 and 2 processes against
   the library's raw read rate (``bench/rebuild.py``);
7. the seconds from starting the hub on that log, its views empty, to ``/health`` and
   to ``/ready`` (``bench/start.py``);
8. a visit to the auditors' checkpoint page, incremental and cached, against recomputing
   the tree from every stored record per visit (``bench/checkpoint_page.py``).

``--only`` runs some of them (``commands,http,load,history,delivery,rebuild,start,checkpoint``).

It needs PostgreSQL (``--database-url``, by default the local test database) and
starts its own nats-server on a free loopback port. Every schema it makes is named
``bench_<run>_*`` and dropped at the end. It is not part of the test suite.
"""
