"""Retry scheduling, pure and property-based: put-off delay, calling hours, max attempts."""

import datetime as dt

from hypothesis import given, settings, strategies as st

from dialer.lifecycle.outcomes import LeadState, after_outcome
from dialer.lifecycle.rules import Hours
from dialer.lifecycle.windows import HoursWindow

from .rules_fixture import default_rules

UTC = dt.timezone.utc
ZONES = ["America/New_York", "America/Los_Angeles", "America/Chicago", "Europe/London", "Australia/Sydney",
         "Asia/Kolkata", "Pacific/Auckland", "America/Phoenix"]
RETRY_OUTCOMES = ["machine", "busy", "no_answer", "rejected", "failed", "abandoned", "unknown"]


def test_put_off_past_closing_moves_to_next_opening():
    # The example: 60 minutes after 20:45 with hours ending 21:00 is tomorrow's opening.
    rules = default_rules(hours=Hours(dt.time(9), dt.time(21)))
    window = HoursWindow(["America/New_York"], rules.hours)
    ended = dt.datetime(2026, 3, 2, 20, 45, tzinfo=window.zones[0])
    nxt = after_outcome(rules, LeadState(1, "NEW", "new", 0), "no_answer", ended, window)
    assert nxt.status == "NA" and nxt.call_mode == "retry" and nxt.attempts == 1
    assert nxt.next_attempt_at == dt.datetime(2026, 3, 3, 9, 0, tzinfo=window.zones[0])


def test_put_off_inside_hours_is_exact():
    rules = default_rules()
    window = HoursWindow(["America/New_York"], rules.hours)
    ended = dt.datetime(2026, 3, 2, 12, 0, tzinfo=window.zones[0])
    nxt = after_outcome(rules, LeadState(1, "NEW", "new", 0), "busy", ended, window)
    assert nxt.next_attempt_at == ended + dt.timedelta(minutes=15)


def test_closed_days_and_holidays_are_skipped():
    # Friday 20:30 with weekends closed and Monday a holiday: Tuesday 09:00.
    hours = Hours(dt.time(9), dt.time(21), (1, 2, 3, 4, 5), frozenset({dt.date(2026, 3, 9)}))
    rules = default_rules(hours=hours)
    window = HoursWindow(["America/New_York"], hours)
    ended = dt.datetime(2026, 3, 6, 20, 30, tzinfo=window.zones[0])
    nxt = after_outcome(rules, LeadState(1, "NEW", "new", 0), "no_answer", ended, window)
    assert nxt.next_attempt_at == dt.datetime(2026, 3, 10, 9, 0, tzinfo=window.zones[0])


def test_dst_spring_forward_opening_is_local_nine():
    window = HoursWindow(["America/New_York"], Hours())
    # 2026-03-08 is the US spring-forward day; 08:00 local is before the opening.
    at = dt.datetime(2026, 3, 8, 8, 0, tzinfo=window.zones[0])
    opening = window.next_allowed(at)
    assert opening.astimezone(window.zones[0]).time() == dt.time(9)
    assert opening.astimezone(window.zones[0]).utcoffset() == dt.timedelta(hours=-4)


def test_max_attempts_moves_to_exhausted_status():
    rules = default_rules()
    window = HoursWindow(["America/New_York"], rules.hours)
    ended = dt.datetime(2026, 3, 2, 17, 0, tzinfo=UTC)
    nxt = after_outcome(rules, LeadState(1, "NA", "retry", 5), "no_answer", ended, window)
    assert (nxt.status, nxt.exhausted, nxt.completed, nxt.next_attempt_at, nxt.attempts) == \
        ("MAXED", True, True, None, 6)


def test_invalid_number_completes_and_answered_waits_for_wrap():
    rules = default_rules()
    window = HoursWindow(["America/New_York"], rules.hours)
    ended = dt.datetime(2026, 3, 2, 17, 0, tzinfo=UTC)
    invalid = after_outcome(rules, LeadState(1, "NEW", "new", 0), "invalid", ended, window)
    assert invalid.status == "INVALID" and invalid.completed and invalid.next_attempt_at is None
    answered = after_outcome(rules, LeadState(1, "NEW", "new", 0), "answered", ended, window)
    assert answered.status == "ANSWERED" and not answered.completed and answered.contacted


