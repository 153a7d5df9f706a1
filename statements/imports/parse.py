"""Rows of a statement file -> validated ledger-line drafts, or errors naming the row
and the field. Pure: no Django, no database; the preset tables drive everything.

A bank's file is its evidence: what it says is kept, never corrected on a guess.
A cross-border line whose FX figures differ beyond the bank's rounding is kept and
flagged (statements.imports.fx); a Buddhist-era date is shifted only when its year
proves it (above 2400); a date far outside the plausible range is a warning shown
before the import, and an absurd one is an error; a channel is read from whole
words (statements.imports.channels).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from core.money import CURRENCIES
from statements.imports.channels import channel_matcher
from statements.imports.fx import (
    FX_MISMATCH,
    fx_check,
    fx_mismatch_message,
    rate_from_text,
)
from statements.imports.mapping import (
    mapping_clean,
    mapping_columns,
    spec_for,
)
from statements.imports.presets import PRESETS
from statements.imports.readers import Cell, Table

CHANNELS = {
    "KHQR",
    "TRANSFER",
    "BILL",
    "TOPUP",
    "CROSSBORDER",
    "CARD",
    "FEE",
    "INTEREST",
    "OTHER",
}
HEADER_SEARCH_LINES = 30
MAX_ERRORS = 200
# the fields whose spreadsheet cells are read as they come (dates, numbers); every
# other field is text, which a CSV's cells are already and a spreadsheet's are made
# once per row (a reference typed as a number, say) before the row is parsed
RAW_FIELDS = {
    "posted_at",
    "value_date",
    "amount",
    "debit",
    "credit",
    "balance_after",
    "original_amount",
    "fx_rate",
    "fee",
}
_YEAR = re.compile(r"\b(\d{4})\b")
# A year above this is a Buddhist-era year (2400 BE is 1857 CE): the only proof a
# date shift may rest on.
BUDDHIST_ERA_ABOVE = 2400
# Statement dates outside [PLAUSIBLE_FROM, today + FUTURE_DAYS] are warned about
# before the import; outside [ABSURD_BEFORE, today + ABSURD_FUTURE_DAYS] they are
# row errors (a year read wrongly, not a bank's line).
PLAUSIBLE_FROM = dt.date(2000, 1, 1)
FUTURE_DAYS = 3
ABSURD_BEFORE = dt.date(1970, 1, 1)
ABSURD_FUTURE_DAYS = 366
_PLAIN = re.compile(r"[+-]?[0-9]{1,15}(?:\.[0-9]{1,12})?")
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
# More digits than this before the point is no bank's amount: the ledger's
# integer minor units (BigIntegerField) end near 9.2e16, and Decimal arithmetic
# past 28 digits raises. Such a cell is a row error, never a crash.
AMOUNT_MAX_DIGITS = 15


class LineDraft(NamedTuple):
    """One validated line, ready for the ledger (amounts signed, Decimal)."""

    row: int
    external_id: str
    posted_at: dt.datetime
    value_date: dt.date
    amount: Decimal
    currency: str
    channel: str
    counterparty_name: str
    counterparty_account: str
    reference: str
    bakong_hash: str
    description: str
    balance_after: Decimal | None
    original_amount: Decimal | None
    original_currency: str
    fx_rate: Decimal | None
    fee: Decimal | None
    has_bank_id: bool
    biller_category: str = ""
    fx_mismatch: bool = False


class RowError(NamedTuple):
    """A row that cannot be read (an error), or one to look at (a warning).
    `field` is Tonle's name for it; `column` is the file's own header, which the
    message starts with, quoting the cell as the file has it."""

    row: int
    field: str
    message: str
    column: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "row": self.row,
            "field": self.field,
            "column": self.column or self.field,
            "message": self.message,
        }


class RowFlag(NamedTuple):
    """A line imported as the bank wrote it, flagged for a person to look at."""

    row: int
    txn_id: str
    flag: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "row": self.row,
            "txn_id": self.txn_id,
            "flag": self.flag,
            "message": self.message,
        }


@dataclass(frozen=True)
class Recognition:
    """Which preset a file was read with, and why: recognised by headers that are
    that bank's own, chosen by the user, or none."""

    preset: str
    how: str  # "headers" | "chosen" | "mapped" | "none"
    headers: tuple[str, ...] = ()

    @property
    def message(self) -> str:
        name = PRESETS[self.preset]["name"] if self.preset in PRESETS else ""
        if self.how == "headers":
            quoted = ", ".join(f"'{h}'" for h in self.headers)
            return f"Recognised as {name} by its headers {quoted}"
        if self.how == "chosen":
            return f"Read as {name}, the format chosen"
        if self.how == "mapped":
            return "No bank recognised: read with the columns as mapped"
        return "No bank recognised: map the columns"


