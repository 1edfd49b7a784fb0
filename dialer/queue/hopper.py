"""The hopper: a few seconds of callable leads per campaign, leased, in dial order.

One `Hopper` per campaign per node. The campaign runner asks `take(n)` for the
next n leads to dial; they come back already leased to this node, in list-mix
order, checked at take time (calling window and DNC). Under the hood:

* each list has a small in-memory buffer, refilled by one unit of work that
  claims for all lists that run low (`dialer/store/hopper.py`), sized from the
  recent take rate so it holds about `seconds` of dialing;
* `WeightedMix` (smooth weighted round-robin) decides which list gives the next
  lead; a list with nothing callable is left out until `dry_retry` has passed;
* inside a list, buffers are in claim order: due callbacks, aged retries,
  call-mode rank, then the list strategy;
* leases are renewed while leads wait in the buffer or are in flight, released
  when a lead fails a check and by `release_all()` at shutdown; a node that dies
  loses them at expiry.

Time comes only from the injected `Clock`, so it runs under MockClock.
"""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
import math
import logging
import random
from typing import Iterable

import trio

from dialer.clock import Clock
from dialer.compliance.keys import KeyWindows, make_key
from dialer.compliance.windows import zone
from dialer.store import hopper as sql
from dialer.store.footprint import Footprint

from .mix import WeightedMix

log = logging.getLogger("dialer.hopper")


@dataclasses.dataclass
class LeadToDial:
    id: int
    campaign_id: int
    list_id: int
    phone: str
    timezone: str
    timezones: list[str] | None
    region: str | None
    country: str | None
    call_mode: str
    status: str
    attempts: int
    priority: int
    lease_expires_at: dt.datetime
    callback_id: int | None = None
    callback_operator: int | None = None   # operator who owns the callback, if any
    callback_due: dt.datetime | None = None
    taken_at: dt.datetime | None = None    # set when taken

    window_key: str = ""

    def __post_init__(self):
        if not self.window_key:
            self.window_key = make_key(self.timezone, self.timezones, self.region, self.country)

    @property
    def local_time(self) -> dt.datetime | None:
        """The lead's local time when it was taken. Worked out when asked (nothing on the
        dialing path asks): `astimezone` cost ~7 us a lead on every take."""
        return None if self.taken_at is None else self.taken_at.astimezone(zone(self.timezone))