def test_abandon_lockout_is_at_least_the_lockout():
    rules = default_rules(abandon_lockout=dt.timedelta(hours=3))
    window = HoursWindow(["America/New_York"], rules.hours)
    ended = dt.datetime(2026, 3, 2, 15, 0, tzinfo=UTC)  # 10:00 New York
    nxt = after_outcome(rules, LeadState(1, "NEW", "new", 0), "abandoned", ended, window)
    assert nxt.next_attempt_at == ended + dt.timedelta(hours=3)


@settings(max_examples=400, deadline=None)
@given(
    ended=st.datetimes(min_value=dt.datetime(2025, 1, 1), max_value=dt.datetime(2028, 12, 31),
                       timezones=st.just(UTC)),
    zones=st.lists(st.sampled_from(ZONES), min_size=1, max_size=2, unique=True),
    outcome=st.sampled_from(RETRY_OUTCOMES),
    mode=st.sampled_from(["new", "retry", "callback", "reconfirm"]),
    attempts=st.integers(0, 10),
    start_hour=st.integers(0, 12), length=st.integers(1, 12),
    days=st.sets(st.integers(1, 7), min_size=1),
    put_off=st.integers(0, 3000),
    max_attempts=st.one_of(st.none(), st.integers(1, 8)),
)
def test_retry_time_properties(ended, zones, outcome, mode, attempts, start_hour, length, days, put_off,
                               max_attempts):
    import dataclasses

    hours = Hours(dt.time(start_hour), dt.time(min(start_hour + length, 23), 59), tuple(sorted(days)))
    base = default_rules(hours=hours)
    modes = dict(base.modes)
    modes[mode] = dataclasses.replace(modes[mode], put_off={outcome: put_off}, max_attempts=max_attempts)
    rules = dataclasses.replace(base, modes=modes)
    window = HoursWindow(zones, hours)
    lead = LeadState(1, "NEW", mode, attempts)
    nxt = after_outcome(rules, lead, outcome, ended, window)

    assert nxt.attempts == attempts + 1
    # The ceilings that apply: the dialed mode's, and the one of the mode it would be dialed in next.
    next_mode = rules.status(rules.outcome_status[outcome]).call_mode or mode
    ceilings = [m for m in (max_attempts, rules.mode(next_mode).max_attempts) if m is not None]
    if any(attempts + 1 >= m for m in ceilings):
        # Exhausted: the mode's exhausted status, never dialed again.
        assert nxt.exhausted and nxt.status == "MAXED" and nxt.next_attempt_at is None and nxt.completed
        return
    assert not nxt.exhausted and not nxt.completed
    assert nxt.status == rules.outcome_status[outcome]
    if nxt.next_attempt_at is not None and window.next_allowed(ended) is not None:
        # Never earlier than the put-off delay, never outside calling hours in any zone.
        assert nxt.next_attempt_at >= ended + dt.timedelta(minutes=put_off)
        assert window.allows(nxt.next_attempt_at)
        # And not later than needed: one minute earlier is either too soon or outside the hours.
        before = nxt.next_attempt_at - dt.timedelta(minutes=1)
        assert before < ended + dt.timedelta(minutes=put_off) or not window.allows(before)


@settings(max_examples=200, deadline=None)
@given(max_attempts=st.integers(1, 10), outcomes=st.lists(st.sampled_from(RETRY_OUTCOMES), min_size=1,
                                                         max_size=15))
def test_a_lead_is_never_dialed_beyond_max_attempts(max_attempts, outcomes):
    import dataclasses

    base = default_rules()
    modes = {n: dataclasses.replace(m, max_attempts=max_attempts) for n, m in base.modes.items()}
    rules = dataclasses.replace(base, modes=modes)
    window = HoursWindow(["America/New_York"], rules.hours)
    lead = LeadState(1, "NEW", "new", 0)
    at = dt.datetime(2026, 3, 2, 15, tzinfo=UTC)
    for outcome in outcomes:
        if rules.status(lead.status).completed or not rules.status(lead.status).auto_dial:
            break  # the hopper would not dial it: stop here
        nxt = after_outcome(rules, lead, outcome, at, window)
        assert nxt.attempts <= max_attempts
        lead = LeadState(1, nxt.status, nxt.call_mode, nxt.attempts)
        at = nxt.next_attempt_at or at
    assert lead.attempts <= max_attempts
    if lead.attempts == max_attempts:
        assert lead.status == "MAXED"