@dataclass
class ParseResult:
    preset: str
    headers: list[str]
    header_line: int
    columns: dict[str, str]  # field -> header used
    lines: list[LineDraft] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    rows: int = 0
    truncated_errors: bool = False
    recognition: Recognition = field(default_factory=lambda: Recognition("", "none"))
    warnings: list[RowError] = field(default_factory=list)
    flags: list[RowFlag] = field(default_factory=list)
    flagged: int = 0  # every flagged line (`flags` lists the first MAX_ERRORS)
    notes: list[str] = field(default_factory=list)
    era_shifted: int = 0  # dates read with the Buddhist-era shift
    warned: int = 0  # every warning (`warnings` lists the first MAX_ERRORS)

    @property
    def ok(self) -> bool:
        return not self.errors


class _RowProblem(Exception):
    """`message` says what is wrong with the cell, quoting it; the file's header
    is put in front of it where the problem is recorded (or `column`, for a
    problem of two columns)."""

    def __init__(self, field: str, message: str, column: str = "") -> None:
        self.field = field
        self.message = message
        self.column = column


def normalise_header(text: Any) -> str:
    return " ".join(str(text or "").replace("\ufeff", "").split()).lower()


def resolve_columns(
    headers: list[str], preset: dict[str, Any], mapping: dict[str, str] | None
) -> tuple[dict[str, int], dict[str, str], list[RowError]]:
    """Field -> column index, from the preset's header spellings, then the user's
    mapping (which wins; an empty value unmaps a field)."""
    index = {}
    for i, header in enumerate(headers):
        index.setdefault(normalise_header(header), i)
    positions: dict[str, int] = {}
    for name, spellings in preset["columns"].items():
        for spelling in spellings:
            if normalise_header(spelling) in index:
                positions[name] = index[normalise_header(spelling)]
                break
    problems: list[RowError] = []
    for name, header in (mapping or {}).items():
        if not header:
            positions.pop(name, None)
        elif normalise_header(header) in index:
            positions[name] = index[normalise_header(header)]
        else:
            problems.append(
                RowError(0, name, f"the file has no column {header!r} to map")
            )
    used = {name: str(headers[i]) for name, i in positions.items()}
    return positions, used, problems


def required_fields(preset: dict[str, Any]) -> list[str]:
    needed = list(preset["required"])
    mode = preset["amount_mode"]
    extra = {
        "signed": ["amount"],
        "debit_credit": ["debit", "credit"],
        "direction": ["amount", "direction"],
    }[mode]
    needed += [f for f in extra if f not in needed]
    if "posted_at" not in needed:
        needed.append("posted_at")
    return needed


def _required_spellings(preset: dict[str, Any]) -> list[set[str]]:
    return [
        {normalise_header(s) for s in preset["columns"].get(name, [])}
        for name in required_fields(preset)
        if name in preset["columns"]
    ]


_MISSING_HINT = {
    "amount": "choose the amount column, or say under Amounts that the file has "
    "a money-in and a money-out column",
    "debit": "choose the money-out column, or say under Amounts that the file "
    "has one amount column",
    "credit": "choose the money-in column, or say under Amounts that the file "
    "has one amount column",
    "posted_at": "choose the column that holds the date",
}


def guess_header(table: Table) -> int:
    """Where the headers most likely are when nothing names them: the first of
    the opening rows about as wide as the widest, whose every cell is a label
    (text with a letter, not a number or a date). A bank's title block above
    it (name, account, period) is narrower, or holds numbers and dates."""
    head = table.rows[:HEADER_SEARCH_LINES]
    widths = [sum(1 for c in row if c not in (None, "")) for row in head]
    widest = max(widths, default=0)
    for i, row in enumerate(head):
        if widths[i] >= max(2, widest * 4 / 5) and all(
            _label_like(c) for c in row if c not in (None, "")
        ):
            return i
    return next((i for i, row in enumerate(table.rows) if any(row)), 0)


def _label_like(cell: Cell) -> bool:
    if not isinstance(cell, str):
        return False
    text = cell.strip()
    if not any(ch.isalpha() for ch in text):
        return False
    try:
        Decimal(text.replace(",", ""))
    except ArithmeticError:
        return True
    return False  # "Infinity", "NaN", "1e5"


def find_header(table: Table, preset: dict[str, Any]) -> int | None:
    """Index of the header row: the first of the opening lines that names every
    required column (bank exports often put a title block above it)."""
    wanted = _required_spellings(preset)
    for i, row in enumerate(table.rows[:HEADER_SEARCH_LINES]):
        cells = {normalise_header(c) for c in row}
        if wanted and all(spellings & cells for spellings in wanted):
            return i
    return None


