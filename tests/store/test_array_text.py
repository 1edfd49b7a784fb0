"""Array parameters sent as text literals (`dialer.store.array_text`): every value, None and
awkward text included, arrives in PostgreSQL as itself."""

import pytest

from dialer.store.array_text import array_literal

AWKWARD = ['say "hi"', "back\\slash", "{braces},commas", " NULL", "NULL", "", "é ü", "tab\there", None]


def test_literals():
    assert array_literal([], "bigint") == "{}"
    assert array_literal([1, None, -3], "bigint") == "{1,NULL,-3}"
    assert array_literal([True, False, None], "bool") == "{t,f,NULL}"
    assert array_literal(['a"b', "c\\d", None], "text") == '{"a\\"b","c\\\\d",NULL}'
    with pytest.raises(ValueError):
        array_literal([1.5], "float8")


@pytest.mark.parametrize("sql_type, values", [
    ("text", AWKWARD), ("bigint", [0, 2**62, -(2**62), None]), ("int", [7, None, -1]),
    ("bool", [True, None, False]), ("text", []),
])
async def test_round_trip(store, sql_type, values):
    got = await store.fetchval(f"SELECT $1::text::{sql_type}[]", array_literal(values, sql_type))
    assert got == values
