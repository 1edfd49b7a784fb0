"""Array parameters sent as text literals (`dialer.store.array_text`): every value, None and
awkward text included, arrives in PostgreSQL as itself."""

import datetime as dt

import pytest

from dialer.store.array_text import array_literal

AWKWARD = ['say "hi"', "back\\slash", "{braces},commas", " NULL", "NULL", "", "é ü", "tab\there", None]


def test_literals():
    assert array_literal([], "bigint") == "{}"
    assert array_literal([1, None, -3], "bigint") == "{1,NULL,-3}"
    assert array_literal([True, False, None], "bool") == "{t,f,NULL}"
    assert array_literal(['a"b', "c\\d", None], "text") == '{"a\\"b","c\\\\d",NULL}'
    assert array_literal([dt.datetime(2026, 3, 2, 15, 0, tzinfo=dt.timezone.utc), None], "timestamptz") == \
        '{"2026-03-02T15:00:00+00:00",NULL}'
    with pytest.raises(ValueError):
        array_literal([1.5], "float8")


@pytest.mark.parametrize("sql_type, values", [
    ("text", AWKWARD), ("bigint", [0, 2**62, -(2**62), None]), ("int", [7, None, -1]),
    ("bool", [True, None, False]), ("text", []),
    ("timestamptz", [dt.datetime(2026, 3, 2, 15, 0, 0, 123456, tzinfo=dt.timezone.utc), None,
                     dt.datetime(1, 1, 1, tzinfo=dt.timezone.utc)]),
])
async def test_round_trip(store, sql_type, values):
    got = await store.fetchval(f"SELECT $1::text::{sql_type}[]", array_literal(values, sql_type))
    assert got == values