def _signature_in(cells: set[str], spec: dict[str, Any]) -> tuple[str, ...] | None:
    """The first of the preset's signatures (headers that are that bank's own and
    no other preset's) whose every header is among `cells`."""
    for signature in spec.get("signatures", ()):
        if all(normalise_header(h) in cells for h in signature):
            return tuple(signature)
    return None


def recognise(table: Table) -> Recognition:
    """The preset whose own headers and required columns stand in one of the
    opening rows; none when no preset, or more than one, fits (a guess would read
    another bank's dates and amounts by the wrong rules)."""
    found: list[Recognition] = []
    for key, spec in PRESETS.items():
        wanted = _required_spellings(spec)
        for row in table.rows[:HEADER_SEARCH_LINES]:
            cells = {normalise_header(c) for c in row}
            if not all(spellings & cells for spellings in wanted):
                continue
            headers = _signature_in(cells, spec)
            if headers is not None:
                found.append(Recognition(key, "headers", headers))
                break
    if len(found) == 1:
        return found[0]
    return Recognition("", "none")


def detect_preset(table: Table) -> str | None:
    return recognise(table).preset or None


def parse_table(
    table: Table,
    *,
    preset: str | None,
    mapping: dict[str, str] | None,
    currency: str,
    zone: ZoneInfo,
    limit: int | None = None,
    today: dt.date | None = None,
) -> ParseResult:
    """Validate every row (or the first `limit`, for a preview)."""
    result, lines = parse_stream(
        table,
        preset=preset,
        mapping=mapping,
        currency=currency,
        zone=zone,
        limit=limit,
        today=today,
    )
    result.lines.extend(lines)
    return result


def parse_stream(
    table: Table,
    *,
    preset: str | None,
    mapping: dict[str, Any] | None,
    currency: str,
    zone: ZoneInfo,
    limit: int | None = None,
    today: dt.date | None = None,
) -> tuple[ParseResult, Iterator[LineDraft]]:
    """The header checked now, the lines validated as they are iterated: the
    result's `errors`, `warnings`, `flags` and `rows` are complete once the iterator
    is exhausted, and its `lines` stay empty (the caller keeps what it needs).
    `today` (the account's local date) bounds the plausible dates; without it only
    the past is checked. `mapping` (statements.imports.mapping) points fields at
    the file's headers and says how it writes amounts and dates; it raises
    MappingError when it names an unknown field or option."""
    mapping = mapping_clean(mapping)
    if preset:
        if preset not in PRESETS:
            raise KeyError(preset)
        recognition = Recognition(preset, "chosen")
    else:
        recognition = recognise(table)
        if not recognition.preset and mapping:
            recognition = Recognition("", "mapped")
    key = recognition.preset
    spec = spec_for(key, mapping)
    chosen_line = mapping.get("header_line")
    if chosen_line is not None:
        header_at = chosen_line - table.first_line
    elif key or mapping_columns(mapping):
        header_at = find_header(table, spec)
    else:
        header_at = None
    if header_at is None:
        header_at = guess_header(table)
    if not 0 <= header_at < len(table.rows):
        result = ParseResult(preset=key, headers=[], header_line=0, columns={})
        result.errors.append(
            RowError(
                0,
                "header_line",
                f"header_line: the file has no line {chosen_line} among its first "
                f"{len(table.rows)}",
            )
        )
        return result, iter(())
    headers = [str(c or "").strip() for c in table.rows[header_at]]
    header_line = table.first_line + header_at
    positions, used, problems = resolve_columns(headers, spec, mapping_columns(mapping))
    result = ParseResult(
        preset=key,
        headers=headers,
        header_line=header_line,
        columns=used,
        recognition=recognition,
    )
    result.errors.extend(e._replace(row=header_line) for e in problems)
    missing = [f for f in required_fields(spec) if f not in positions]
    if not key and not mapping:
        result.errors.append(
            RowError(
                header_line,
                "file",
                "no bank recognised by its own headers: choose the bank's preset or "
                "map the columns",
            )
        )
        return result, iter(())
    for name in missing:
        if key:
            spelled = " or ".join(repr(s) for s in spec["columns"].get(name, [name]))
            message = f"required column missing (expected {spelled})"
        else:
            message = (
                f"no column of the file is mapped to {name}; "
                f"{_MISSING_HINT.get(name, 'choose its column under Columns')}"
            )
        result.errors.append(RowError(header_line, name, message))
    if result.errors:
        return result, iter(())
    data: Iterator[list[Cell]] = itertools.chain(
        table.rows[header_at + 1 :], table.more
    )
    if limit is not None:
        data = itertools.islice(data, limit)
    parse_row = _row_parser(
        spec, positions, currency=currency, zone=zone, today=today, result=result
    )
    width = max(positions.values(), default=-1) + 1
    text_at = None
    if table.kind != "csv":
        text_at = sorted({i for f, i in positions.items() if f not in RAW_FIELDS})
    return result, _lines(
        result,
        data,
        parse_row,
        width,
        first=header_line + 1,
        text_at=text_at,
    )


