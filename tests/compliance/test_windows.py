"""Calling windows: property-based across DST changes, state rules, Sundays,
holidays and multi-zone numbers, against an oracle written independently of the
rules CSV."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given, settings, strategies as st

from dialer.compliance import CallingWindow
from dialer.compliance.rules import RulesError, RulesTable

UTC = dt.timezone.utc
ZONES = ["America/New_York", "America/Chicago", "America/Denver", "America/Phoenix",
         "America/Los_Angeles", "America/Anchorage", "Pacific/Honolulu", "Europe/London",
         "Australia/Lord_Howe", "America/St_Johns", "Asia/Kolkata"]
# Days around which clocks change somewhere in ZONES (2026).
DST_DAYS = [dt.date(2026, 3, 8), dt.date(2026, 11, 1), dt.date(2026, 3, 29), dt.date(2026, 10, 25),
            dt.date(2026, 4, 5), dt.date(2026, 10, 4), dt.date(2026, 6, 15)]

# The oracle: hours per region and ISO weekday, typed in from the issue text, not read
# from the CSV. None = no calls that day.
def expected_rule_hours(region, weekday):
    federal = (dt.time(8), dt.time(21))
    eight_pm = {"FL", "OK", "MD", "MA", "WA", "WY", "AL", "LA", "MS"}
    if region in {"AL", "LA", "MS", "RI", "SD"} and weekday == 7:
        return None
    if region in eight_pm:
        return (dt.time(8), dt.time(20))
    if region == "KY":
        return (dt.time(10), dt.time(21))
    if region == "ME":
        return (dt.time(9), dt.time(17))
    if region == "RI":
        return (dt.time(10), dt.time(17)) if weekday == 6 else (dt.time(9), dt.time(18))
    if region == "TX":
        return (dt.time(12), dt.time(21)) if weekday == 7 else (dt.time(9), dt.time(21))
    if region == "PA" and weekday == 7:
        return (dt.time(13, 30), dt.time(21))
    return federal


def oracle_allows(start, end, days, holidays, zones, region, at):
    for name in zones:
        local = at.astimezone(ZoneInfo(name))
        d, wall = local.date(), local.time().replace(tzinfo=None)
        if d.isoweekday() not in days or d in holidays:
            return False
        rule = expected_rule_hours(region, d.isoweekday())
        if rule is None:
            return False
        lo, hi = max(start, rule[0]), min(end, rule[1])
        if not (lo <= wall < hi):
            return False
    return True


REGIONS = [None, "NY", "FL", "OK", "MD", "MA", "WA", "WY", "AL", "LA", "MS", "KY", "ME", "RI", "SD", "TX", "PA"]
minute_times = st.builds(dt.time, st.integers(0, 23), st.sampled_from([0, 15, 30, 45]))


@st.composite
def instants(draw):
    base = dt.datetime.combine(draw(st.sampled_from(DST_DAYS)), dt.time(0), tzinfo=UTC)
    return base + dt.timedelta(minutes=draw(st.integers(-36 * 60, 60 * 60)),
                               seconds=draw(st.integers(0, 59)))


@st.composite
def windows(draw, max_zones=3):
    start = draw(minute_times)
    end = draw(minute_times.filter(lambda t: t > start))
    days = frozenset(draw(st.sets(st.integers(1, 7), min_size=1)))
    holidays = frozenset(draw(st.sets(st.sampled_from(
        [d + dt.timedelta(days=k) for d in DST_DAYS for k in (-1, 0, 1, 2)]), max_size=3)))
    zones = draw(st.lists(st.sampled_from(ZONES), min_size=1, max_size=max_zones, unique=True))
    region = draw(st.sampled_from(REGIONS))
    return start, end, days, holidays, zones, region


def make(start, end, days, holidays, zones, region):
    return CallingWindow.for_lead((start, end), days, holidays, zones, region, "US")


@settings(max_examples=400, deadline=None)
@given(spec=windows(), at=instants())
def test_allows_matches_the_oracle(spec, at):
    assert make(*spec).allows(at) == oracle_allows(*spec, at)


@settings(max_examples=150, deadline=None)
@given(spec=windows(max_zones=2), at=instants())
def test_next_allowed_is_the_earliest_allowed_instant(spec, at):
    window = make(*spec)
    found = window.next_allowed(at, horizon=dt.timedelta(days=12))
    # Every change point is on a whole minute, so checking `at` and each later whole
    # minute is an exhaustive search of [at, found).
    probe = at
    first_minute = at.replace(second=0, microsecond=0) + dt.timedelta(minutes=1)
    steps = 0
    while found is None or probe < found:
        assert not oracle_allows(*spec, probe), f"{probe} is allowed but next_allowed said {found}"
        probe = first_minute + dt.timedelta(minutes=steps)
        steps += 1
        if found is None and probe > at + dt.timedelta(days=12):
            return
    assert found >= at
    assert oracle_allows(*spec, found)


@settings(max_examples=200, deadline=None)
@given(spec=windows(), at=instants())
def test_multi_zone_numbers_use_only_hours_allowed_in_every_zone(spec, at):
    start, end, days, holidays, zones, region = spec
    together = make(*spec)
    alone = [make(start, end, days, holidays, [z], region) for z in zones]
    assert together.allows(at) == all(w.allows(at) for w in alone)
    found = together.next_allowed(at, horizon=dt.timedelta(days=30))
    if found is not None:
        assert all(w.allows(found) for w in alone)
        assert found >= max(w.next_allowed(at, horizon=dt.timedelta(days=30)) for w in alone)


@settings(max_examples=100, deadline=None)
@given(day=st.sampled_from(DST_DAYS), minutes=st.integers(8 * 60, 21 * 60 - 1),
       name=st.sampled_from(ZONES))
def test_federal_hours_are_local_wall_time_on_dst_days(day, minutes, name):
    """08:00-21:00 local stays 08:00-21:00 local on the days clocks change."""
    window = CallingWindow.for_lead((dt.time(0), dt.time(0)), zones=[name], region=None, country="US")
    wall = dt.time(minutes // 60, minutes % 60)
    at = dt.datetime.combine(day, wall, tzinfo=ZoneInfo(name))
    assert window.allows(at)
    assert not window.allows(dt.datetime.combine(day, dt.time(7, 59), tzinfo=ZoneInfo(name)))
    assert not window.allows(dt.datetime.combine(day, dt.time(21, 0), tzinfo=ZoneInfo(name)))


NY = ZoneInfo("America/New_York")


def local(y, m, d, hh, mm=0, tz=NY):
    return dt.datetime(y, m, d, hh, mm, tzinfo=tz)


def test_state_examples():
    sunday = (2026, 3, 15)
    def w(region, **kw):
        return CallingWindow.for_lead((dt.time(0), dt.time(0)), zones=["America/New_York"], region=region, **kw)
    assert not w("RI").allows(local(*sunday, 12))
    assert w("RI").next_allowed(local(*sunday, 12)) == local(2026, 3, 16, 9)
    assert not w("TX").allows(local(*sunday, 11, 59)) and w("TX").allows(local(*sunday, 12))
    assert not w("PA").allows(local(*sunday, 13, 29)) and w("PA").allows(local(*sunday, 13, 30))
    assert w("PA").allows(local(2026, 3, 16, 8))
    assert not w("FL").allows(local(2026, 3, 16, 20)) and w("FL").allows(local(2026, 3, 16, 19, 59))
    assert w("KY").next_allowed(local(2026, 3, 16, 8)) == local(2026, 3, 16, 10)
    # Lowercase region codes and a country without a rules row.
    assert not w("fl").allows(local(2026, 3, 16, 20))
    assert w("FL", country="GB").allows(local(2026, 3, 16, 23))


def test_holidays_and_campaign_days():
    window = CallingWindow.for_lead((dt.time(9), dt.time(17)), days=[1, 2, 3, 4, 5],
                                    holidays=[dt.date(2026, 12, 25)], zones=["America/Chicago"])
    chicago = ZoneInfo("America/Chicago")
    # Thursday 24th after hours; Friday 25th is a holiday; the weekend is off -> Monday.
    assert dt.date(2026, 12, 25).isoweekday() == 5
    assert window.next_allowed(local(2026, 12, 24, 18, tz=chicago)) == local(2026, 12, 28, 9, tz=chicago)
    assert not window.allows(local(2026, 12, 25, 12, tz=chicago))
    never = CallingWindow.for_lead((dt.time(9), dt.time(17)), days=[7], zones=["America/New_York"], region="RI")
    assert never.next_allowed(local(2026, 1, 1, 0), horizon=dt.timedelta(days=30)) is None


def test_multi_zone_example():
    # A number that may be in New York or Los Angeles: 09:00 campaign start in LA is
    # 12:00 in NY, and the 21:00 federal end in NY is 18:00 in LA.
    window = CallingWindow.for_lead((dt.time(9), dt.time(21)), zones=["America/New_York", "America/Los_Angeles"])
    assert window.next_allowed(local(2026, 7, 1, 8)) == local(2026, 7, 1, 12)
    assert window.allows(local(2026, 7, 1, 20, 59)) and not window.allows(local(2026, 7, 1, 21))


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="Mars/Base"):
        CallingWindow.for_lead((dt.time(9), dt.time(21)), zones=["Mars/Base"])
    with pytest.raises(ValueError, match="naive"):
        CallingWindow.for_lead((dt.time(9), dt.time(21)), zones=["UTC"]).allows(dt.datetime(2026, 1, 1))
    with pytest.raises(RulesError, match="line 2: field 'days'"):
        RulesTable.from_csv_text("country,region,days,start,end,source\nUS,,someday,08:00,21:00,x\n")
    with pytest.raises(RulesError, match="line 2: field 'source'"):
        RulesTable.from_csv_text("country,region,days,start,end,source\nUS,,mon,08:00,21:00,\n")


def test_every_shipped_rule_cites_a_source():
    from dialer.compliance import default_rules
    table = default_rules()
    assert len(table.rules) >= 20
    assert all(rule.source and rule.verified for rule in table.rules)
