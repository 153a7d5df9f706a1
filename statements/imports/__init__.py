"""Statement files -> ledger-line drafts: readers (CSV, XLSX), bank presets (data),
the parser. Pure Python; the service in statements.services.imports writes."""

from statements.imports.parse import LineDraft, ParseResult, RowError, parse_table
from statements.imports.presets import PRESETS, preset_choices
from statements.imports.readers import Table, read_table

__all__ = [
    "PRESETS",
    "LineDraft",
    "ParseResult",
    "RowError",
    "Table",
    "parse_table",
    "preset_choices",
    "read_table",
]