def _lines(
    result: ParseResult,
    data: Iterator[list[Cell]],
    parse_row: Callable[[int, list[Cell]], LineDraft],
    width: int,
    *,
    first: int,
    text_at: list[int] | None,
) -> Iterator[LineDraft]:
    """The rows' drafts; `text_at` lists the text fields' cells of a table whose
    cells are not all text (None for a CSV)."""
    pad: list[Cell] = [""] * (width + 1)
    seen_ids: dict[str, int] = {}
    occurrences: dict[tuple, int] = {}
    errors = result.errors
    rows = 0
    for offset, row in enumerate(data):
        # any() settles the usual row at once; the all() only runs on a row with
        # no truthy cell (which may still hold a 0 from a spreadsheet)
        if not any(row) and all(c in (None, "") for c in row):
            continue
        rows += 1
        number = first + offset
        # exactly `width` cells, stripped, plus one empty sentinel for unmapped
        # fields (a CSV's cells are all text: stripped in one C-level pass)
        if len(row) < width:
            row = row + pad[: width - len(row)]
        if text_at is None:
            row = list(map(str.strip, row[:width]))
        else:
            row = [c.strip() if c.__class__ is str else c for c in row[:width]]
            for i in text_at:
                if row[i].__class__ is not str:
                    row[i] = _text(row[i])
        row.append("")
        try:
            line = parse_row(number, row)
        except _RowProblem as problem:
            if len(errors) < MAX_ERRORS:
                errors.append(_row_error(result, number, problem))
            else:
                result.truncated_errors = True
            continue
        if line.has_bank_id:
            earlier = seen_ids.get(line.external_id)
            if earlier is not None:
                if len(errors) < MAX_ERRORS:
                    errors.append(
                        _row_error(
                            result,
                            number,
                            _RowProblem(
                                "txn_id",
                                f"{line.external_id!r} already appears on row "
                                f"{earlier}",
                            ),
                        )
                    )
                continue
            seen_ids[line.external_id] = number
        else:
            triple = (line.value_date, line.amount, line.reference)
            n = occurrences.get(triple, 0)
            occurrences[triple] = n + 1
            line = line._replace(external_id=synthetic_id(*triple, n))
        if line.fx_mismatch:
            _flag_fx(result, line)
        yield line
    result.rows = rows
    if rows == 0 and not errors:
        errors.append(
            RowError(first - 1, "file", "no statement lines under the header row")
        )
    if result.era_shifted:
        result.notes.append(
            f"{result.era_shifted} date(s) carry a Buddhist-era year (above "
            f"{BUDDHIST_ERA_ABOVE}) and were read as Gregorian (year − 543)"
        )


def _row_error(result: ParseResult, number: int, problem: _RowProblem) -> RowError:
    """The problem as the file says it: its own header first, then the cell."""
    column = problem.column or result.columns.get(problem.field, problem.field)
    return RowError(number, problem.field, f"{column}: {problem.message}", column)


def _flag_fx(result: ParseResult, line: LineDraft) -> None:
    result.flagged += 1
    if len(result.flags) >= MAX_ERRORS:
        return
    difference = fx_check(
        line.original_amount, line.fx_rate, line.amount, line.fee, line.currency
    )
    assert difference is not None  # the parser flagged it for this difference
    result.flags.append(
        RowFlag(
            line.row,
            line.external_id,
            FX_MISMATCH,
            fx_mismatch_message(
                original=line.original_amount,
                original_currency=line.original_currency,
                rate_text=line.fx_rate,
                amount=line.amount,
                fee=line.fee,
                currency=line.currency,
                difference=difference,
            ),
        )
    )


def synthetic_id(value_date: dt.date, amount: Decimal, reference: str, n: int) -> str:
    """A stable id for a bank that gives none: date + amount + reference + the
    occurrence number within the file (two equal coffees on one day stay two)."""
    digest = hashlib.sha256(
        f"{value_date.isoformat()}|{amount:.2f}|{reference}|{n}".encode()
    ).hexdigest()
    return f"F-{digest[:32]}"


def amount_in_range(value: Decimal) -> bool:
    """Whether an amount is one the ledger can hold and add up: finite, with at
    most AMOUNT_MAX_DIGITS digits before the point (feeds and pushes ask too)."""
    return value.is_finite() and value.adjusted() < AMOUNT_MAX_DIGITS


