"""A whole working day (8 virtual hours) of the engine against the simulator, then the database
is questioned: every expectation is computed from the stored rows and the campaign's own rules.

Engine + the simulator's carrier on the in-memory network, a desk-driven team of operators who
schedule callbacks through the desk's wrap (half kept for themselves, half campaign-wide),
predictive pacing (so some live answers find nobody and are abandoned), real PostgreSQL, trio's
MockClock. The lead count is chosen so fresh leads run out in the early afternoon and the rest
of the day lives on retries and callbacks while operators have time to spare: that is when a
retry left undialed would show.
"""

from __future__ import annotations

import collections
import datetime as dt
from pathlib import Path

from dialer.engine.loadtest import DayOptions, run_day
from dialer.engine.sim_wraps import CallbackPlan
from dialer.store.rules import load_rules
from sim.profile import load_profile

ROOT = Path(__file__).resolve().parents[2]
HOURS = 8
OPERATORS = 5
LEADS = 900                        # fresh leads last until early afternoon at this pace
PACING = "predictive"

SHARE_TOLERANCE = 0.01             # list shares within 1 point of weight / total weight (SWRR: ±1 in 100)
PICKUP = dt.timedelta(minutes=1)   # a due lead may wait this long for the hopper to claim it
CALLBACK_BOUND = dt.timedelta(minutes=10)   # a due callback is dialed within this (owner free)
IDLE_SAMPLES = 3                   # an operator unserved at 3 samples in a row (10 s) was waiting


async def test_a_whole_virtual_day(store, autojump_clock):
    profile = load_profile(ROOT / "config" / "sim" / "default.toml")
    samples = []
    options = DayOptions(operators=OPERATORS, duration=HOURS * 3600, leads=LEADS, pacing=PACING, seed=5,
                         callbacks=CallbackPlan(delay=(20 * 60, 3 * 3600), owned=0.5),
                         on_tick=samples.append, tick=5.0)
    result = await run_day(store, profile, options)
    campaign = await store.fetchrow("SELECT * FROM campaign WHERE name = $1", options.campaign)
    rules = (await store.run(load_rules, [campaign["id"]]))[campaign["id"]]
    attempts = await store.fetch("SELECT * FROM attempt WHERE campaign_id = $1 ORDER BY started_at, id",
                                 campaign["id"])
    day_end = max(s["now"] for s in samples)
    print({k: result[k] for k in ("calls", "outcomes", "abandon_rate", "occupancy", "dials_per_list",
                                  "callbacks_scheduled", "abandons_counted")})

    # ---- invariants: the audit finds nothing, every attempt is closed ----------------------------
    assert result["audit_violations"] == 0, result["audit_by_rule"]
    assert all(a["ended_at"] is not None for a in attempts)
    assert result["calls"] == len(attempts) > 1500

    await _check_list_shares(store, campaign, attempts)
    by_lead = collections.defaultdict(list)
    for a in attempts:
        by_lead[a["lead_id"]].append(a)
    callbacks = await store.fetch("SELECT * FROM callback WHERE campaign_id = $1 ORDER BY created_at",
                                  campaign["id"])
    _check_retry_gaps(rules, campaign, by_lead, callbacks)
    leads = {r["id"]: r for r in await store.fetch("SELECT * FROM lead WHERE campaign_id = $1", campaign["id"])}
    _check_due_leads_dialed(rules, campaign, by_lead, callbacks, leads, samples, day_end)
    _check_callbacks(rules, by_lead, callbacks, day_end)
    _check_abandons(result, attempts, campaign)