class Hopper:
    def __init__(self, store, clock: Clock, campaign_id: int, node: str, *,
                 lease: dt.timedelta = dt.timedelta(seconds=120), seconds: float = 5.0, min_batch: int = 10,
                 setup_ttl: dt.timedelta = dt.timedelta(seconds=30),
                 dry_retry: dt.timedelta = dt.timedelta(seconds=5),
                 rescan: dt.timedelta = dt.timedelta(seconds=120), rules=None, seed: int | None = None):
        self.store, self.clock, self.campaign_id, self.node = store, clock, campaign_id, node
        self.lease, self.seconds, self.min_batch = lease, seconds, min_batch
        self.setup_ttl, self.dry_retry, self.rescan, self.rules = setup_ttl, dry_retry, rescan, rules
        # Scan cursors per (list, mode), for fresh leads (an id) and due leads
        # (next_attempt_at, id): claims start just past this node's last one, so leads
        # it (or others) hold, and leads that cannot be dialed yet (DNC, locked out,
        # daily limit), are not walked over on every refill. Leads behind a cursor
        # that may have become callable are picked up by moving cursors back: a
        # (list, mode)'s when this node releases one of its leads; all of them when
        # the set of open windows changes and every `rescan` (leases of dead nodes
        # expire, lock-outs and daily limits end, DNC entries are removed).
        self._cursors: dict[tuple[int, str], int] = {}
        self._due_cursors: dict[tuple[int, str], tuple[dt.datetime, int]] = {}
        self._cursor_basis: tuple[list[str], dt.datetime] | None = None
        self._random = random.Random(seed)
        self._setup: dict | None = None
        self._setup_at: dt.datetime | None = None
        self._windows: KeyWindows | None = None
        self._open_cache: tuple[dt.datetime, list[str], frozenset[str]] | None = None
        self._buffers: dict[int, collections.deque[LeadToDial]] = {}
        self._dry_until: dict[int, dt.datetime] = {}
        self._in_flight: dict[int, LeadToDial] = {}
        self._takes: collections.deque[tuple[float, int]] = collections.deque()
        self._taken = 0                  # the sum of _takes' counts
        # The earliest lease expiry among held leads at the last full look (None: look again).
        # A lower bound until the next look: a claim leases until now + lease, no earlier than
        # any lease already held, and leads that leave can only make the earliest later.
        self._earliest_lease: dt.datetime | None = None
        self._mix = WeightedMix()
        self._lock = _Lock()  # one refill/take at a time per hopper
        # A top-up claim sent ahead of the next take (`store.send_ahead`, virtual time's inline
        # store): (requests, when, the pending result, rewinds to apply after it), or None.
        self._send_ahead = getattr(store, "sends_ahead", False)
        self._top_up = None
        self.stats = collections.Counter()

    # -- what the campaign runner calls ------------------------------------------------

    async def take(self, n: int, ready_operators: Iterable[int] | None = None, *,
                   start=None) -> list[LeadToDial]:
        """Up to n leads to dial now, leased to this node, in dial order.

        Callbacks owned by an operator are only handed out when that operator is in
        `ready_operators` (until the campaign's grace period lets anyone take them).

        `start(conn, check, leads)`, when given, takes the place of the plain take-time
        re-check, in the same crossing: `check` is the re-check's arguments (a `sql.Check`, the
        picked leads' ids, ids to hand back), `leads` the picked leads. It must
        re-check them exactly as `sql.recheck` does while it writes what it needs (the engine:
        `dialer.store.launch.recheck_and_start`, re-check + attempt rows in one statement) and
        return the ids that passed. It runs with no transaction around it (its one statement
        is atomic on its own); a top-up claim, if the buffers want one, follows it in the same
        crossing (`_claim_and_start`). It may run more than once, when leads fail the re-check
        and are replaced; it keeps its own results.

        `start` must touch nothing but the rows of the leads in `check` (picked and handed back)
        and of their numbers (DNC entries, attempts): a crossing without a claim in it declares
        that much (`run_statements(reads=)`), so the inline store may run it beside a journal
        flush in flight that touches none of them (`dialer.store.footprint`)."""
        async with self._lock:
            self._settle_top_up()
            now = self.clock.now()
            await self._ensure_setup(now)
            if not self._setup["campaign"]["active"]:
                await self.release_all()  # paused: let other nodes (or a restart) have them
                return []
            if n <= 0:
                return []
            self._note_take(n)
            await self._renew_if_due(now)
            # Read only (owners looked up in it): the runner's frozenset as it is, not copied (it
            # cannot change under us across the take's crossings; another iterable is copied).
            ready = ready_operators if isinstance(ready_operators, frozenset) else set(ready_operators or ())
            taken: list[LeadToDial] = []
            for _ in range(4):  # replacements for leads that fail the DNC re-check
                missing = n - len(taken)
                if missing <= 0:
                    break
                self._settle_top_up()
                if self._short(now, missing):
                    await self._refill(now, missing)  # the buffers cannot cover this take
                picked, closed = self._pick(missing, now, ready)
                if not picked and not closed:
                    break
                # One crossing: re-check what we hand out, and top the buffers up behind it, enough
                # for another take like this one (with 0, a small list's top-up stopped short of what
                # `_short` asks of the next take, which then waited on a claim of its own: 338 such
                # crossings in the 1-hour day, 2 now, and fewer claims in all for the same leads).
                plan = self._plan(now, n)
                recheck_args = (self._check(now), [lead.id for lead in picked], [lead.id for lead in closed])
                if start is None:
                    ok, got = await self.store.run(sql.recheck_and_claim, (*recheck_args, [lead.phone for lead in picked]),
                                                   plan and plan[1:])
                elif plan and self._send_ahead:
                    # The launch crosses alone and its calls go; the top-up claim is sent ahead and
                    # absorbed by whatever reads the buffers next (`_settle_top_up`).
                    ok, _ = await self.store.run_statements(_claim_and_start, recheck_args, None, picked, start,
                                                            reads=_launch_reads(picked, closed))
                    await self._send_claim_ahead(plan, now)
                    plan = None
                else:
                    # A claim reads (and leases) leads anywhere in the lists: no footprint then.
                    ok, got = await self.store.run_statements(
                        _claim_and_start, recheck_args, plan and plan[1:], picked, start,
                        reads=None if plan else _launch_reads(picked, closed))
                if plan:
                    self._absorb(plan[0], got, now)
                ok = set(ok)
                self._rewind(closed + [lead for lead in picked if lead.id not in ok])
                self.stats["closed_at_take"] += len(closed)
                self.stats["dnc_at_take"] += len(picked) - len(ok)
                taken.extend(lead for lead in picked if lead.id in ok)
            for lead in taken:
                lead.taken_at = now
                self._in_flight[lead.id] = lead
            self.stats["taken"] += len(taken)
            return taken

    async def _send_claim_ahead(self, plan: tuple, now: dt.datetime) -> None:
        """Send `plan`'s claim ahead (`store.send_ahead`): `_settle_top_up` absorbs it."""
        self._top_up = (plan[0], now, await self.store.send_ahead(sql.claim, *plan[1:], transaction=False), [])

    def _settle_top_up(self) -> None:
        """Absorb the top-up claim sent ahead by the last take, and then the rewinds that take
        made after it: in the order they would have had with the claim in the take's crossing,
        so the cursors and buffers (and the day) are the same."""
        if self._top_up is None:
            return
        requests, at, ahead, rewinds = self._top_up
        self._top_up = None
        try:
            got = ahead.result()
        except Exception as exc:
            log.warning("hopper: the top-up claim after a launch failed, the next round tries again: %r", exc)
            got = None
        if got is not None:
            self._absorb(requests, got, at)
        self._rewind(rewinds)

    async def recheck(self, leads: list[LeadToDial]) -> list[LeadToDial]:
        """Dial-time check, right before the INVITE: window, DNC, lease still ours.
        Returns the leads that may be dialed; the others are released and forgotten."""
        now = self.clock.now()
        await self._ensure_setup(now)
        closed = [lead for lead in leads if not self._window_allows(lead, now)]
        rest = [lead for lead in leads if lead not in closed]
        ok = set(await self.store.run(sql.recheck, self._check(now), [lead.id for lead in rest],
                                      [lead.id for lead in closed], [lead.phone for lead in rest]))
        self._rewind([lead for lead in leads if lead.id not in ok])
        for lead in leads:
            if lead.id not in ok:
                self._in_flight.pop(lead.id, None)
        return [lead for lead in rest if lead.id in ok]

    def _check(self, now: dt.datetime) -> sql.Check:
        campaign = self._setup["campaign"]
        return sql.Check(self.campaign_id, self.node, now, campaign["abandon_lockout"],
                         campaign["max_daily_attempts_per_number"])

    def done(self, lead_id: int) -> None:
        """The call for this lead ended and its outcome is stored: stop renewing its lease."""
        self._in_flight.pop(lead_id, None)

    async def release_all(self) -> int:
        """Give back every buffered lease (at shutdown). In-flight leads keep theirs:
        their calls' outcomes will clear them."""
        self._settle_top_up()
        released = [lead for buf in self._buffers.values() for lead in buf]
        ids = [lead.id for lead in released]
        self._buffers.clear()
        self._rewind(released)
        if not ids:
            return 0
        with trio.CancelScope(shield=True):
            return await self.store.run_statements(sql.release_leads, self.node, ids)

    def buffered(self) -> int:
        return sum(map(len, self._buffers.values()))

    async def run(self, *, period: float = 5.0, task_status=trio.TASK_STATUS_IGNORED) -> None:
        """Optional maintenance loop: keeps buffers topped up and leases renewed
        between takes. Start it in the runner's nursery."""
        task_status.started()
        while True:
            async with self._lock:
                self._settle_top_up()
                now = self.clock.now()
                await self._ensure_setup(now)
                await self._renew_if_due(now)
                if self._setup["campaign"]["active"]:
                    await self._refill(now, 0, ahead=self._send_ahead)
            await trio.sleep(period)

    def invalidate(self) -> None:
        """Reload campaign, lists, modes and window keys on the next call."""
        self._setup_at = None

    # -- internals ------------------------------------------------------------------

    async def _ensure_setup(self, now: dt.datetime) -> None:
        if self._setup is not None and self._setup_at is not None and now - self._setup_at < self.setup_ttl:
            return
        setup = await self.store.run_statements(sql.load_setup, self.campaign_id)
        self._setup, self._setup_at = setup, now
        self._windows = KeyWindows(setup["campaign"], setup["keys"], self.rules)
        self._open_cache = None
        dialing = {l["id"]: l["weight"] for l in setup["lists"] if l["active"] and l["to_dial"] and l["weight"] > 0}
        self._mix.set_weights(dialing)
        for list_id in list(self._buffers):
            if list_id not in dialing:  # list switched off: hand its leads back
                gone = [lead.id for lead in self._buffers.pop(list_id)]
                await self.store.run_statements(sql.release_leads, self.node, gone)
                self._rewind_list(list_id)

    @property
    def _minute_exact(self) -> bool:
        """Windows change only on whole minutes (the rules table's hours and every DST
        transition are whole minutes) unless the campaign's hours have seconds."""
        campaign = self._setup["campaign"]
        return campaign["calling_start"].second == 0 and campaign["calling_end"].second == 0 and \
            not campaign["calling_start"].microsecond and not campaign["calling_end"].microsecond

    def _open_keys(self, now: dt.datetime) -> list[str]:
        stamp = now.replace(second=0, microsecond=0) if self._minute_exact else now
        if self._open_cache is None or self._open_cache[0] != stamp:
            keys = self._windows.open_at(now)
            self._open_cache = (stamp, keys, frozenset(keys))
        return self._open_cache[1]

    def _window_allows(self, lead: LeadToDial, now: dt.datetime) -> bool:
        key = lead.window_key
        if key not in self._windows.windows and key not in self._windows.broken:
            # A key born after the setup was loaded (a lead edited or imported since).
            self._windows = KeyWindows(self._setup["campaign"], [*self._windows.windows, key], self.rules)
            self._open_cache = None
        if self._minute_exact:
            self._open_keys(now)
            return key in self._open_cache[2]
        return self._windows.allows(key, now)

    def _note_take(self, n: int) -> None:
        t = self.clock.monotonic()
        self._takes.append((t, n))
        self._taken += n
        while self._takes and self._takes[0][0] < t - 10.0:
            self._taken -= self._takes.popleft()[1]

    def _rate(self) -> float:
        return self._taken / 10.0

    def _dialing_lists(self, now: dt.datetime) -> list[int]:
        return [lid for lid in self._mix.weights if self._dry_until.get(lid, now) <= now or self._buffers.get(lid)]

    def _short(self, now: dt.datetime, need_now: int) -> bool:
        """Does some list that may still give hold fewer leads than this take may want of it?"""
        weights = self._mix.weights
        lists = [lid for lid in weights if self._dry_until.get(lid, now) <= now]
        total = sum(weights[lid] for lid in lists)
        return any(len(self._buffers.get(lid, ())) < math.ceil(need_now * weights[lid] / total) + 2
                   for lid in lists)

    async def _refill(self, now: dt.datetime, need_now: int, *, ahead: bool = False) -> None:
        """Claim what `_plan` says; with `ahead`, send the claim ahead (`_send_claim_ahead`)
        instead of waiting for it (the maintenance loop's top-up: nobody waits on it)."""
        plan = self._plan(now, need_now)
        if plan and ahead:
            await self._send_claim_ahead(plan, now)
        elif plan:
            # The claim, like the set-up, renewal and release below, is ONE statement (atomic on
            # its own): run without BEGIN and COMMIT around it, two round trips fewer.
            got = await self.store.run_statements(sql.claim, *plan[1:])
            self._absorb(plan[0], got, now)

    def _plan(self, now: dt.datetime, need_now: int) -> tuple | None:
        """What to claim so every list holds about `seconds` of dialing plus `need_now`'s
        share: (requests, then the arguments of sql.claim), or None if nothing."""
        weights = self._mix.weights
        lists = [lid for lid in weights if self._dry_until.get(lid, now) <= now]
        if not lists:
            return None
        target = max(self.min_batch, math.ceil(self._rate() * self.seconds), need_now)
        requests = []
        total = sum(weights[lid] for lid in lists)      # each list's share: WeightedMix.share's
        for lid in lists:
            share = weights[lid] / total
            have = len(self._buffers.get(lid, ()))
            needed = math.ceil(need_now * share) + 2  # SWRR may run a pick or two ahead of share
            level = math.ceil(target * share) + needed
            if have >= needed and have * 2 >= level:
                continue
            strategy = next(l["strategy"] for l in self._setup["lists"] if l["id"] == lid)
            modes = [m.name for m in self._setup["modes"]]
            if strategy == "random":
                lo, hi = self._setup["id_ranges"].get(lid, (0, 0))
                pivot = self._random.randint(lo, hi) if hi > lo else 0
                pivots = {m: pivot for m in modes}
            else:
                pivots = {m: self._cursors[lid, m] for m in modes if (lid, m) in self._cursors}
            due_after = {m: self._due_cursors[lid, m] for m in modes if (lid, m) in self._due_cursors}
            requests.append(sql.ListRequest(lid, strategy, max(level - have, 1), pivots, due_after))
        if not requests:
            return None
        campaign = self._setup["campaign"]
        open_keys = self._open_keys(now)
        if (self._cursor_basis is None or self._cursor_basis[0] != open_keys
                or now - self._cursor_basis[1] >= self.rescan):
            self._cursors.clear()
            self._due_cursors.clear()
            self._cursor_basis = (open_keys, now)
            for request in requests:
                request.due_after = {}
                if request.strategy != "random":
                    request.pivots = {}
        gate = sql.Gate(self.campaign_id, now, self._setup["auto_statuses"], open_keys,
                        campaign["abandon_lockout"], campaign["max_daily_attempts_per_number"])
        callbacks = sum(r.want for r in requests)
        return requests, gate, self.node, now + self.lease, requests, self._setup["modes"], callbacks

    def _absorb(self, requests: list[sql.ListRequest], got: dict[int, list[dict]], now: dt.datetime) -> None:
        self.stats["refills"] += 1
        for request in requests:
            rows = got.get(request.list_id, [])
            self._move_cursors(request, rows)
            leads = [self._lead(row, now + self.lease) for row in rows]
            if request.strategy == "random":
                self._random.shuffle(leads)
                leads.sort(key=lambda lead: lead.callback_id is None)  # callbacks stay first
            buf = self._buffers.setdefault(request.list_id, collections.deque())
            # Due callbacks go ahead of what the buffer already holds ("callbacks first" holds
            # across refills, not only inside one claim): a callback is promised for a time.
            buf.extendleft(reversed([lead for lead in leads if lead.callback_id is not None]))
            buf.extend(lead for lead in leads if lead.callback_id is None)
            if leads and self._earliest_lease is not None:
                self._earliest_lease = min(self._earliest_lease, leads[0].lease_expires_at)
            if len(rows) < request.want:
                self._dry_until[request.list_id] = now + self.dry_retry
            else:
                self._dry_until.pop(request.list_id, None)
            self.stats["claimed"] += len(rows)

    def _move_cursors(self, request: sql.ListRequest, rows: list[dict]) -> None:
        """Move each (list, mode)'s cursors just past the leads this claim leased. The
        leased ones of a (list, mode) are the first of its scan, so nothing callable is
        left behind; a list that came up short keeps its cursors (what it walked over
        could not be dialed: going back to the top would walk it again on every refill)."""
        for row in rows:
            key = (request.list_id, row["call_mode"])
            if row.get("_due"):
                at = (row["next_attempt_at"], row["id"])
                if key not in self._due_cursors or at > self._due_cursors[key]:
                    self._due_cursors[key] = at
            elif row.get("_fresh") and request.strategy != "random":
                # newest scans downwards: below the smallest id taken; the others upwards.
                if request.strategy == "newest":
                    self._cursors[key] = min(row["id"], self._cursors.get(key, row["id"]))
                else:
                    self._cursors[key] = max(row["id"] + 1, self._cursors.get(key, 0))

    def _rewind(self, leads: Iterable[LeadToDial]) -> None:
        """Leads this node hands back are callable again (or soon): scan their (list,
        mode) from the top on the next claim."""
        if self._top_up is not None:        # after the claim sent ahead is absorbed
            self._top_up[3].extend(leads)
            return
        for lead in leads:
            self._cursors.pop((lead.list_id, lead.call_mode), None)
            self._due_cursors.pop((lead.list_id, lead.call_mode), None)

    def _rewind_list(self, list_id: int) -> None:
        for cursors in (self._cursors, self._due_cursors):
            for key in [k for k in cursors if k[0] == list_id]:
                del cursors[key]

    def _lead(self, row: dict, lease_until: dt.datetime) -> LeadToDial:
        return LeadToDial(
            id=row["id"], campaign_id=self.campaign_id, list_id=row["list_id"], phone=row["phone"],
            timezone=row["timezone"], timezones=list(row["timezones"]) if row["timezones"] else None,
            region=row["region"], country=row["country"], call_mode=row["call_mode"], status=row["status"],
            attempts=row["attempts"], priority=row["priority"], lease_expires_at=lease_until,
            callback_id=row.get("callback_id"), callback_operator=row.get("callback_operator"),
            callback_due=row.get("callback_due"))

    def _owner(self, lead: LeadToDial, now: dt.datetime) -> int | None:
        """Who must take this lead's call: the callback's owner, until the grace ends."""
        if lead.callback_operator is None:
            return None
        campaign = self._setup["campaign"]
        if campaign["callback_grace_action"] == "anyone" and now >= lead.callback_due + campaign["callback_grace"]:
            return None
        return lead.callback_operator

    def _can_give(self, lid: int, now: dt.datetime, ready: set[int]) -> bool:
        for lead in self._buffers.get(lid, ()):
            owner = self._owner(lead, now)
            if owner is None or owner in ready:
                return True
        return False

    def _pop(self, lid: int, now: dt.datetime, ready: set[int], closed: list[LeadToDial]) -> LeadToDial | None:
        buf = self._buffers.get(lid)
        kept = []
        found = None
        while buf:
            lead = buf.popleft()
            owner = self._owner(lead, now)
            if owner is not None and owner not in ready:
                kept.append(lead)  # stays first in line for its operator
                continue
            if not self._window_allows(lead, now):
                closed.append(lead)  # window closed while it sat here: hand it back
                continue
            found = lead
            break
        if buf is not None:
            buf.extendleft(reversed(kept))
        if found is not None and found.callback_operator is not None:
            found.callback_operator = self._owner(found, now)
        return found

    def _pick(self, n: int, now: dt.datetime, ready: set[int]) -> tuple[list[LeadToDial], list[LeadToDial]]:
        picked: list[LeadToDial] = []
        closed: list[LeadToDial] = []
        givers = [lid for lid in self._mix.weights if self._can_give(lid, now, ready)]
        while len(picked) < n and givers:
            lid = self._mix.pick(givers)
            lead = self._pop(lid, now, ready, closed)
            if lead is not None:
                picked.append(lead)
            if lead is None or not self._can_give(lid, now, ready):
                givers.remove(lid)
        return picked, closed

    async def _renew_if_due(self, now: dt.datetime) -> None:
        if self._earliest_lease is not None and self._earliest_lease - now > self.lease / 2:
            return          # no lease held is due (see _earliest_lease): skip the walk over them
        held = [lead for buf in self._buffers.values() for lead in buf] + list(self._in_flight.values())
        self._earliest_lease = min((lead.lease_expires_at for lead in held), default=None)
        if self._earliest_lease is None or self._earliest_lease - now > self.lease / 2:
            return
        self._earliest_lease = None
        until = now + self.lease
        kept = set(await self.store.run_statements(sql.renew, self.node, [lead.id for lead in held], now, until))
        for lead in held:
            if lead.id in kept:
                lead.lease_expires_at = until
        # A lease we lost (expired and swept) must not be dialed: drop it from the buffers.
        for lid, buf in self._buffers.items():
            self._buffers[lid] = collections.deque(lead for lead in buf if lead.id in kept)
        self.stats["lost_leases"] += len(held) - len(kept)


