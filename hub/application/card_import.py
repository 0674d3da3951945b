"""Discovery cards filed in a municipality's e-service, brought in row by row.

Each row is read strictly (nothing coerced: ``"yes"`` is no boolean), then taken through the
same two commands as a card filed in the pages, in the filer's name: the child is found or
registered (:meth:`register_child`, which answers the same id either way, so an import is
no way to learn who is registered) and the card is filed (:meth:`submit_discovery_card`),
each asking the permission policy as the filer. Before that, the policy is asked whether the
importer may bring in cards in that filer's name (:data:`Action.IMPORT_CARDS`).

Idempotency lives on the fact itself: the card's id is derived from the cooperation area and
the e-service's id of the card, so a card imported again (in the same file, the next run, or
after a crash mid-import) is found on the child and skipped, and a race between two imports
ends in the child refusing the second append as a card already submitted.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from dataclasses import dataclass, field
from datetime import date
from enum import Enum
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from consent import ViewerKind
from consent.permissions import Action, StaffRef, Target
from contracts.bounds import Day
from contracts.events import FiveQuestions, UnmetNeed
from contracts.strict import Boolean
from hub.application.commands import GuardianEntry, RegisterChild, SubmitDiscoveryCard
from hub.application.core import _invalid, traced
from hub.application.registration import Registration
from hub.errors import (
    ChildNotFoundError,
    HubError,
    InvalidInputError,
    RecordErasedError,
    StoreUnavailableError,
    UnknownStaffError,
    UnknownUnitError,
)
from hub.identity.personnummer import IdentityNumber
from hub.identity.principals import Principal

MAX_FILE_BYTES = 4 * 1024 * 1024
"""The largest file taken: an e-service's export of a term's cards for a whole area is a few
hundred rows of at most some kilobytes each; anything larger is a wrong file, refused before
it is parsed so that it costs no memory."""

MAX_ROWS = 2000
"""The most rows one import takes: each row is two commands, so a file is bounded in the time
it holds the process; a larger export is split into several files."""

CSV_COLUMNS = (
    "eservice_id", "personnummer", "given_name", "family_name", "staff_id", "unit_id", "filed_on",
    "to_unit_id", "unmet_needs", "five_questions.unmet_needs", "five_questions.information_enough",
    "five_questions.child_and_guardian_views", "five_questions.what_i_can_do", "five_questions.further_help_needed",
    "own_support_taken", "guardians_informed", "withheld_from_guardians", "guardians",
)
"""The columns of the CSV form, in the order the documentation lists them."""
REQUIRED_COLUMNS = frozenset({"eservice_id", "personnummer", "given_name", "family_name", "staff_id", "unit_id",
                              "filed_on", "to_unit_id", "unmet_needs", "guardians_informed"})
JSON_CELLS = frozenset({"unmet_needs", "guardians"})
"""CSV cells that hold a JSON array, because a card's needs and guardians are lists."""
BOOLEAN_CELLS = frozenset({"guardians_informed", "withheld_from_guardians"})


ESERVICE_ID = re.compile(r"[A-Za-z0-9._:/-]{1,100}")
"""An e-service's id of a card as the documentation spells it: the report names a row by it
only then, so that a cell meant for a spreadsheet or a terminal (``=cmd|...``, an escape
sequence, megabytes of text) is never handed back."""
NAME_PART = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}|[0-9]{1,4}")
"""A part of a field's path that the report repeats: a name as the documented ones are, or a
list index; a key the file made up is not echoed (it is the file's content, not a field)."""


def _report_id(value: Any) -> str | None:
    return value if isinstance(value, str) and ESERVICE_ID.fullmatch(value) else None


def _report_field(path: str) -> str:
    """``path`` up to its first part that is not a plain name or index (``row`` if none is)."""
    kept: list[str] = []
    for part in path.split("."):
        if not NAME_PART.fullmatch(part):
            break
        kept.append(part)
    return ".".join(kept) or "row"


class ImportFormat(str, Enum):
    CSV = "csv"
    JSON = "json"


NO_CONTROLS = r"^[^\x00-\x1f\x7f-\x9f]*$"
"""A name from another system holds no control character: an escape sequence or a NUL in a
child's name would travel on to every page, document and terminal that shows it."""
TEXT_LINES = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$"
"""Free text may break lines and hold tabs, and no other control character."""