async def _check_list_shares(store, campaign, attempts):
    """Dials per list match the weights while every list still has fresh (never dialed) leads."""
    weights = {r["id"]: (r["name"], r["weight"]) for r in await store.fetch(
        "SELECT id, name, weight FROM lead_list WHERE campaign_id = $1", campaign["id"])}
    fresh_undialed = {r["list_id"]: r["n"] for r in await store.fetch(
        "SELECT list_id, count(*) AS n FROM lead WHERE campaign_id = $1 AND attempts = 0 GROUP BY 1",
        campaign["id"])}
    # A list's fresh supply lasted until its last first attempt, or all day if some are left.
    last_first: dict[int, dt.datetime] = {}
    seen = set()
    for a in attempts:
        if a["lead_id"] not in seen:
            seen.add(a["lead_id"])
            last_first[a["list_id"]] = a["started_at"]
    supplied_until = min(last_first[lid] for lid in weights if not fresh_undialed.get(lid))
    window = [a for a in attempts if a["started_at"] < supplied_until]
    start = attempts[0]["started_at"]
    assert supplied_until - start >= dt.timedelta(hours=1) and len(window) >= 500, \
        f"the lists ran dry after {supplied_until - start}: too short a window to judge the shares"
    dials = collections.Counter(a["list_id"] for a in window)
    total_weight = sum(w for _, w in weights.values())
    for lid, (name, weight) in weights.items():
        share = dials[lid] / len(window)
        assert abs(share - weight / total_weight) <= SHARE_TOLERANCE, \
            f"list {name}: {share:.3f} of {len(window)} dials, weight share {weight / total_weight:.3f}"
    # Afterwards the lists that still had leads took the turns of the dry ones (nothing idles).
    assert len(attempts) > len(window)


def _due_after(rules, campaign, attempt, ordinal, callbacks_by_attempt):
    """When the lead may be dialed again after `attempt` (its `ordinal`-th), by the campaign's
    rules: the call mode's put-off for the outcome (abandoned: at least the lock-out), the
    callback an operator scheduled, a wrap code's retry; None if the lead is finished by it, or
    has as many attempts as the mode it moves to allows (the hopper never dials it again)."""
    code = attempt["wrap_code"]
    if attempt["outcome"] == "answered":
        callback = callbacks_by_attempt.get(attempt["id"])
        wrap = rules.wrap_codes.get(code) if code else None
        if callback is not None:
            due, status = callback["due_at"], rules.status(wrap.next_status if wrap else "CALLBK")
        elif wrap is not None and wrap.retry_after is not None and not wrap.completes:
            due, status = attempt["ended_at"] + wrap.retry_after, rules.status(wrap.next_status)
        else:
            return None
    else:
        status = rules.status(rules.outcome_status.get(attempt["outcome"], ""))
        if status.completed or not status.auto_dial:
            return None
        delay = rules.mode(attempt["call_mode"]).put_off_for(attempt["outcome"])
        if attempt["outcome"] == "abandoned" and campaign["abandon_lockout"]:
            delay = max(delay, campaign["abandon_lockout"])
        due = attempt["ended_at"] + delay
    limit = rules.mode(status.call_mode).max_attempts
    if limit is not None and ordinal >= limit:
        return None
    return due


def _callbacks_by_attempt(by_lead, callbacks):
    """The callback each answered attempt's wrap scheduled (created at its wrap, after it ended)."""
    found = {}
    for cb in callbacks:
        before = [a for a in by_lead.get(cb["lead_id"], ()) if a["ended_at"] <= cb["created_at"]]
        if before:
            found[before[-1]["id"]] = cb
    return found


def _check_retry_gaps(rules, campaign, by_lead, callbacks):
    """Every redial waited at least what the rules say for the call before it."""
    by_attempt = _callbacks_by_attempt(by_lead, callbacks)
    pairs = 0
    for lead_attempts in by_lead.values():
        for ordinal, (a, b) in enumerate(zip(lead_attempts, lead_attempts[1:]), 1):
            due = _due_after(rules, campaign, a, ordinal, by_attempt)
            assert due is not None, f"lead {a['lead_id']} dialed again after a final {a['outcome']} ({a['id']})"
            assert b["started_at"] >= due, \
                f"lead {a['lead_id']}: {a['outcome']} in mode {a['call_mode']} at {a['ended_at']}, " \
                f"redialed at {b['started_at']}, before {due}"
            pairs += 1
    assert pairs > 300, f"only {pairs} redials in the day"


