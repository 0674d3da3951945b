"""Disclosure control for published frequency tables: no small count, and none worked out.

A count of 1 or 2 children in a small area points at a family. Official statistics protect
such cells the way this module does (Statistics Sweden, SCB, "Röjandekontroll av tabeller"
in its handbook on disclosure control of statistical tables; Eurostat, "Handbook on
Statistical Disclosure Control", ch. 4, frequency tables):

* **Primary suppression**: a count from 1 to the threshold ``T`` (default 2) is not
  published; zero is (an empty cell reveals no one) unless the rule says otherwise.
* **Secondary (complementary) suppression**: a row or column that publishes its total and
  hides only one of its cells hides nothing, since the cell is the total less the others.
  Every line (row or column, totals included) with exactly one hidden entry therefore
  hides a second one, the smallest non-zero other cell (least information lost), else
  its total, else any other entry; this is repeated until no line has exactly one.
  A hidden total is itself an entry of the line of totals, so the grand total is treated
  alike.
* **No hidden sum that gives the cells away**: where a line publishes its total and hides
  two or more of its cells, a reader knows their sum, and, each being at least 1, the most
  any of them can be. If that is within the threshold, every hidden cell is known to be small
  (1 and 1 hidden beside a total of 2 are both 1), so one more entry is hidden, as above,
  until the most a hidden cell can be exceeds the threshold or the total is hidden too.
  (Eurostat's handbook, 4.3: a suppression pattern must give each sensitive cell a
  protection interval, not only a blank.)
* **The reason is not published**: whether an entry was hidden as small or to protect
  another stays inside the hub, since "primary" beside a total narrows the hidden cells to
  the threshold again. SCB and Eurostat publish the same sign for both.
* **Rounding** (optional): published counts and totals are rounded to a base, which must
  exceed the threshold so that no rounded count lies in ``1..T``.

Pure: tables in, tables out, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

SUPPRESSED = ".."
"""How a suppressed entry is published (SCB's and Eurostat's sign)."""


class Suppression(str, Enum):
    PRIMARY = "primary"
    """A count the threshold does not allow."""
    SECONDARY = "secondary"
    """An entry hidden so that a primary one cannot be worked out."""


@dataclass(frozen=True)
class DisclosureRule:
    """What may be published: counts above ``threshold`` (0 unless ``suppress_zero``),
    rounded to ``rounding`` when set."""

    threshold: int = 2
    rounding: int | None = None
    suppress_zero: bool = False

    def __post_init__(self) -> None:
        if self.threshold < 0:
            raise ValueError("threshold must not be negative")
        if self.rounding is not None and self.rounding <= self.threshold:
            raise ValueError("rounding base must be above the threshold")

    def too_small(self, n: int) -> bool:
        return 1 <= n <= self.threshold or (n == 0 and self.suppress_zero)

    def rounded(self, n: int) -> int:
        if self.rounding is None:
            return n
        return (n + self.rounding // 2) // self.rounding * self.rounding


Position = tuple[int, int]
"""(row, column) in the table with its totals: row ``len(cells)`` is the column totals,
column ``len(cells[0])`` the row totals, and both together the grand total."""


@dataclass(frozen=True)
class Publishable:
    """A table as it may be published: ``values`` is the table with its totals (last row
    and column), ``None`` where suppressed; ``suppressed`` says why each hidden entry is."""

    values: tuple[tuple[int | None, ...], ...]
    suppressed: dict[Position, Suppression]
    rounded: bool = False

    def shown(self, row: int, column: int) -> str:
        value = self.values[row][column]
        return SUPPRESSED if value is None else str(value)

    def cells(self) -> list[list[int | None]]:
        """The table without its totals."""
        return [list(r[:-1]) for r in self.values[:-1]]

    def column_totals(self) -> list[int | None]:
        return list(self.values[-1][:-1])

    def row_totals(self) -> list[int | None]:
        return [r[-1] for r in self.values[:-1]]


def publishable(cells: list[list[int]], rule: DisclosureRule | None = None) -> Publishable:
    """The table ``cells`` (rows of counts, all rows as long) with its row and column totals
    and grand total, as it may be published under ``rule``."""
    rule = rule or DisclosureRule()
    if not cells or not cells[0]:
        return Publishable(values=((0,),), suppressed={})
    width = len(cells[0])
    if any(len(r) != width for r in cells) or any(n < 0 for r in cells for n in r):
        raise ValueError("a table's rows must be equally long and hold counts")
    full = [[*r, sum(r)] for r in cells]
    full.append([sum(col) for col in zip(*full, strict=True)])
    rows, columns = len(full), width + 1
    hidden: dict[Position, Suppression] = {
        (i, j): Suppression.PRIMARY for i in range(rows) for j in range(columns) if rule.too_small(full[i][j])
    }
    if width == 1:  # one column: each row's total is its cell again, and the column is the one line
        lines = [[(i, 0) for i in range(rows)]]
    elif len(cells) == 1:  # one row, likewise
        lines = [[(0, j) for j in range(columns)]]
    else:
        lines = [[(i, j) for j in range(columns)] for i in range(rows)] + [[(i, j) for i in range(rows)] for j in range(columns)]
    changed = True
    while changed:
        changed = False
        for line in lines:
            if not _gives_away(line, hidden, full, rule):
                continue
            hidden[_complement(line, hidden, full, rows, columns)] = Suppression.SECONDARY
            changed = True
    if width == 1:
        hidden.update({(i, 1): why for (i, j), why in list(hidden.items()) if j == 0})
    elif len(cells) == 1:
        hidden.update({(1, j): why for (i, j), why in list(hidden.items()) if i == 0})
    values = tuple(tuple(None if (i, j) in hidden else rule.rounded(full[i][j]) for j in range(columns)) for i in range(rows))
    return Publishable(values=values, suppressed=hidden, rounded=rule.rounding is not None)


def _gives_away(line: list[Position], hidden: dict[Position, Suppression], full: list[list[int]], rule: DisclosureRule) -> bool:
    """Whether ``line`` (its cells, then its total) lets a reader work a hidden entry out:
    one entry hidden alone is its total less the others; two or more hidden beside a
    published total are each at most their known sum less 1 for each of the others."""
    inner = [p for p in line[:-1] if p in hidden]
    if sum(1 for p in line if p in hidden) == 1:
        return True
    if line[-1] in hidden or len(inner) < 2:
        return False
    total = full[line[-1][0]][line[-1][1]]
    hidden_sum = total - sum(full[i][j] for i, j in line[:-1] if (i, j) not in hidden)
    return hidden_sum - (len(inner) - 1) <= rule.threshold


def _complement(line: list[Position], hidden: dict[Position, Suppression], full: list[list[int]], rows: int, columns: int) -> Position:
    """The entry to hide beside a line's one hidden entry: the smallest non-zero inner cell,
    else a total, else any entry (always one, since a line holds at least two)."""
    open_ = [p for p in line if p not in hidden]
    inner = [p for p in open_ if p[0] < rows - 1 and p[1] < columns - 1 and full[p[0]][p[1]] > 0]
    if inner:
        return min(inner, key=lambda p: (full[p[0]][p[1]], p))
    totals = [p for p in open_ if p[0] == rows - 1 or p[1] == columns - 1]
    return (totals or open_)[0]


__all__ = ["SUPPRESSED", "DisclosureRule", "Position", "Publishable", "Suppression", "publishable"]
