"""Array parameters sent as one text literal, cast in the statement (`$1::text::bigint[]`).

For a list parameter asyncpg tests the list, and then every element, against `collections.abc`
classes (Iterable, Sized, Mapping: each a Python-level `ABCMeta.__instancecheck__`, ~1,500
instructions): three tests per array and one or two per element, more than the rest of the
encoding of a small statement. A literal built with one `join` skips them; PostgreSQL parses it
with the type's text input. The hopper's claim sends all its arrays so (its timestamps too:
~3,000 elements a claim); the journal's and the launch's statements their integer, boolean and
text columns (their timestamp columns stay lists: formatting a few timestamps costs as much as
the tests it would save).
"""

from __future__ import annotations

from typing import Any, Sequence


def array_literal(values: Sequence[Any], sql_type: str) -> str:
    """`values` as a PostgreSQL array literal of `sql_type` (bigint, int, text, bool or
    timestamptz): None is NULL; text is double-quoted with backslashes and double quotes escaped,
    so "NULL", braces, commas and spaces stay text; a timestamp is its ISO form, quoted."""
    if sql_type in ("bigint", "int"):
        if None not in values:      # the common case, at C speed (a claim sends ~3,000)
            return "{" + ",".join(map(str, values)) + "}"
        return "{" + ",".join("NULL" if v is None else str(v) for v in values) + "}"
    if sql_type == "text":
        return "{" + ",".join("NULL" if v is None else '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
                              for v in values) + "}"
    if sql_type == "bool":
        return "{" + ",".join("NULL" if v is None else ("t" if v else "f") for v in values) + "}"
    if sql_type == "timestamptz":
        return "{" + ",".join("NULL" if v is None else '"' + v.isoformat() + '"' for v in values) + "}"
    raise ValueError(f"no array literal for {sql_type}")


def column_arrays(rows: Sequence[tuple], types: Sequence[str | None]) -> list:
    """Rows as one array parameter per column: a literal of the column's type in `types`, or a
    list where the type is None (sent as asyncpg encodes it). No rows: empty arrays, which
    unnest to nothing."""
    columns = zip(*rows) if rows else [[] for _ in types]
    return [list(c) if t is None else array_literal(c, t) for c, t in zip(columns, types)]
