"""A campaign day against the simulator: the engine of `dialer loadtest` and `make demo`.

    carrier (sim.carrier, a profile's population)  ◀── SIP ──  engine endpoint ── runner(s)
    operator team (profile [operators]: log-in offsets, wrap time, wrap-code mix)  ── desk API
      phones: SIP phones REGISTER with the engine and answer the calls it bridges (phone_team.py)
      desk:   people drive the desk directly; the desk connects them on reservation (no phone leg)

With `virtual=True` everything runs on the simulator's in-memory network under trio's
MockClock (the caller runs it with `sim.virtual.run_virtual`): a day passes in minutes.
Otherwise real UDP on 127.0.0.1. The profile's `[network]` impairs either (profile_networks).
`DayOptions.operators_via` picks the team: phones by default over real UDP, desk in virtual time.
Answering machines are recognised by asking the carrier (`carrier.truth`): the simulator's
oracle stands in for an answering-machine detector.
"""

from __future__ import annotations


import collections
import dataclasses
import datetime as dt
import itertools
import random

import trio

from dialer.clock import Clock

from .sim_wraps import CallbackPlan

US_ZONES = [("America/New_York", "NY", "212"), ("America/Chicago", "IL", "312"),
            ("America/Denver", "CO", "303"), ("America/Los_Angeles", "CA", "213"),
            ("America/Phoenix", "AZ", "602")]
DEMO_LISTS = [("east", 70), ("central", 30), ("west", 100)]


@dataclasses.dataclass
class DayOptions:
    operators: int = 10
    duration: float = 3600.0
    pacing: str = "progressive"
    seed: int = 1
    leads: int = 5000
    virtual: bool = True
    # 12:00 New York, 09:00 Los Angeles: every generated lead's zone is inside 09:00-21:00, and an
    # 8-hour day ends at 20:00 New York.
    start: dt.datetime = dt.datetime(2026, 3, 3, 17, 0, tzinfo=dt.timezone.utc)
    campaign: str = "loadtest"
    on_tick: object = None             # callable(status dict) every `tick` seconds (demo status table)
    tick: float = 5.0
    # Seconds endings gather before one crossing stores them (the day is the same at 2, 5 or 10 s;
    # fewer, bigger flushes are fewer round trips: docs/ENGINE.md).
    journal_interval: float = 5.0
    # Launch rounds at most every 0.25 s (VICIdial decides once a second): a round is a crossing, and
    # in virtual time each crossing is wall time; the pacer still sees every event.
    round_gap: float = 0.25
    # "phones": the simulator's SIP phones register with the engine's registrar and take bridged
    # calls (phone_team.py); "desk": people drive the desk directly, no phone leg. None: phones
    # over real UDP, desk in virtual time.
    operators_via: str | None = None
    callbacks: CallbackPlan = dataclasses.field(default_factory=CallbackPlan)   # sim_wraps.py

    def via(self) -> str:
        via = self.operators_via or ("desk" if self.virtual else "phones")
        if via not in ("desk", "phones"):
            raise ValueError(f"operators via {via!r}: desk or phones")
        return via
    pacing_config: object = None       # dialer.config.PacingConfig for the campaign (None: defaults)


async def seed_campaign(store, name: str, leads: int, seed: int, pacing: str) -> dict:
    from dialer.store.campaigns import create_campaign

    async def unit(conn):
        c = await create_campaign(conn, {"name": name, "dial_mode": pacing if pacing != "adaptive" else "predictive",
                                         "calling_start": dt.time(9), "calling_end": dt.time(21),
                                         "abandon_lockout": dt.timedelta(hours=72)})
        rng = random.Random(seed)
        rows = []
        lists = []
        for list_name, weight in DEMO_LISTS:
            lists.append(await conn.fetchval(
                "INSERT INTO lead_list (campaign_id, name, weight, to_dial) VALUES ($1, $2, $3, true) RETURNING id",
                c["id"], list_name, weight))
        for i in range(leads):
            zone, region, npa = US_ZONES[i % len(US_ZONES)]
            rows.append((c["id"], lists[i % len(lists)], f"+1{npa}{rng.randrange(200, 999)}{i % 10000:04d}",
                         zone, region, "US"))
        await conn.copy_records_to_table("lead", records=rows, columns=[
            "campaign_id", "list_id", "phone", "timezone", "region", "country"])
        return c

    return await store.run(unit)