def instant_problem(
    value: dt.datetime, *, zone: ZoneInfo, today: dt.date | None = None
) -> str | None:
    """Why a bank's time cannot be a ledger line's (it is no UTC time at all, as
    0001-01-01T00:00:00+07:00 is not, or its day is before ABSURD_BEFORE or more
    than ABSURD_FUTURE_DAYS after `today`), or None."""
    try:
        value.astimezone(dt.UTC)
        day = value.astimezone(zone).date()
    except OverflowError:
        return f"{value.isoformat()} is out of range"
    if day < ABSURD_BEFORE or (
        today is not None and day > today + dt.timedelta(days=ABSURD_FUTURE_DAYS)
    ):
        return f"{value.isoformat()} is a date no statement line can carry"
    return None


def _cell_text(value: Any) -> str:
    """A cell as the file shows it, for a message."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime | dt.date):
        return (
            value.isoformat(sep=" ")
            if isinstance(value, dt.datetime)
            else (value.isoformat())
        )
    return str(value)


def _amount_of(raw: Cell, text: str, name: str, ccy: str) -> Decimal:
    """`text` (the cell with the file's separators taken out) as an amount in
    `ccy`, exactly; a row problem quoting the cell as the file has it when it is
    not a number, out of range, or more precise than the currency (fractional
    riel is an error, never a rounding)."""
    shown = _cell_text(raw)
    if not _NUMBER.fullmatch(text):
        raise _RowProblem(name, f"{shown!r} is not an amount")
    whole, _, fraction = text.lstrip("+-").partition(".")
    if len(whole.lstrip("0")) > AMOUNT_MAX_DIGITS:
        raise _RowProblem(
            name,
            f"{shown[:40]!r} is out of range (more than {AMOUNT_MAX_DIGITS} digits "
            "before the decimal point)",
        )
    places = CURRENCIES[ccy].places
    if fraction[places:].strip("0"):
        if places == 0:
            raise _RowProblem(
                name, f"{shown!r} is not whole riel: riel amounts are whole numbers"
            )
        raise _RowProblem(
            name, f"{shown!r} has more than {places} decimal places for {ccy}"
        )
    return Decimal(text) + Decimal(0).scaleb(-places)


def _text(value: Cell) -> str:
    """A spreadsheet cell as text."""
    if value.__class__ is str:
        return value
    return "" if value is None else str(value)


def _row_parser(
    spec: dict[str, Any],
    positions: dict[str, int],
    *,
    currency: str,
    zone: ZoneInfo,
    today: dt.date | None,
    result: ParseResult,
) -> Callable[[int, list[Cell]], LineDraft]:
    """One closure per file with the column positions and formats bound, so a row
    costs only its own parsing. Warnings and era shifts are counted on `result`."""
    sentinel = max(positions.values(), default=-1) + 1

    def p(name: str) -> int:
        return positions.get(name, sentinel)

    i_id, i_posted, i_time = p("txn_id"), p("posted_at"), p("posted_time")
    i_value, i_amount, i_debit, i_credit = (
        p("value_date"),
        p("amount"),
        p("debit"),
        p("credit"),
    )
    i_direction, i_ccy, i_channel = p("direction"), p("currency"), p("channel")
    i_cp, i_cpacct, i_ref = p("counterparty"), p("counterparty_account"), p("reference")
    i_hash, i_desc, i_bal = p("bakong_hash"), p("description"), p("balance_after")
    i_orig, i_origccy, i_rate, i_fee = (
        p("original_amount"),
        p("original_currency"),
        p("fx_rate"),
        p("fee"),
    )
    i_biller = p("biller_category")
    mode = spec["amount_mode"]
    thousands = spec.get("thousands", "")
    decimal_mark = spec.get("decimal", ".")
    date_formats = spec["date_formats"]
    time_formats = spec.get("time_formats", [])
    value_formats = spec.get("value_date_formats", ["iso"])
    require_offset = spec.get("require_offset", False)
    year_offset = spec.get("year_offset", 0)
    era_always = spec.get("era_always", False)
    date_hint = spec.get("date_hint", "")  # the mapping says: Buddhist era
    out_positive = spec.get("sign") == "out_positive"  # one column, money out +
    as_written = spec.get("sign") == "as_written"  # debit/credit columns signed
    strict_channel = spec.get("strict_channel", False)
    channel_in = channel_matcher(spec.get("channel_words", {}))
    default_channel = spec.get("default_channel", "OTHER")
    credit_words = {w.lower() for w in spec.get("credit_words", [])}
    debit_words = {w.lower() for w in spec.get("debit_words", [])}

    # the canonical format's common case skips the general date loop
    iso_only = date_formats == ["iso"] and not year_offset
    value_iso = value_formats[:1] == ["iso"] and not year_offset
    from_iso = dt.datetime.fromisoformat
    date_from_iso = dt.date.fromisoformat
    places = CURRENCIES[currency].places
    plain = _PLAIN.fullmatch
    # the plausible and the possible statement dates (see the module's constants)
    latest = impossible_after = None
    if today is not None:
        latest = today + dt.timedelta(days=FUTURE_DAYS)
        impossible_after = today + dt.timedelta(days=ABSURD_FUTURE_DAYS)
    warnings = result.warnings

    # without today, only the instants the ledger cannot hold (year 1, 9999)
    far = latest if latest is not None else dt.date.max - dt.timedelta(days=2)

    def plausible(number: int, name: str, day: dt.date, shown: Any) -> None:
        """Refuse a date no bank statement can hold; warn about a far one."""
        if day >= PLAUSIBLE_FROM and (latest is None or day <= latest):
            return
        if day < ABSURD_BEFORE or (
            impossible_after is not None and day > impossible_after
        ):
            raise _RowProblem(
                name,
                f"{_cell_text(shown)!r} reads as {day.isoformat()}, a date no "
                "statement line can carry: check the year and the date format",
            )
        result.warned += 1
        if len(warnings) < MAX_ERRORS:
            column = result.columns.get(name, name)
            warnings.append(
                RowError(
                    number,
                    name,
                    f"{column}: {_cell_text(shown)!r}: {day.isoformat()} is "
                    f"far from the usual dates (before {PLAUSIBLE_FROM.year}, or "
                    f"more than {FUTURE_DAYS} days after today): check it before "
                    "importing",
                    column,
                )
            )

    def local_day(posted: dt.datetime, shown: Any) -> dt.date:
        """The account-local day of an instant; one that cannot be a UTC time at
        all (0001-01-01T00:00:00+07:00) is a row error, not an overflow later."""
        try:
            posted.astimezone(dt.UTC)
            return posted.astimezone(zone).date()
        except OverflowError:
            raise _RowProblem(
                "posted_at",
                f"{_cell_text(shown)!r} is out of range: no statement line can "
                "carry it (check the year and the date format)",
            ) from None

    def era(text: str) -> str:
        """`text` with a Buddhist-era year made Gregorian, when its year (above
        BUDDHIST_ERA_ABOVE) proves it is one, or the mapping says every year is
        one; any other year as written."""
        if not year_offset:
            return text
        found = _YEAR.search(text)
        if found is None or (
            int(found.group(1)) <= BUDDHIST_ERA_ABOVE and not era_always
        ):
            return text
        result.era_shifted += 1
        year = str(int(found.group(1)) - year_offset)
        return text[: found.start(1)] + year + text[found.end(1) :]

    def era_cell(value: dt.datetime, name: str) -> dt.datetime:
        """A spreadsheet's date cell with a Buddhist-era year, made Gregorian."""
        if not year_offset or (value.year <= BUDDHIST_ERA_ABOVE and not era_always):
            return value
        try:
            shifted = value.replace(year=value.year - year_offset)
        except ValueError:  # 29 February of a year that has none after the shift
            raise _RowProblem(
                name,
                f"{_cell_text(value)!r} is not a date once its Buddhist-era year is "
                "made Gregorian",
            ) from None
        result.era_shifted += 1
        return shifted

    # the usual amount, digits and at most the account currency's places, taken as
    # it is (unless the preset's thousands mark is a character such text can hold)
    exact = re.compile(
        r"(?!)"
        if thousands and thousands in "+-.0123456789"
        else rf"[+-]?[0-9]{{1,15}}(?:\.[0-9]{{1,{places}}})?"
        if places
        else r"[+-]?[0-9]{1,15}"
    ).fullmatch

    def money(raw: Cell, name: str, ccy: str = currency) -> Decimal:
        if raw.__class__ is str:
            text = raw  # cells arrive stripped
            if ccy == currency and exact(text):
                return Decimal(text)
        else:
            text = "" if raw is None else str(raw).strip()
        if thousands:
            text = text.replace(thousands, "")
        if decimal_mark != ".":
            text = text.replace(decimal_mark, ".")
        if ccy == currency and plain(text):
            _, _, frac = text.partition(".")
            if len(frac) <= places or not frac[places:].strip("0"):
                return Decimal(text)
        text = text.replace(" ", "").replace("\u00a0", "")
        return _amount_of(raw, text, name, ccy)

    def instant(row: list[Cell]) -> dt.datetime:
        raw = row[i_posted]
        if iso_only and raw.__class__ is str and raw and not row[i_time]:
            try:
                parsed = from_iso(raw)
            except ValueError:
                pass
            else:
                if parsed.tzinfo is not None:
                    return parsed
                if not require_offset:
                    return parsed.replace(tzinfo=zone)
        if raw in (None, ""):
            raise _RowProblem("posted_at", "is empty")
        if isinstance(raw, dt.datetime):
            parsed = era_cell(raw, "posted_at")
        elif isinstance(raw, dt.date):
            parsed = era_cell(dt.datetime.combine(raw, dt.time.min), "posted_at")
        else:
            text = str(raw)
            extra = row[i_time]
            parsed = None
            if iso_only and not extra:
                try:
                    parsed = from_iso(text)
                except ValueError:
                    parsed = None
            else:
                parsed = _parse_datetime(era(text), extra, date_formats, time_formats)
            if parsed is None:
                shown = f"{text} {extra}".strip()
                raise _RowProblem(
                    "posted_at",
                    f"{shown!r} is not a date in the expected format "
                    f"({', '.join(_human(f) for f in date_formats[:3])}"
                    f"{', …' if len(date_formats) > 3 else ''})"
                    f"{'; ' + date_hint if date_hint else ''}",
                )
        if parsed.tzinfo is None:
            if require_offset:
                raise _RowProblem(
                    "posted_at", f"{raw!r} needs a UTC offset, e.g. +07:00"
                )
            parsed = parsed.replace(tzinfo=zone)
        return parsed

    debit_column = result.columns.get("debit", "debit")
    credit_column = result.columns.get("credit", "credit")
    pair = f"{debit_column} / {credit_column}"

    def signed_amount(row: list[Cell]) -> Decimal:
        if mode == "signed":
            raw = row[i_amount]
            if raw in (None, ""):
                raise _RowProblem("amount", "is empty")
            value = money(raw, "amount")
            if out_positive:
                value = -value
        elif mode == "debit_credit":
            debit_raw, credit_raw = row[i_debit], row[i_credit]
            debit = money(debit_raw, "debit") if debit_raw not in (None, "") else None
            credit = (
                money(credit_raw, "credit") if credit_raw not in (None, "") else None
            )
            debit = debit if debit else None
            credit = credit if credit else None
            if debit is not None and credit is not None:
                raise _RowProblem(
                    "debit",
                    f"both are filled ({_cell_text(debit_raw)!r} and "
                    f"{_cell_text(credit_raw)!r}): one line is money in or out",
                    column=pair,
                )
            if debit is None and credit is None:
                raise _RowProblem("amount", "neither is filled", column=pair)
            if as_written:  # the columns carry their own signs
                value = debit if debit is not None else credit
            else:
                value = -abs(debit) if debit is not None else abs(credit)
        else:
            raw = row[i_amount]
            if raw in (None, ""):
                raise _RowProblem("amount", "is empty")
            value = abs(money(raw, "amount"))
            word = row[i_direction].lower()
            if word in debit_words:
                value = -value
            elif word not in credit_words:
                raise _RowProblem(
                    "direction",
                    f"{row[i_direction]!r} is neither {sorted(credit_words)} nor "
                    f"{sorted(debit_words)}",
                )
        if not value:
            shown = row[i_amount] if mode != "debit_credit" else "0"
            raise _RowProblem(
                "amount" if mode != "debit_credit" else "debit",
                f"{_cell_text(shown)!r} is zero",
                column=pair if mode == "debit_credit" else "",
            )
        return value

    def channel_of(row: list[Cell], description: str) -> str:
        raw = row[i_channel]
        upper = raw.upper()
        if upper in CHANNELS:
            return upper
        if strict_channel:
            if not raw:
                return "OTHER"
            raise _RowProblem(
                "channel", f"{raw!r} is not one of {', '.join(sorted(CHANNELS))}"
            )
        return channel_in(raw) or channel_in(description) or default_channel

    def parse(number: int, row: list[Cell]) -> LineDraft:
        txn_id = row[i_id]
        if not txn_id and "txn_id" in spec["required"]:
            raise _RowProblem("txn_id", "is empty")
        if len(txn_id) > 128:
            raise _RowProblem(
                "txn_id", f"{txn_id[:40]!r}… is longer than 128 characters"
            )
        posted = instant(row)
        # the date as the bank wrote it settles the usual line (a few hours' zone
        # difference does not matter to these bounds); the local date decides
        day = posted.date()
        if day < PLAUSIBLE_FROM or day > far:
            shown = row[i_posted]
            plausible(number, "posted_at", local_day(posted, shown), shown)
        ccy = row[i_ccy].upper() or currency
        if ccy != currency:
            if ccy not in CURRENCIES:
                raise _RowProblem("currency", f"{row[i_ccy]!r} is not KHR, USD or THB")
            raise _RowProblem(
                "currency",
                f"{row[i_ccy]!r}: a {ccy} line in a {currency} account's statement",
            )
        amount = signed_amount(row)
        value_raw = row[i_value]
        if value_raw in (None, ""):
            value_date = posted.astimezone(zone).date()
        elif isinstance(value_raw, dt.date):
            if not isinstance(value_raw, dt.datetime):
                value_raw = dt.datetime.combine(value_raw, dt.time.min)
            value_date = era_cell(value_raw, "value_date").date()
        else:
            value_date = None
            if value_iso:
                try:
                    value_date = date_from_iso(value_raw)
                except (TypeError, ValueError):
                    value_date = None
            if value_date is None:
                parsed = _parse_datetime(era(str(value_raw)), "", value_formats, [])
                if parsed is None:
                    raise _RowProblem(
                        "value_date",
                        f"{value_raw!r} is not a date in the expected format "
                        f"({', '.join(_human(f) for f in value_formats)})",
                    )
                value_date = parsed.date()
        if value_raw not in (None, "") and (
            value_date < PLAUSIBLE_FROM or (latest is not None and value_date > latest)
        ):
            plausible(number, "value_date", value_date, value_raw)
        description = row[i_desc]
        bal_raw = row[i_bal]
        balance = money(bal_raw, "balance_after") if bal_raw not in (None, "") else None
        orig_raw, rate_raw = row[i_orig], row[i_rate]
        orig_ccy = row[i_origccy].upper()
        fee_raw = row[i_fee]
        original = rate = fee = None
        mismatch = False
        if orig_raw not in (None, "") or rate_raw not in (None, "") or orig_ccy:
            original, rate, fee, mismatch = _cross_border(
                amount, currency, orig_raw, orig_ccy, rate_raw, fee_raw, money
            )
        elif fee_raw not in (None, ""):
            fee = money(fee_raw, "fee")
        return LineDraft(
            number,
            txn_id,
            posted,
            value_date,
            amount,
            currency,
            channel_of(row, description),
            row[i_cp][:200],
            row[i_cpacct][:100],
            row[i_ref][:200],
            row[i_hash][:64],
            description,
            balance,
            original,
            orig_ccy,
            rate,
            fee,
            bool(txn_id),
            row[i_biller][:64],
            mismatch,
        )

    return parse


def _cross_border(
    amount: Decimal,
    currency: str,
    orig_raw: Cell,
    orig_ccy: str,
    rate_raw: Cell,
    fee_raw: Cell,
    money: Callable[..., Decimal],
) -> tuple[Decimal, Decimal, Decimal, bool]:
    """(original, rate, fee, flagged): the cross-border fields read exactly (the
    rate keeps its printed places); flagged when original × rate is not |amount|
    + fee within the bank-rounding tolerance (statements.imports.fx). A missing
    or malformed field is a row error; a difference never is."""
    if orig_raw in (None, ""):
        raise _RowProblem("original_amount", "is empty but fx_rate is given")
    if not orig_ccy:
        raise _RowProblem("original_currency", "is empty but original_amount is given")
    if orig_ccy not in CURRENCIES:
        raise _RowProblem("original_currency", f"{orig_ccy!r} is not KHR, USD or THB")
    if rate_raw in (None, ""):
        raise _RowProblem("fx_rate", "is empty but original_amount is given")
    original = money(orig_raw, "original_amount", orig_ccy)
    try:
        rate = rate_from_text(rate_raw)
    except ValueError as exc:
        raise _RowProblem("fx_rate", str(exc)) from None
    fee = money(fee_raw, "fee") if fee_raw not in (None, "") else Decimal(0)
    flagged = fx_check(original, rate, amount, fee, currency) is not None
    return original, rate, fee, flagged


def _human(fmt: str) -> str:
    if fmt == "iso":
        return "2026-04-03T09:21:04+07:00"
    sample = dt.datetime(2026, 4, 3, 9, 21, 4)  # noqa: DTZ001 - a format example
    return sample.strftime(fmt)


def _parse_datetime(
    text: str,
    extra: str,
    formats: list[str],
    time_formats: list[str],
) -> dt.datetime | None:
    for fmt in formats:
        if fmt == "iso":
            try:
                parsed = dt.datetime.fromisoformat(
                    text if not extra else f"{text}T{extra}"
                )
            except ValueError:
                continue
            return parsed
        if extra and time_formats:
            for tfmt in time_formats:
                try:
                    return dt.datetime.strptime(f"{text} {extra}", f"{fmt} {tfmt}")  # noqa: DTZ007
                except ValueError:
                    continue
        try:
            return dt.datetime.strptime(text, fmt)  # noqa: DTZ007 - zone added after
        except ValueError:
            continue
    return None