@settings(max_examples=200, deadline=None)
@given(maxima=st.fixed_dictionaries({m: st.one_of(st.none(), st.integers(1, 10))
                                     for m in ("new", "retry", "callback", "reconfirm")}),
       start_mode=st.sampled_from(["new", "callback"]),
       attempts=st.integers(0, 9),
       outcomes=st.lists(st.sampled_from(RETRY_OUTCOMES), min_size=1, max_size=12))
def test_a_lead_left_to_dial_can_be_dialed_in_its_next_mode(maxima, start_mode, attempts, outcomes):
    """Modes with different ceilings: a lead the rules leave auto-dialed (not completed, not
    exhausted) must be under the ceiling of the mode it will be dialed in next, or the hopper
    would skip it for ever without it ever being marked exhausted."""
    import dataclasses

    base = default_rules()
    modes = {n: dataclasses.replace(m, max_attempts=maxima.get(n, m.max_attempts)) for n, m in base.modes.items()}
    rules = dataclasses.replace(base, modes=modes)
    window = HoursWindow(["America/New_York"], rules.hours)
    ceiling = rules.mode(start_mode).max_attempts
    if ceiling is not None and attempts >= ceiling:
        return  # the hopper would not dial this lead in the first place
    lead = LeadState(1, "CALLBK" if start_mode == "callback" else "NEW", start_mode, attempts)
    at = dt.datetime(2026, 3, 2, 15, tzinfo=UTC)
    for outcome in outcomes:
        nxt = after_outcome(rules, lead, outcome, at, window)
        status = rules.status(nxt.status)
        if nxt.exhausted or status.completed or not status.auto_dial:
            return
        ceiling = rules.mode(nxt.call_mode).max_attempts
        assert ceiling is None or nxt.attempts < ceiling, (nxt, ceiling)
        lead = LeadState(1, nxt.status, nxt.call_mode, nxt.attempts)
        at = nxt.next_attempt_at or at


@settings(max_examples=150, deadline=None)
@given(
    times=st.lists(st.datetimes(min_value=dt.datetime(2026, 1, 1), max_value=dt.datetime(2026, 12, 31),
                                timezones=st.just(UTC)), min_size=1, max_size=12),
    zones=st.lists(st.sampled_from(ZONES), min_size=1, max_size=2, unique=True),
    region=st.sampled_from([None, "NY", "TX", "CA", "MS"]),
)
def test_remembering_window_gives_the_same_answers(times, zones, region):
    # The memo is exact: the same answers as the compliance window it wraps, in any order of questions.
    from dialer.compliance.windows import CallingWindow
    from dialer.lifecycle.windows import RememberingWindow

    plain = CallingWindow.for_lead((dt.time(9), dt.time(21)), (1, 2, 3, 4, 5, 6), (), zones, region, "US")
    memo = RememberingWindow(plain)
    for at in times + sorted(times):
        assert memo.next_allowed(at) == plain.next_allowed(at)


@settings(max_examples=150, deadline=None)
@given(
    ended=st.datetimes(min_value=dt.datetime(2025, 1, 1), max_value=dt.datetime(2028, 12, 31),
                       timezones=st.just(UTC)),
    zone=st.sampled_from(["America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles"]),
    region=st.sampled_from([None, "NY", "TX", "CA", "MS", "FL"]),
    outcome=st.sampled_from(RETRY_OUTCOMES),
    attempts=st.integers(0, 4),
)
def test_retry_times_with_the_compliance_window(ended, zone, region, outcome, attempts):
    # The window the store uses (campaign hours + state rules + DST): retry never early, never outside it.
    from dialer.lifecycle.windows import lead_window

    rules = default_rules()
    window = lead_window(rules, {"timezone": zone, "timezones": None, "region": region, "country": "US"})
    nxt = after_outcome(rules, LeadState(1, "NEW", "new", attempts), outcome, ended, window)
    delay = rules.modes["new"].put_off_for(outcome)
    assert nxt.next_attempt_at >= ended + delay
    assert window.allows(nxt.next_attempt_at)
    assert window.window.allows(nxt.next_attempt_at)