async def run_day(store, profile, options: DayOptions) -> dict:
    """Seed, dial for `duration`, drain, and report (the loadtest report as a dict)."""
    from dialer.config.model import PacingConfig
    from dialer.sip.endpoint import open_endpoint
    from dialer.sip.trunk import Trunk, TrunkPool
    from dialer.store.wrap_batch import apply_wrap_kw, apply_wraps
    from dialer.store.operators import create_operators
    from dialer.store.rules import load_rules
    from sim.carrier import Carrier, serve_carrier
    from sim.network import profile_networks

    from .audit import run_audit
    from .bridge import SipPlacer
    from .compat import Hopper, finish_attempts, make_pacer, start_attempts
    from .journal import CallJournal
    from .metrics import EngineMetrics
    from .operators import OperatorDesk, OperatorState, callback_owner
    from .phone_team import PhoneTeam
    from .runner import CampaignRunner, RunnerSettings
    from .sim_wraps import PLAIN_CODE, SimWraps

    campaign = await seed_campaign(store, options.campaign, options.leads, options.seed, options.pacing)
    rows = await store.run(create_operators, [{"name": f"{options.campaign}-op{i + 1:03d}"}
                                              for i in range(options.operators)])
    clock = Clock(options.start)
    metrics = EngineMetrics()
    # Endings wait up to `journal_interval` to be stored together: nothing waits on them (an
    # operator's wrap flushes them first, in its own crossing; leases outlast the interval),
    # and in virtual time each crossing costs wall time while the clock stands still.
    journal = CallJournal(store, start_attempts, finish_attempts, metrics=metrics,
                          flush_interval=options.journal_interval)

    rules = (await store.run(load_rules, [campaign["id"]]))[campaign["id"]]
    wraps = SimWraps(clock, rules, options.callbacks, seed=options.seed)

    async def store_wrap(op, call, code, notes, callback_at):
        # The simulated operator does not wait for the store: the wrap is queued behind its call's
        # ending and stored in the journal's next flush (one crossing for many), in order. The
        # codes are checked against the campaign's first, so the store has no reason to refuse.
        # The wraps of one flush are stored together (`apply_wraps`: a few statements for all).
        # It touches only its lead's rows and a DNC entry for its number (`touches`): a launch
        # round that touches neither need not wait for the flush (dialer/store/footprint.py).
        journal.later(apply_wrap_kw, dict(lead_id=call.lead_id, code=code, now=clock.now(), author=op.name,
                                          operator_id=op.id, note=notes, callback_at=callback_at,
                                          attempt_id=call.attempt_id,
                                          callback_owner=callback_owner(op, call, callback_at)),
                      batch=apply_wraps, touches=(call.lead_id, call.number))

    desk = OperatorDesk(on_wrap=store_wrap, listeners=[metrics.operator_moved])
    for row in rows:
        desk.add(row["id"], row["name"])
    metrics.operators_present(desk.counts())
    network, carrier_network = profile_networks(profile.network, virtual=options.virtual, seed=options.seed)
    phones = PhoneTeam(desk, rows, profile, wraps, seed=options.seed) if options.via() == "phones" else None
    carrier = Carrier(profile, seed=options.seed)
    rng = random.Random(options.seed)
    team_cfg = profile.operators
    codes = [(c, w) for c, w in team_cfg.wrap_codes.items() if c in wraps.known]
    # The draw's population and cumulative weights, once: `choices(names, cum_weights=...)` makes
    # the same draw as `choices(names, weights)`, which accumulates the weights at every call.
    code_names = [c for c, _ in codes]
    code_cum_weights = list(itertools.accumulate(w for _, w in codes))
    wall = {"started": trio.current_time()}

    # Each operator sleeps until the end of their next wrap-up: the desk's move to wrap-up draws
    # the wrap time and sets the sleep's deadline (an event, not a poll: a whole day of 0.5 s
    # polls was most of the scheduler's work; and one wake-up a call, not one at the hang-up
    # and another at the end of the wrap). The draws come in the same order as when each
    # operator woke at the hang-up to draw its wrap time.
    asleep: dict[int, trio.CancelScope] = {}

    def to_wrap_up(op, old, new):
        if new is OperatorState.WRAP_UP and op.id in asleep:
            asleep[op.id].deadline = trio.current_time() + max(0.0, team_cfg.wrap.dist.sample(rng))

    desk.listeners.append(to_wrap_up)

    async def operator(name: str, login_at: float):
        await trio.sleep(login_at)
        op = desk.get(name)
        desk.login(name, ready=True)
        while True:
            with trio.CancelScope() as asleep[op.id]:
                await trio.sleep_forever()          # until the wrap-up drawn at the hang-up ends
            code = rng.choices(code_names, cum_weights=code_cum_weights)[0] if codes else PLAIN_CODE
            code, callback = wraps.choose(op, code)
            try:
                await desk.wrap(name, code, None, callback)
            except Exception:            # a code this campaign does not know: the plain one
                await desk.wrap(name, PLAIN_CODE)

    async with trio.open_nursery() as nursery:
        carrier_ep = await nursery.start(serve_carrier, carrier_network, "127.0.0.1", 0, carrier)
        async with open_endpoint(network, "127.0.0.1", 0,
                                 on_request=phones.on_request if phones else None) as endpoint:
            pool = TrunkPool([Trunk("sim-carrier", *carrier_ep.local_address)])
            pacing_cfg = options.pacing_config or PacingConfig()
            runner = CampaignRunner(
                campaign, clock=clock, journal=journal, hopper=Hopper(store, clock, campaign["id"], "loadtest"),
                pacer=make_pacer(options.pacing, pacing_cfg), placer=SipPlacer(endpoint, pool), desk=desk,
                metrics=metrics, settings=RunnerSettings(node="loadtest", drain_timeout=300,
                                                              round_gap=options.round_gap),
                classify=lambda call: "machine" if carrier.truth(call.call_id) == "machine" else "live",
                bridge=phones.make_bridge(endpoint) if phones else None)
            await nursery.start(journal.run)
            team = trio.CancelScope()

            async def run_team():
                with team:
                    if phones:          # the phones' own people log in, answer and wrap
                        await phones.run(network, "127.0.0.1", endpoint.local_address)
                        return
                    async with trio.open_nursery() as t:
                        for row in rows:
                            t.start_soon(operator, row["name"], max(0.0, team_cfg.login.dist.sample(rng)))

            nursery.start_soon(run_team)
            await nursery.start(runner.run)
            started = trio.current_time()
            with trio.move_on_after(options.duration):
                while True:
                    await trio.sleep(options.tick)
                    if options.on_tick is not None:
                        options.on_tick(status(runner, desk, metrics, trio.current_time() - started))
            # Occupancy over the dialing day itself, before the drain (operators waiting for the
            # last calls to end are not a pacing result); the pacing benchmark reports this one.
            day_occupancy = desk.occupancy()
            runner.stop()
            while runner.in_flight():
                await trio.sleep(1)
            with trio.move_on_after(600):
                while any(op.state is OperatorState.WRAP_UP for op in desk.operators.values()):
                    await trio.sleep(1)
            team.cancel()
            await journal.drained()
            elapsed = trio.current_time() - started
            occupancy = desk.occupancy()
            seconds = desk.seconds_by_state()
            nursery.cancel_scope.cancel()
    result = await report(store, campaign, elapsed, occupancy, seconds, carrier.summary())
    result.update(operators_via=options.via(), callbacks_scheduled=dict(wraps.scheduled),
                  # the runner's own count (metrics), beside the report's count of attempt rows
                  abandons_counted=int(metrics.registry.get_sample_value(
                      "dialer_abandons_total", {"campaign": campaign["name"]}) or 0),
                  network=_network_report(profile.network, carrier_network))
    if phones:
        result["phones"] = phones.summary()
    result["day_occupancy"] = day_occupancy
    # The journal's own crossings, the flushes that rode a launch round, units that failed.
    result["journal"] = {"crossings": journal.crossings, "rides": journal.rides,
                         "later_failed": journal.later_failed}
    return result


