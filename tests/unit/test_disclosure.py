"""The disclosure rule for published figures: no small count, none worked out from totals."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from consent.disclosure import SUPPRESSED, DisclosureRule, Publishable, Suppression, publishable
from hub.application.readmodels import FigureCount
from hub.application.reads import publishable_counts
from projections.figures import BOUNDED_BY, FIGURES


def lines(p: Publishable) -> list[list[int | None]]:
    rows = [list(r) for r in p.values]
    return rows + [list(c) for c in zip(*rows, strict=True)]


CASES = [
    (
        "a table of large counts is published as it is",
        [[5, 7], [9, 4]],
        DisclosureRule(),
        [[5, 7, 12], [9, 4, 13], [14, 11, 25]],
        set(),
        set(),
    ),
    (
        "a count of 1 is hidden with the smallest other cell of its row and column and the one opposite",
        [[1, 7], [9, 4]],
        DisclosureRule(),
        [[None, None, 8], [None, None, 13], [10, 11, 21]],
        {(0, 0)},
        {(0, 1), (1, 0), (1, 1)},
    ),
    (
        "zero is published, and a row whose other cells are zero hides its total",
        [[2, 0, 0], [5, 6, 7]],
        DisclosureRule(),
        [[None, 0, 0, None], [None, 6, 7, None], [7, 6, 7, 20]],
        {(0, 0), (0, 3)},
        {(1, 0), (1, 3)},
    ),
    ("zero is hidden when the rule says so", [[0, 5], [5, 5]], DisclosureRule(suppress_zero=True), None, {(0, 0)}, None),
    (
        "a threshold of 4 hides a 3",
        [[3, 10], [10, 10]],
        DisclosureRule(threshold=4),
        [[None, None, 13], [None, None, 20], [13, 20, 33]],
        {(0, 0)},
        {(0, 1), (1, 0), (1, 1)},
    ),
    (
        "rounding to 5 rounds what is published",
        [[6, 12], [8, 9]],
        DisclosureRule(rounding=5),
        [[5, 10, 20], [10, 10, 15], [15, 20, 35]],
        set(),
        set(),
    ),
    (
        "one column of one key hides its total, which is the same count",
        [[2]],
        DisclosureRule(),
        [[None, None], [None, None]],
        {(0, 0), (0, 1), (1, 0), (1, 1)},
        set(),
    ),
]


@pytest.mark.parametrize(("case", "cells", "rule", "expected", "primary", "secondary"), CASES, ids=[c[0] for c in CASES])
def test_the_rule_publishes_each_named_table_as_official_statistics_would(
    case: str,
    cells: list[list[int]],
    rule: DisclosureRule,
    expected: list[list[int | None]] | None,
    primary: set[tuple[int, int]],
    secondary: set[tuple[int, int]] | None,
) -> None:
    p = publishable(cells, rule)
    if expected is not None:
        assert [list(r) for r in p.values] == expected
    assert {k for k, v in p.suppressed.items() if v is Suppression.PRIMARY} == primary
    if secondary is not None:
        assert {k for k, v in p.suppressed.items() if v is Suppression.SECONDARY} == secondary


def test_a_hidden_entry_is_published_as_two_dots() -> None:
    assert publishable([[1, 9], [9, 9]]).shown(0, 0) == SUPPRESSED == ".."


def test_a_rounding_base_at_or_below_the_threshold_is_refused() -> None:
    with pytest.raises(ValueError, match="rounding"):
        DisclosureRule(threshold=2, rounding=2)


tables = st.integers(1, 5).flatmap(lambda w: st.lists(st.lists(st.integers(0, 12), min_size=w, max_size=w), min_size=1, max_size=5))
rules = st.builds(
    DisclosureRule,
    threshold=st.integers(0, 4),
    suppress_zero=st.booleans(),
).flatmap(
    lambda r: st.sampled_from([None, r.threshold + 1, 5 if r.threshold < 5 else None, 10]).map(
        lambda b: DisclosureRule(threshold=r.threshold, suppress_zero=r.suppress_zero, rounding=b)
    )
)


@settings(max_examples=400, deadline=None)
@given(tables, rules)
def test_no_published_entry_holds_a_small_count_and_none_hidden_can_be_worked_out(cells: list[list[int]], rule: DisclosureRule) -> None:
    p = publishable(cells, rule)
    for line in lines(p):
        for value in line:
            assert value is None or not (1 <= value <= rule.threshold)
        # a line (row or column, totals included) hides none of its entries or at least two,
        # so no hidden entry is its total less the published others
        assert sum(v is None for v in line) != 1
    full = [[*r, sum(r)] for r in cells]
    full.append([sum(c) for c in zip(*full, strict=True)])
    for i, row in enumerate(full):
        for j, n in enumerate(row):
            if 1 <= n <= rule.threshold:
                assert p.values[i][j] is None


figure_counts = st.dictionaries(
    st.tuples(st.sampled_from(["2025 ht", "2026 vt"]), st.sampled_from([(f, k) for f, keys in FIGURES for k in keys])),
    st.integers(0, 6),
)


@settings(max_examples=200, deadline=None)
@given(figure_counts, st.integers(1, 3))
def test_the_published_figures_of_a_term_hold_no_small_count_and_none_can_be_worked_out_from_its_total(
    counted: dict[tuple[str, tuple[str, str]], int], threshold: int
) -> None:
    rows = [FigureCount(term=t, figure=f, key=k, count=n) for (t, (f, k)), n in counted.items()]
    cells, totals = publishable_counts(rows, ["2025 ht", "2026 vt"], DisclosureRule(threshold=threshold))
    assert all(c.count is None or not 1 <= c.count <= threshold for c in cells + totals)
    for term in ("2025 ht", "2026 vt"):
        for figure, keys in FIGURES:
            if len(keys) == 1:
                continue
            line = [c for c in cells if c.term == term and c.figure == figure]
            line += [c for c in totals if c.term == term and c.figure == figure]
            assert sum(c.count is None for c in line) != 1


HIDDEN_SUMS = [
    ("two hidden counts of 1 hide a third cell, so the three may be 1, 1 and 5 or 3, 3 and 1", [[1], [1], [5]], DisclosureRule(), [None, None, None, 7]),
    ("two hidden counts of 1 with no other cell hide their total", [[1], [1]], DisclosureRule(), [None, None, None]),
    ("a 1 and a 2 beside a total would both be known small: the total is hidden", [[1], [2]], DisclosureRule(), [None, None, None]),
    ("a hidden 1 and its hidden partner of 3 may be 2 and 2, or 3 and 1: the total stands", [[1], [3]], DisclosureRule(), [None, None, 4]),
    ("two hidden 2s may as well be 1 and 3: the total stands", [[2], [2], [7]], DisclosureRule(), [None, None, 7, 11]),
]


@pytest.mark.parametrize(("case", "cells", "rule", "column"), HIDDEN_SUMS, ids=[c[0] for c in HIDDEN_SUMS])
def test_a_total_is_hidden_when_the_sum_of_its_hidden_cells_would_tell_that_each_is_small(
    case: str, cells: list[list[int]], rule: DisclosureRule, column: list[int | None]
) -> None:
    assert [r[0] for r in publishable(cells, rule).values] == column


@settings(max_examples=400, deadline=None)
@given(tables, rules)
def test_a_reader_who_knows_the_totals_cannot_tell_that_any_hidden_cell_is_small(cells: list[list[int]], rule: DisclosureRule) -> None:
    """Each line that publishes its total lets a reader work out the sum of its hidden cells;
    with each at least 1, the most one of them can be must still exceed the threshold."""
    p = publishable(cells, rule)
    full = [[*r, sum(r)] for r in cells]
    full.append([sum(c) for c in zip(*full, strict=True)])
    rows, columns = len(full), len(full[0])
    positions = [[(i, j) for j in range(columns)] for i in range(rows)] + [[(i, j) for i in range(rows)] for j in range(columns)]
    for line in positions:
        *inner, total = line
        hidden = [(i, j) for i, j in inner if p.values[i][j] is None]
        if p.values[total[0]][total[1]] is None or len(hidden) < 2 or p.rounded:
            continue
        known_sum = full[total[0]][total[1]] - sum(full[i][j] for i, j in inner if (i, j) not in hidden)
        assert known_sum - (len(hidden) - 1) > rule.threshold, (line, p.values)


@settings(max_examples=200, deadline=None)
@given(figure_counts)
def test_a_figure_that_a_hidden_count_bounds_is_hidden_with_it(counted: dict[tuple[str, tuple[str, str]], int]) -> None:
    rows = [FigureCount(term=t, figure=f, key=k, count=n) for (t, (f, k)), n in counted.items()]
    cells, _ = publishable_counts(rows, ["2025 ht", "2026 vt"], DisclosureRule())
    shown = {(c.term, c.figure, c.key): c for c in cells}
    for term in ("2025 ht", "2026 vt"):
        for figure, (source, key) in BOUNDED_BY.items():
            if shown[(term, source, key)].count is None:
                assert shown[(term, figure, "")].count is None and shown[(term, figure, "")].suppressed