def _launch_reads(picked: list[LeadToDial], closed: list[LeadToDial]) -> Footprint:
    """All that a launch's `start` touches: the leads it re-checks or hands back, and their
    numbers (see `Hopper.take`)."""
    return Footprint([lead.id for lead in picked + closed], [lead.phone for lead in picked + closed])


class _Lock:
    """A `trio.Lock` whose uncontended acquire is not a scheduling point.

    trio's acquire yields to the scheduler even when the lock is free (a checkpoint, by trio's
    convention): one more task step and scheduler pass every launch round, for a lock that is
    only ever contended by the maintenance loop. A take that must cross to the database
    checkpoints there; a contended acquire waits as trio's does."""

    __slots__ = ("_lock",)

    def __init__(self) -> None:
        self._lock = trio.Lock()

    async def __aenter__(self) -> None:
        try:
            self._lock.acquire_nowait()
        except trio.WouldBlock:
            await self._lock.acquire()

    async def __aexit__(self, *exc) -> None:
        self._lock.release()


async def _claim_and_start(conn, recheck_args: tuple, claim_args: tuple | None, picked: list, start):
    """The caller's `start` (re-check + its own writes: one statement, committed on its own),
    then, when the buffers want one, the top-up claim (one statement too). No transaction
    around them: BEGIN and COMMIT would be two more round trips per round.

    The claim only tops the buffers up for later rounds, so it goes second: once `start` has
    committed, its calls must be placed whatever happens next, and a claim that fails then is
    logged and left to the next round (what it leased, if anything, comes back at expiry)."""
    ok = await start(conn, recheck_args, picked)
    if not claim_args:
        return ok, {}
    try:
        return ok, await sql.claim(conn, *claim_args)
    except Exception as exc:
        log.warning("hopper: the top-up claim after a launch failed, the next round tries again: %r", exc)
        return ok, {}
