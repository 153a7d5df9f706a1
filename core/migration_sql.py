"""Raw SQL in migrations where Django has no operation for it (triggers, a
composite foreign key), one list of statements per database vendor."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import migrations


def vendor_sql(
    forward: dict[str, list[str]], reverse: dict[str, list[str]]
) -> migrations.RunPython:
    """A RunPython that executes the statements listed for the migrating database's
    vendor (and nothing on a vendor not listed)."""
    return migrations.RunPython(_run(forward), _run(reverse))


def _run(statements_by_vendor: dict[str, list[str]]) -> Callable[..., Any]:
    def apply(apps: Any, schema_editor: Any) -> None:
        for sql in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(sql)

    return apply


def function_as_created(statements: list[str], name: str) -> str:
    """An earlier migration's own CREATE FUNCTION statement for `name`, as CREATE
    OR REPLACE: what a later migration that rewrites the function restores."""
    (created,) = [
        sql for sql in statements if sql.startswith(f"CREATE FUNCTION {name}()")
    ]
    return created.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1)
