"""Array parameters sent as one text literal, cast in the statement (`$1::text::bigint[]`).

For a list parameter asyncpg tests the list, and then every element, against `collections.abc`
classes (Iterable, Sized, Mapping: each a Python-level `ABCMeta.__instancecheck__`, ~1,500
instructions): three tests per array and one or two per element, more than the rest of the
encoding of a small statement. A literal built with one `join` skips them; PostgreSQL parses it
with the type's text input. For the hot statements' integer, boolean and text columns
(timestamps stay lists: formatting one costs as much as the tests it would save). The hopper's
claim sends its arrays the same way (`dialer.store.hopper.Params.array`).
"""

from __future__ import annotations

from typing import Any, Sequence


def array_literal(values: Sequence[Any], sql_type: str) -> str:
    """`values` as a PostgreSQL array literal of `sql_type` (bigint, int, text or bool): None is
    NULL; text is double-quoted with backslashes and double quotes escaped, so "NULL", braces,
    commas and spaces stay text."""
    if sql_type in ("bigint", "int"):
        return "{" + ",".join("NULL" if v is None else str(int(v)) for v in values) + "}"
    if sql_type == "text":
        return "{" + ",".join("NULL" if v is None else '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
                              for v in values) + "}"
    if sql_type == "bool":
        return "{" + ",".join("NULL" if v is None else ("t" if v else "f") for v in values) + "}"
    raise ValueError(f"no array literal for {sql_type}")