class CardRow(BaseModel):
    """One card of the e-service's export: who filed it where and when, about which child, and
    the card as :class:`SubmitDiscoveryCard` takes it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    eservice_id: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._:/-]+$")
    personnummer: str = Field(min_length=10, max_length=13)
    given_name: str = Field(min_length=1, max_length=200, pattern=NO_CONTROLS)
    family_name: str = Field(min_length=1, max_length=200, pattern=NO_CONTROLS)
    guardians: list[GuardianEntry] = Field(default_factory=list, max_length=6)
    staff_id: str = Field(min_length=1, max_length=100)
    unit_id: str = Field(min_length=1, max_length=100)
    filed_on: Day = Field(strict=True, description="YYYY-MM-DD; a number is no day")
    to_unit_id: str = Field(min_length=1, max_length=100)
    unmet_needs: list[UnmetNeed] = Field(min_length=1, max_length=8)
    five_questions: FiveQuestions = Field(default_factory=FiveQuestions)
    own_support_taken: str = Field(default="", max_length=4000, pattern=TEXT_LINES)
    guardians_informed: Boolean
    withheld_from_guardians: Boolean = False

    @model_validator(mode="before")
    @classmethod
    def _day_as_text(cls, data: Any) -> Any:
        """A day is written ``YYYY-MM-DD`` in both forms; strict mode takes no text for a date,
        so it is read here, and only in that one spelling."""
        if isinstance(data, dict) and isinstance(data.get("filed_on"), str):
            text = data["filed_on"]
            try:
                if len(text) != 10:
                    raise ValueError
                data = {**data, "filed_on": date.fromisoformat(text)}
            except ValueError:
                pass  # left as text: refused as no date, naming the column
        return data


@dataclass
class RowOutcome:
    row: int
    """The row's number among the data rows, from 1 (the CSV header is not counted)."""
    eservice_id: str | None
    card_id: str | None = None
    errors: list[dict[str, str]] = field(default_factory=list)
    title: str = ""

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"row": self.row, "eservice_id": self.eservice_id}
        if self.card_id is not None:
            out["card_id"] = self.card_id
        if self.errors or self.title:
            out["title"] = self.title
            out["errors"] = self.errors
        return out


@dataclass
class ImportReport:
    """What became of each row: accepted (with the card's id), rejected (with why, field by
    field), or skipped as imported before."""

    format: ImportFormat
    dry_run: bool
    accepted: list[RowOutcome] = field(default_factory=list)
    rejected: list[RowOutcome] = field(default_factory=list)
    skipped: list[RowOutcome] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return len(self.accepted) + len(self.rejected) + len(self.skipped)

    def as_dict(self) -> dict[str, Any]:
        return {
            "format": self.format.value,
            "dry_run": self.dry_run,
            "rows": self.rows,
            "accepted": [r.as_dict() for r in self.accepted],
            "rejected": [r.as_dict() for r in self.rejected],
            "skipped": [r.as_dict() for r in self.skipped],
        }


class ImportFileError(InvalidInputError):
    """The file as a whole cannot be read: too large, not UTF-8, not CSV or JSON of the
    documented shape, or too many rows. Nothing of it is imported."""

    title = "Unreadable import file"


def read_rows(data: bytes, fmt: ImportFormat, *, max_bytes: int = MAX_FILE_BYTES, max_rows: int = MAX_ROWS) -> list[dict[str, Any]]:
    """The file's rows as plain values, untyped yet; an unreadable file raises
    :class:`ImportFileError` naming what is wrong, never echoing the file's content."""
    if len(data) > max_bytes:
        raise ImportFileError(f"the file is larger than {max_bytes} bytes", field="file")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ImportFileError("the file is not UTF-8 text", field="file") from None
    rows = _csv_rows(text, max_rows) if fmt is ImportFormat.CSV else _json_rows(text)
    if not rows:
        raise ImportFileError("the file has no rows", field="file")
    if len(rows) > max_rows:
        raise ImportFileError(f"the file has more than {max_rows} rows; split it", field="file")
    return rows


def _csv_rows(text: str, max_rows: int) -> list[dict[str, Any]]:
    try:
        reader = csv.DictReader(io.StringIO(text, newline=""), strict=True)
        header = reader.fieldnames or []
        unknown = sorted({_report_field(c) if NAME_PART.fullmatch(c) else "column" for c in set(header) - set(CSV_COLUMNS)})
        missing = sorted(REQUIRED_COLUMNS - set(header))
        if not header or unknown or missing or len(set(header)) != len(header):
            errors = [{"field": c, "message": "unknown column"} for c in unknown[:10]]
            errors += [{"field": c, "message": "missing column"} for c in missing]
            raise ImportFileError("the header row does not name the documented columns", errors=errors or None, field="file")
        rows: list[dict[str, Any]] = []
        for raw in reader:
            if None in raw or any(v is None for v in raw.values()):
                raise ImportFileError(f"row {len(rows) + 1} has another number of cells than the header", field="file")
            rows.append(_typed_cells(raw))
            if len(rows) > max_rows:
                break  # plenty to refuse the file for; read no further
        return rows
    except csv.Error:
        raise ImportFileError("the file is not CSV as documented", field="file") from None