def _check_due_leads_dialed(rules, campaign, by_lead, callbacks, leads, samples, day_end):
    """A lead due (retry or campaign-wide callback) while an operator sat unserved for 10 s was dialed.

    `unserved_ready` (from the loadtest's status every 5 s) counts ready operators no call in
    flight was headed for: the pacer would dial for them if the hopper had a lead."""
    by_attempt = _callbacks_by_attempt(by_lead, callbacks)
    waiting_since = []              # times at which an operator had been unserved for IDLE_SAMPLES
    run = 0
    for s in samples:
        run = run + 1 if s["unserved_ready"] > 0 else 0
        if run >= IDLE_SAMPLES:
            waiting_since.append(s["now"])
    assert waiting_since, "operators never waited: the day does not test retries under spare capacity"
    late = []
    checked = 0
    for lead_id, lead_attempts in by_lead.items():
        lead = leads[lead_id]
        for i, a in enumerate(lead_attempts):
            due = _due_after(rules, campaign, a, i + 1, by_attempt)
            if due is None:
                continue
            callback = by_attempt.get(a["id"])
            if callback is not None and callback["operator_id"] is not None:
                continue            # owned callbacks wait for their owner: _check_callbacks
            exhausted = lead["completed"] or not rules.status(lead["status"]).auto_dial
            nxt = lead_attempts[i + 1]["started_at"] if i + 1 < len(lead_attempts) else None
            if nxt is None and (exhausted or lead["next_attempt_at"] is None):
                continue            # the rules finished the lead (e.g. max attempts): nothing due
            until = nxt or day_end
            checked += 1
            idle = [t for t in waiting_since if due + PICKUP <= t < until]
            if idle:
                late.append((lead_id, a["outcome"], due, until, idle[0]))
    assert checked > 300
    assert not late, f"{len(late)} leads due but not dialed while operators waited, e.g. {late[:3]}"


def _check_callbacks(rules, by_lead, callbacks, day_end):
    """Each callback due in the day was dialed at or after its time and soon after it (owned ones
    once their owner is free: within the grace, else by anyone); owned ones answered within the
    grace went to their owner."""
    grace = rules.callback_grace
    owned_to_owner = campaign_wide = 0
    for cb in callbacks:
        if cb["due_at"] + grace + CALLBACK_BOUND > day_end:
            continue
        after = [a for a in by_lead[cb["lead_id"]] if a["started_at"] >= cb["created_at"]]
        assert after, f"callback {cb['id']} due {cb['due_at']} never dialed"
        first = after[0]
        assert first["started_at"] >= cb["due_at"], f"callback {cb['id']} dialed early"
        bound = cb["due_at"] + (grace if cb["operator_id"] else dt.timedelta(0)) + CALLBACK_BOUND
        assert first["started_at"] <= bound, \
            f"callback {cb['id']} (owner {cb['operator_id']}) due {cb['due_at']} dialed {first['started_at']}"
        if cb["operator_id"] is None:
            campaign_wide += 1
        elif first["started_at"] < cb["due_at"] + grace and first["outcome"] == "answered":
            assert first["operator_id"] == cb["operator_id"], f"callback {cb['id']} put through to someone else"
            owned_to_owner += 1
    assert owned_to_owner >= 5 and campaign_wide >= 20, (owned_to_owner, campaign_wide)


def _check_abandons(result, attempts, campaign):
    """Abandons are counted (rows = the runner's metric = the report) and locked out."""
    abandoned = [a for a in attempts if a["outcome"] == "abandoned"]
    assert abandoned, "predictive pacing abandoned nothing all day: the lock-out is untested"
    assert len(abandoned) == result["abandons_counted"] == result["outcomes"]["abandoned"]
    lockout = campaign["abandon_lockout"]
    for a in abandoned:
        later = [b for b in attempts if b["called_number"] == a["called_number"] and b["started_at"] > a["started_at"]]
        assert all(b["started_at"] >= a["ended_at"] + lockout for b in later), f"number {a['called_number']} redialed"
