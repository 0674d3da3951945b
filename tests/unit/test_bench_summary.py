"""The benchmark's summary table lists every goal of holding under load, measured or not."""

from __future__ import annotations

from bench.env import Result
from bench.report import GOALS, summary_rows


def test_the_summary_lists_each_goal_once_in_order_and_says_which_were_not_measured() -> None:
    workers = Result(key="workers", title="two against one", goal="2 workers ≥ 1.6 × 1", ratio=1.7, ratio_label="2 ÷ 1", met=True)
    commands = Result(key="commands", title="Commands", goal="hub ≥ raw single saves", ratio=1.2, ratio_label="hub ÷ raw", met=True)

    rows = summary_rows([commands, workers])

    assert [r[0] for r in rows[: len(GOALS)]] == [title for _, title, _ in GOALS]
    by_title = {r[0]: r for r in rows}
    assert by_title["Throughput with 2 worker processes"][1:] == ("1.7 (2 ÷ 1)", "≥ 1.6 × one process (reported: the machine has two cores)", "met")
    assert by_title["Start on a million-fact log with empty views"][3] == "not measured"
    assert rows[len(GOALS):] == [("Commands", "1.2 (hub ÷ raw)", "hub ≥ raw single saves", "met")]


def test_a_measure_that_failed_as_a_whole_answers_for_its_goals_as_not_measured() -> None:
    failed = Result(key="load", title="Mixed load", goal="…")
    failed.data["measured"] = False

    rows = summary_rows([failed])

    assert len(rows) == len(GOALS)
    assert {r[0]: r[3] for r in rows}["Mixed 80/20 load over HTTP at 200 clients"] == "not measured"


def test_a_goal_that_may_be_reported_reads_reported_with_its_figures_beside_the_ratio() -> None:
    relay = Result(key="delivery", title="Relay", goal="p99 < 50 ms", ratio=4.0, ratio_label="p99 ÷ 50 ms", met=False)
    relay.figure = "held with p99 < 50 ms: 250 / 500 / 500 facts/s"
    relay.reported = True
    rebuild = Result(key="rebuild", title="Rebuild", goal="≥ 0.5", ratio=0.3, ratio_label="rebuild ÷ raw", met=False)

    rows = {r[0]: r for r in summary_rows([relay, rebuild])}

    assert rows["Relay: commit to delivery"][1] == "4 (p99 ÷ 50 ms); held with p99 < 50 ms: 250 / 500 / 500 facts/s"
    assert rows["Relay: commit to delivery"][3] == "reported"
    assert rows["Rebuild of the views"][3] == "not met"