def _typed_cells(raw: dict[str, str]) -> dict[str, Any]:
    """A CSV row in the JSON form's shape. Booleans are only the words ``true`` and ``false``,
    anything else stays text and is refused as no boolean; empty optional cells are left out."""
    out: dict[str, Any] = {}
    questions: dict[str, str] = {}
    for column, cell in raw.items():
        if cell == "" and column not in REQUIRED_COLUMNS:
            continue
        if column in BOOLEAN_CELLS:
            out[column] = {"true": True, "false": False}.get(cell, cell)
        elif column in JSON_CELLS:
            out[column] = _json_cell(cell)
        elif column.startswith("five_questions."):
            questions[column.removeprefix("five_questions.")] = cell
        else:
            out[column] = cell
    if questions:
        out["five_questions"] = questions
    return out


MAX_JSON_DEPTH = 32
"""Arrays and objects nested at most this deep: a card is four levels inside its file."""


class _RepeatedKeyError(ValueError):
    pass


def _one_of_each(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """An object whose every key is given once: with a key twice, which one the e-service
    meant cannot be known, so the file is refused rather than the last one silently taken."""
    found = dict(pairs)
    if len(found) != len(pairs):
        raise _RepeatedKeyError
    return found


def _no_constant(name: str) -> Any:
    raise ValueError(name)


def _too_deep(value: Any) -> bool:
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = list(item.values()) if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        if depth > MAX_JSON_DEPTH:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def _json_cell(cell: str) -> Any:
    """A CSV cell's JSON list, read as strictly as the JSON form; anything else stays text,
    which is refused as no list, naming the column."""
    try:
        value = json.loads(cell, object_pairs_hook=_one_of_each, parse_constant=_no_constant)
    except (ValueError, RecursionError):
        return cell
    return cell if _too_deep(value) else value


def _json_rows(text: str) -> list[dict[str, Any]]:
    """The JSON form read as strictly as the API reads a body, whichever way the file came
    (the CLI reads it here first): a key twice, ``NaN`` or nesting past any card's is refused."""
    try:
        doc = json.loads(text, object_pairs_hook=_one_of_each, parse_constant=_no_constant)
    except _RepeatedKeyError:
        raise ImportFileError("the file gives a key more than once in one object", field="file") from None
    except RecursionError:
        raise ImportFileError(f"the file nests arrays and objects more than {MAX_JSON_DEPTH} deep", field="file") from None
    except ValueError:
        raise ImportFileError("the file is not JSON", field="file") from None
    if _too_deep(doc):
        raise ImportFileError(f"the file nests arrays and objects more than {MAX_JSON_DEPTH} deep", field="file")
    cards = doc.get("cards") if isinstance(doc, dict) and set(doc) == {"cards"} else doc
    if not isinstance(cards, list):
        raise ImportFileError('the file is neither a list of cards nor {"cards": [...]}', field="file")
    return cards


UNKNOWN: dict[type[HubError], str] = {
    UnknownStaffError: "no such staff member in this cooperation area",
    UnknownUnitError: "no such unit in this cooperation area",
    ChildNotFoundError: "the card cannot be filed for this child",
    RecordErasedError: "this child's record has been erased",
}
"""What a row is told when it names what the area does not have: the same as the API says,
without repeating the id the row gave or the child's id in the hub."""


def _row_errors(e: HubError) -> list[dict[str, str]]:
    """Why a row was rejected, field by field (RFC 9457's ``errors``), never echoing the row."""
    for kind, message in UNKNOWN.items():
        if isinstance(e, kind):
            return [{"field": e.field or "row", "message": message}]
    if isinstance(e, InvalidInputError) and e.errors:
        return [{"field": _report_field(str(x.get("field") or "row")), "message": str(x.get("message", ""))} for x in e.errors]
    return [{"field": e.field or "row", "message": e.detail}]


def card_id_for(tenant_id: str, eservice_id: str) -> str:
    """The card's id in the hub, the same for every import of the same e-service card into
    the same area. A digest, so the e-service's id itself is not written on the log."""
    digest = hashlib.sha256(f"backa-card-import\x00{tenant_id}\x00{eservice_id}".encode()).hexdigest()
    return f"card-e-{digest[:24]}"


class CardImports(Registration):
    """Bringing in discovery cards from an e-service's export."""

    @traced("command")
    def import_cards(
        self, p: Principal, data: bytes, fmt: ImportFormat, *, dry_run: bool = False,
        max_bytes: int = MAX_FILE_BYTES, max_rows: int = MAX_ROWS,
    ) -> ImportReport:
        """Import the file row by row; a row refused leaves the others to go on. With
        ``dry_run`` every check is made and nothing is appended."""
        self._permit(p, Action.IMPORT_CARDS, target=Target(tenant_id=p.tenant_id))  # anyone who may import at all
        rows = read_rows(data, fmt, max_bytes=max_bytes, max_rows=max_rows)
        report = ImportReport(fmt, dry_run)
        seen: dict[str, IdentityNumber] = {}
        for number, raw in enumerate(rows, start=1):
            eservice_id = _report_id(raw.get("eservice_id")) if isinstance(raw, dict) else None
            outcome = RowOutcome(number, eservice_id)
            try:
                kind = self._import_row(p, raw, outcome, seen, dry_run=dry_run)
            except StoreUnavailableError:
                raise  # nothing more can be filed now; the rows filed so far are skipped when run again
            except HubError as e:
                outcome.title = e.title
                outcome.errors = _row_errors(e)
                report.rejected.append(outcome)
                continue
            (report.accepted if kind == "accepted" else report.skipped).append(outcome)
        return report

    def _import_row(
        self, p: Principal, raw: Any, outcome: RowOutcome, seen: dict[str, IdentityNumber], *, dry_run: bool
    ) -> Literal["accepted", "skipped"]:
        if not isinstance(raw, dict):
            raise InvalidInputError("a card is an object of the documented fields", field="row")
        try:
            row = CardRow.model_validate(raw)
        except ValidationError as e:
            raise _invalid(e) from None
        if row.filed_on > self.now().date():
            raise InvalidInputError("the card cannot be filed after today", field="filed_on")
        staff = self.directory.staff(p.tenant_id, row.staff_id)
        if staff.unit_id != row.unit_id:
            raise InvalidInputError("the staff member is not at this unit in the directory", field="unit_id")
        filed_by = StaffRef(staff.user_id, staff.unit_id, staff.roles)
        self._permit(p, Action.IMPORT_CARDS, target=Target(staff=filed_by, tenant_id=p.tenant_id))
        filer = Principal(ViewerKind.STAFF, p.tenant_id, staff.user_id, staff.roles, unit_id=staff.unit_id)
        card_id = card_id_for(p.tenant_id, row.eservice_id)
        registration = RegisterChild(personnummer=row.personnummer, given_name=row.given_name,
                                     family_name=row.family_name, guardians=row.guardians)
        card = SubmitDiscoveryCard(
            to_unit_id=row.to_unit_id, unmet_needs=row.unmet_needs, five_questions=row.five_questions,
            own_support_taken=row.own_support_taken, guardians_informed=row.guardians_informed,
            withheld_from_guardians=row.withheld_from_guardians,
        )
        number = self._child_number(row.personnummer, self.now())
        if card_id in seen and seen[card_id] != number:
            # one e-service id for two children's cards: neither is "imported before" for the other
            raise InvalidInputError("an earlier row of the file gives this e-service id to another child's card", field="eservice_id")
        if card_id in seen or self._already_imported(p.tenant_id, number, card_id):
            outcome.card_id = card_id
            return "skipped"
        seen[card_id] = number
        if dry_run:
            self._permit(filer, Action.REGISTER_CHILD)
            self.directory.unit(p.tenant_id, row.to_unit_id, "to_unit_id")
            outcome.card_id = card_id
            return "accepted"
        child_id = self.register_child(filer, registration)
        try:
            self.submit_discovery_card(filer, child_id, card, card_id=card_id, imported_by=p.user_id)
        except InvalidInputError as e:
            if e.field == "card_id":  # another import appended it meanwhile
                outcome.card_id = card_id
                return "skipped"
            raise
        outcome.card_id = card_id
        return "accepted"

    def _already_imported(self, tenant_id: str, number: IdentityNumber, card_id: str) -> bool:
        """Whether the card is on the child already; nothing is read beyond its card ids."""
        child_id: UUID = self.blind_index.child_id(tenant_id, number)
        try:
            child = self._load(tenant_id, child_id)
        except (ChildNotFoundError, RecordErasedError):
            return False
        return card_id in child.cards