def status(runner, desk, metrics, elapsed: float) -> dict:
    counts = desk.counts()
    snap = runner.snapshot()
    return {"elapsed": elapsed, "now": runner.clock.now(), "in_flight": runner.in_flight(), "operators": counts,
            # ready operators no call in flight is headed for (progressive pacing dials for them)
            "unserved_ready": max(0, snap.ready_operators - snap.calls_without_operator),
            "outcomes": dict(runner.stats),
            "abandon_rate_hour": metrics.rolling_abandon_rate(runner.name)}


async def report(store, campaign: dict, elapsed: float, occupancy: float, seconds: dict, carrier: dict) -> dict:
    from .audit import run_audit

    # In id order: the talk time is a sum of floats, whose last bit depends on the order of its
    # terms, and the heap's order depends on when PostgreSQL stored each row version (a launch
    # beside a flush in flight interleaves their writes): the same day gives the same report.
    rows = await store.fetch(
        """SELECT a.outcome, a.started_at, a.answered_at, a.bridged_at, a.ended_at, ll.name AS list
           FROM attempt a LEFT JOIN lead_list ll ON ll.id = a.list_id WHERE a.campaign_id = $1
           ORDER BY a.id""", campaign["id"])
    outcomes = collections.Counter(r["outcome"] for r in rows)
    per_list = collections.Counter(r["list"] for r in rows)
    hours: dict[int, list[int]] = collections.defaultdict(lambda: [0, 0])
    first = min((r["started_at"] for r in rows), default=None)
    talk = 0.0
    for r in rows:
        if r["outcome"] in ("answered", "abandoned"):
            h = hours[int((r["started_at"] - first).total_seconds() // 3600)]
            h[0] += 1
            h[1] += r["outcome"] == "abandoned"
        if r["outcome"] == "answered" and r["bridged_at"] and r["ended_at"]:
            talk += (r["ended_at"] - r["bridged_at"]).total_seconds()
    live = outcomes["answered"] + outcomes["abandoned"]
    worst = max((a / l for l, a in hours.values() if l), default=0.0)
    logged_in = sum(v for k, v in seconds.items() if k != "logged_out")
    audit = await run_audit(store, campaign["id"])
    return {
        "calls": len(rows), "outcomes": dict(outcomes), "live_answers": live,
        "abandon_rate": outcomes["abandoned"] / live if live else 0.0,
        "worst_hour_abandon_rate": worst, "occupancy": occupancy,
        "talk_minutes_per_operator_hour": (talk / 60) / (logged_in / 3600) if logged_in else 0.0,
        "dials_per_list": dict(per_list), "cps": len(rows) / elapsed if elapsed else 0.0,
        "duration_seconds": elapsed, "audit_violations": len(audit.violations),
        "operator_seconds": {k: round(v, 1) for k, v in seconds.items()},
        # Ready time per bridged call: how long an operator waits between calls, on average.
        "operator_wait_per_call": seconds.get("ready", 0.0) / outcomes["answered"] if outcomes["answered"] else None,
        "audit_by_rule": audit.counts(), "carrier": carrier,
    }


def _network_report(config, network) -> dict:
    """The profile's impairment and what the (carrier's) network did with it."""
    stats = getattr(network, "stats", None)
    return {"loss": config.loss, "latency": config.latency, "jitter": config.jitter,
            **(stats.as_dict() if stats is not None else {})}
