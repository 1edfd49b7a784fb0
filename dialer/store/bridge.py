"""The one door to PostgreSQL: asyncpg behind trio-asyncio.

No other module touches asyncpg or asyncio. Crossing the trio↔asyncio bridge
costs ~270 µs, so the API is shaped around *units of work*: a function that
receives an asyncpg connection and does all its queries in one transaction,
run with one crossing (`Store.run`). The single-query helpers (`fetch`,
`fetchval`, ...) each cross once and are meant for the CLI and tests, not hot
paths.

Units of work live in `dialer/store/*.py` modules next to the SQL they speak.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import itertools
import logging
import math
import time
import weakref
from typing import Any, AsyncIterator, Awaitable, Callable, Sequence

import asyncpg
import trio
import trio.testing
import trio_asyncio

from dialer.exceptions import lone_exception

from .footprint import Footprint, may_run_beside


class _DropWritesToLostConnection(logging.Filter):
    """asyncio logs "socket.send() raised exception." for every write to a connection that is
    already gone (a COPY keeps streaming until asyncpg notices). asyncpg raises the loss
    itself, and the caller reports it once with what it means; the repeats are only noise."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != "socket.send() raised exception."


logging.getLogger("asyncio").addFilter(_DropWritesToLostConnection())

Unit = Callable[..., Awaitable[Any]]


class StoreError(Exception):
    """A database operation failed; the message says what and why."""


class Store:
    """An asyncpg pool usable from trio code."""

    def __init__(self, pool: asyncpg.Pool, url: str, inline: "_InlineLoop | None" = None,
                 ahead_pool: "_InlinePool | None" = None):
        self._pool = pool
        self._ahead_pool = ahead_pool     # the inline store's connection for units sent ahead
        self._ahead_enabled = True
        self.url = url
        self._inline = inline
        self.database = None  # the Database it came from, when opened by open_store
        # Seconds spent in the last crossings, for the database-latency metric.
        self.last_latency = 0.0

    @classmethod
    @contextlib.asynccontextmanager
    async def open(cls, url: str, *, min_size: int = 1, max_size: int = 10,
                   inline: bool = False, send_ahead: bool = True,
                   server_settings: dict[str, str] | None = None) -> AsyncIterator["Store"]:
        """An asyncpg pool behind trio-asyncio; with `inline`, for virtual time only, behind an
        asyncio loop of its own that each crossing runs to completion (see `_InlineLoop`).
        `send_ahead=False` makes an inline store run units sent ahead at once, as other stores
        do (with PostgreSQL on the same core as the simulation there is nothing to overlap).

        `server_settings`: session settings every pooled connection starts with (sent in
        the startup packet, so they are the session's defaults: `RESET ALL` keeps them)."""
        if inline:
            async with _inline_store(cls, url, min_size, max_size, server_settings) as store:
                store._ahead_enabled = send_ahead
                yield store
            return
        async with _asyncio_loop():
            async with _virtual_time_held():
                pool = await trio_asyncio.aio_as_trio(_create_pool)(url, min_size, max_size, server_settings)
            try:
                yield cls(pool, url)
            finally:
                with trio.CancelScope(shield=True):
                    async with _virtual_time_held():
                        await trio_asyncio.aio_as_trio(pool.close)()

    async def run(self, unit: Unit, *args: Any) -> Any:
        """Run `unit(conn, *args)` inside one transaction, crossing the bridge once."""
        return await self._cross(_in_transaction, unit, args)

    async def run_statements(self, unit: Unit, *args: Any, reads: Footprint | None = None) -> Any:
        """Run `unit(conn, *args)` with no transaction around it, crossing the bridge once.

        For units whose statements each stand alone (a single statement is atomic in
        PostgreSQL) or open their own `conn.transaction()`: BEGIN and COMMIT are a round trip
        each, as much as the statement itself for the launch round's one-statement write. The
        unit must leave no session state behind (no SET, LISTEN or advisory lock): unlike
        `run_without_transaction`, the connection goes back to the pool without a reset.

        `reads`: every row the unit reads or writes, by lead id and number (`footprint`), when
        that is all it touches. The inline store then runs it beside a unit sent ahead whose
        footprint is disjoint from it, instead of finishing that unit first."""
        return await self._cross(_statements, unit, args, reads)

    @property
    def sends_ahead(self) -> bool:
        """Does `send_ahead` overlap anything (the inline store), or just run the unit?"""
        return self._inline is not None and self._ahead_enabled

    async def send_ahead(self, unit: Unit, *args: Any, transaction: bool = True,
                         touches: Footprint | None = None) -> "Ahead":
        """Start `unit(conn, *args)` (in a transaction, or as `run_statements` with
        `transaction=False`) and return without waiting for its result: `ahead.result()` gives
        it later. For writes and top-ups nobody waits on (the journal's endings, the hopper's
        top-up claim), so that PostgreSQL works on them while the simulation goes on.

        Only the inline store (virtual time) overlaps anything: the unit's first statement is
        sent at once, later ones as trio's scheduler passes by (`_AheadPoller`), and it is
        finished before any other crossing of this store starts, so the database sees units in
        the order they were issued, as with plain crossings, and the day stays the same for the
        same seed. The one exception: a crossing whose declared reads (`run_statements(reads=)`)
        are disjoint from `touches`, every row the unit may read or write (`footprint`; None:
        any), runs beside it, as neither can see the other. A unit sent while another is still
        ahead queues behind it, on the same connection: the database runs them one after the
        other, in the order sent, and the next crossing that may see either finishes both.
        Nothing may depend on *when* it finished: ask for `result()` where you need it.
        Elsewhere the unit runs here and now, as `run` would."""
        runner = _in_transaction if transaction else _statements
        if not self.sends_ahead:
            try:
                return Ahead(None, value=await self._cross(runner, unit, args))
            except Exception as exc:
                return Ahead(None, error=exc)
        await trio.lowlevel.checkpoint_if_cancelled()
        return self._inline.send_ahead(runner(self._ahead_pool, unit, args), touches)

    @property
    def ahead_stats(self) -> dict[str, int]:
        """Crossings that found a unit sent ahead still in flight: how many ran beside it
        ("beside"), and how many finished it first ("settled"); and units sent ahead that
        queued behind one still in flight ("queued") (the inline store's; empty for another)."""
        return dict(self._inline.stats) if self._inline is not None else {}

    async def run_without_transaction(self, unit: Unit, *args: Any) -> Any:
        """Run `unit(conn, *args)` on one connection (for COPY streams, advisory locks)."""
        return await self._cross(_on_connection, unit, args)

    async def fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        return await self._cross(_on_connection, _method("fetch", sql), args)

    async def fetchrow(self, sql: str, *args: Any) -> asyncpg.Record | None:
        return await self._cross(_on_connection, _method("fetchrow", sql), args)

    async def fetchval(self, sql: str, *args: Any) -> Any:
        return await self._cross(_on_connection, _method("fetchval", sql), args)

    async def execute(self, sql: str, *args: Any) -> str:
        return await self._cross(_on_connection, _method("execute", sql), args)

    async def _cross(self, runner: Callable[..., Awaitable[Any]], unit: Unit, args: Sequence[Any],
                     reads: Footprint | None = None) -> Any:
        started = time.perf_counter()
        try:
            if self._inline is not None:
                await trio.lowlevel.checkpoint_if_cancelled()
                result = self._inline.run(runner(self._pool, unit, args), reads)
                # A scheduling point (other tasks get their turn), but the result is not lost
                # to a cancellation that arrives now: what the unit stored is stored.
                await trio.lowlevel.cancel_shielded_checkpoint()
                return result
            async with _virtual_time_held():
                return await trio_asyncio.aio_as_trio(runner)(self._pool, unit, args)
        finally:
            self.last_latency = time.perf_counter() - started


@contextlib.asynccontextmanager
async def kept_savepoint(conn) -> AsyncIterator[None]:
    """A savepoint in the unit's transaction, like a nested `conn.transaction()`, but not
    released when its block succeeds: the transaction's COMMIT releases it with the rest, so it
    costs one round trip instead of two (RELEASE SAVEPOINT is a round trip, as much as a small
    statement). If the block raises, what it did is rolled back and the exception goes on.
    For a few blocks per transaction (each one kept nests the next, up to the commit)."""
    name = f"kept_{next(_kept_savepoints)}"
    await conn.execute(f"SAVEPOINT {name}")
    try:
        yield
    except Exception:
        await conn.execute(f"ROLLBACK TO SAVEPOINT {name}")
        raise


_kept_savepoints = itertools.count(1)


class TrioStream:
    """A trio receive channel of bytes, as the asyncio async iterator a unit of
    work hands to asyncpg's COPY (`copy_to_table(source=...)`).

    The trio side sends chunks while the unit's transaction is already open, so
    a COPY streams data as it is produced; closing the send end ends the COPY.
    One bridge crossing per chunk: send chunks of ~100 kB or more.
    """

    def __init__(self, receive: trio.MemoryReceiveChannel):
        self._receive = receive
        self._next_chunk = trio_asyncio.trio_as_aio(self._next)

    def __aiter__(self) -> "TrioStream":
        return self

    async def __anext__(self) -> bytes:
        chunk = await self._next_chunk()
        if chunk is None:
            raise StopAsyncIteration
        return chunk

    async def _next(self) -> bytes | None:
        try:
            return await self._receive.receive()
        except trio.EndOfChannel:
            return None


async def copy_stream_to_table(conn, table: str, source, **options) -> str:
    """`conn.copy_to_table(table, source=source, ...)` that ends when the connection is lost.

    asyncpg (0.32) waits on its flow-control event before each chunk of a COPY. If the connection
    is lost while writing is paused (the server was slower than the parse), nothing sets that
    event again (the protocol is already closing, so no termination listener runs either) and the
    COPY waits for ever: an import whose database restarted mid-load hung instead of failing. So
    the COPY runs as its own task and we look at the connection while it runs; once the
    connection is closed the COPY is cancelled and the loss raised, and the import says so.
    """
    copy = asyncio.ensure_future(conn.copy_to_table(table, source=source, **options))
    try:
        while True:
            done, _ = await asyncio.wait({copy}, timeout=_COPY_WATCH_SECONDS)
            if done:
                return copy.result()
            if conn.is_closed():
                raise asyncpg.ConnectionDoesNotExistError(
                    "the database connection was lost during the COPY")
    finally:
        if not copy.done():
            copy.cancel()
            with contextlib.suppress(BaseException):
                await copy


_COPY_WATCH_SECONDS = 0.25


@contextlib.asynccontextmanager
async def _asyncio_loop() -> AsyncIterator[None]:
    """Reuse the trio-asyncio loop if one is running, else open one for our lifetime."""
    if trio_asyncio.current_loop.get(None) is not None:
        yield
        return
    try:
        async with trio_asyncio.open_loop():
            yield
    except BaseExceptionGroup as group:
        # The loop's nursery wraps whatever the caller's body raised; hand the
        # caller back its own exception so `except CliError:` still works.
        lone = lone_exception(group)
        if lone is None:
            raise
        raise lone from None



# MockClock -> (crossings in flight, the autojump threshold to restore).
_held_clocks: dict[int, tuple[int, float]] = {}


@contextlib.asynccontextmanager
async def _virtual_time_held() -> AsyncIterator[None]:
    """Under MockClock, keep virtual time still while we wait for the database.

    MockClock(autojump_threshold=0) jumps to the next timer as soon as every
    task is blocked, and a task waiting on the database socket counts as
    blocked: a 1 ms query could let a 25 s ring timer fire. While any crossing
    is in flight we lift the clock's autojump threshold to infinity, and put it
    back when the last one returns, so database work takes no virtual time. (A
    busy-waiting task would do the same but burn a core that PostgreSQL needs.)
    In real time this is a no-op.
    """
    clock = trio.lowlevel.current_clock()
    if not isinstance(clock, trio.testing.MockClock):
        yield
        return
    key = id(clock)
    depth, saved = _held_clocks.get(key, (0, clock.autojump_threshold))
    if depth == 0:
        clock.autojump_threshold = math.inf
    _held_clocks[key] = (depth + 1, saved)
    try:
        yield
    finally:
        depth, saved = _held_clocks[key]
        if depth == 1:
            del _held_clocks[key]
            clock.autojump_threshold = saved
        else:
            _held_clocks[key] = (depth - 1, saved)


class _InlineLoop:
    """Crossings for virtual time that do not go through trio-asyncio.

    Under MockClock every crossing already holds virtual time still (`_virtual_time_held`), so
    to the simulation a query takes no time and nothing else can be *due* while it runs. Handing
    each step of asyncpg's work to trio-asyncio (an asyncio callback per trio scheduler pass:
    ~14 passes for a crossing that does nothing, ~0.17 ms of CPU, and ~40 us more per round
    trip) then buys nothing: here the crossing instead runs a private asyncio loop to the end,
    inside the calling trio task, blocking in the loop's selector while PostgreSQL answers.
    Other trio tasks that are runnable at that virtual instant run right after it instead of
    in between, which they could not tell apart (the clock is still). It blocks the trio thread,
    so it is for MockClock only (`Store.open(inline=True)` refuses otherwise), and a unit may not
    call back into trio (`TrioStream`: a COPY from a trio channel needs the trio-asyncio store).

    asyncio's public `run_until_complete` refuses to run while trio-asyncio reports a running
    loop (it patches `get_running_loop` to read its `current_loop` context variable), so we set
    that variable to our loop for the crossing and turn the loop by `_run_once`, what
    `run_forever` does in its loop.

    Crossings may be *ahead* (`Store.send_ahead`): started on a connection of their own and
    left on the loop; `_AheadPoller` turns the loop for them between trio's scheduler passes when
    PostgreSQL has answered, and `settle` (called first by every crossing, and by `Ahead.result`)
    turns it until they are done. They form a queue on that connection: a unit sent while
    another is in flight waits (in asyncio) for it to end, however it ends, and then starts, so
    the database sees them in the order sent, as when sending the second finished the first;
    and nothing waits for the first on the trio side.

    A crossing that declares its reads (a `footprint.Footprint`) disjoint from the footprint of
    the unit ahead runs *beside* it instead: on the main connection, while the unit ahead goes on
    on its own (the crossing's turns of the loop move both). The day stays the same: neither can
    see the other's rows, so it does not matter which commits first, and they lock none of the
    same rows, so neither waits on the other (see `footprint`). With several units queued
    ahead, its reads must miss the footprint of every one still in flight. The units ahead stay
    ahead: the next crossing that may see one finishes them all first, in order, and each one's
    result (or error) waits in its task for its owner's `Ahead.result()`, as when any other
    crossing finishes it."""

    def __init__(self):
        self.loop = asyncio.SelectorEventLoop()
        self._ahead: collections.deque[Ahead] = collections.deque()   # in the order sent
        self._poller = _AheadPoller(self)
        self._polling = False
        # Crossings that found a unit ahead in flight: "beside" ran beside it, "settled" finished
        # it first; "queued": units sent ahead behind one in flight.
        self.stats = collections.Counter()

    def run(self, awaitable: Awaitable[Any], reads: Footprint | None = None) -> Any:
        in_flight = self._in_flight()
        beside = bool(in_flight) and all(may_run_beside(reads, ahead.touches) for ahead in in_flight)
        if beside:
            self.stats["beside"] += 1
        else:
            if in_flight:
                self.stats["settled"] += 1
            self.settle()   # what was sent ahead reaches the database first: crossings stay in order
        with self._current():
            task = asyncio.ensure_future(awaitable, loop=self.loop)
            self._turn_until_done(task)
            if beside:
                # The unit ahead may have callbacks ready (an answer read while we turned for
                # ours): run them now, so its next statement goes out; the poller only looks at
                # the sockets.
                self._turn_ready()
            return task.result()

    def _in_flight(self) -> list["Ahead"]:
        """The units ahead not done yet (a tail of the queue: each starts when the one before
        it has ended)."""
        return [ahead for ahead in self._ahead if not ahead._task.done()]

    def send_ahead(self, awaitable: Awaitable[Any], touches: Footprint | None = None) -> "Ahead":
        """Start a crossing without waiting for it, behind any still ahead: see `Store.send_ahead`."""
        in_flight = self._in_flight()
        if in_flight:
            self.stats["queued"] += 1
            awaitable = _after(in_flight[-1]._task, awaitable)
        else:
            self.settle()               # only done ones: forget them
        with self._current():
            task = asyncio.ensure_future(awaitable, loop=self.loop)
            self._turn_ready()          # until it waits for PostgreSQL: its first statement is sent
        ahead = Ahead(self, task, touches=touches)
        if not task.done():
            self._ahead.append(ahead)
            if not self._polling:
                trio.lowlevel.add_instrument(self._poller)
                self._polling = True
        return ahead

    def settle(self, upto: "Ahead | None" = None) -> None:
        """Finish the crossings sent ahead, in order: all of them, or those up to `upto`
        (blocking until PostgreSQL has answered)."""
        with self._current():
            while self._ahead:
                ahead = self._ahead[0]
                self._turn_until_done(ahead._task)
                self._ahead.popleft()
                if ahead is upto:
                    break
        if not self._ahead and self._polling:
            trio.lowlevel.remove_instrument(self._poller)
            self._polling = False

    def poll(self) -> None:
        """Move the crossing sent ahead on without waiting: take what PostgreSQL has answered
        and send its next statement. Called between trio's scheduler passes."""
        # Most passes end here, with a look at the loop's epoll (~1 us, level-triggered)
        # instead of a turn of the loop.
        if not self._ahead or not self.loop._selector._selector.poll(0):
            return
        with self._current():
            self.loop.call_soon(_nothing)    # so the loop's select does not block
            self._turn_ready()

    @contextlib.contextmanager
    def _current(self):
        """asyncio (and asyncpg) see our loop as the running one: see the class docstring."""
        token = trio_asyncio.current_loop.set(self.loop)
        try:
            yield
        finally:
            trio_asyncio.current_loop.reset(token)

    def _turn_until_done(self, task) -> None:
        while not task.done():
            self.loop._run_once()

    def _turn_ready(self) -> None:
        # Run what is runnable now, without waiting for the socket (select's timeout is 0
        # while callbacks are ready).
        while self.loop._ready:
            self.loop._run_once()

    def close(self) -> None:
        self.settle()
        self.loop.close()


def _nothing() -> None:
    pass


async def _after(previous: asyncio.Task, awaitable: Awaitable[Any]) -> Any:
    """`awaitable`, once `previous` has ended, whether it succeeded or failed (its result or
    error stays in its task for its owner): a unit sent ahead queued behind another."""
    await asyncio.wait((previous,))
    return await awaitable


class _AheadPoller(trio.abc.Instrument):
    """Moves an inline store's crossing sent ahead on between trio's scheduler passes, so a
    unit of several statements keeps PostgreSQL busy while the simulation runs."""

    def __init__(self, inline: "_InlineLoop"):
        self._inline = inline

    def before_io_wait(self, timeout: float) -> None:
        self._inline.poll()


class Ahead:
    """A unit of work sent ahead (`Store.send_ahead`): `result()` is its return value (or
    raises its exception), finishing it first if PostgreSQL has not answered yet."""

    def __init__(self, inline: "_InlineLoop | None", task=None, value: Any = None,
                 error: BaseException | None = None, touches: Footprint | None = None):
        self._inline, self._task = inline, task
        self._value, self._error = value, error
        self.touches = touches       # what it may read or write (`footprint`); None: anything

    def result(self) -> Any:
        if self._task is None:
            if self._error is not None:
                raise self._error
            return self._value
        if not self._task.done():
            self._inline.settle(upto=self)   # and those sent before it; not those after it
        return self._task.result()


@contextlib.asynccontextmanager
async def _inline_store(cls, url: str, min_size: int, max_size: int,
                        server_settings: dict[str, str] | None) -> AsyncIterator[Store]:
    if not isinstance(trio.lowlevel.current_clock(), trio.testing.MockClock):
        raise ValueError("an inline store blocks the trio loop while it waits for the database: "
                         "virtual time (trio.testing.MockClock) only")
    inline = _InlineLoop()
    try:
        # One connection per lane, whatever min_size/max_size say: see `_InlinePool`.
        pool, ahead_pool = _InlinePool(url, server_settings), _InlinePool(url, server_settings)
        try:
            yield cls(pool, url, inline, ahead_pool)
        finally:
            inline.settle()
            inline.run(pool.close())
            inline.run(ahead_pool.close())
    finally:
        inline.close()


class _InlinePool:
    """The inline store's stand-in for an asyncpg pool: one connection, lent to one crossing
    at a time (inline crossings run one after another, each to its end, so one is all they
    can use). An asyncpg pool's acquire and release cost ~40 us of CPU a crossing (an
    asyncio queue, a holder, a proxy, a timeout context); here they are a few attribute
    reads. What the pool's release does that matters is kept: a transaction left open is
    rolled back (`Connection._reset`) and a connection lent out bare is reset in full
    (`_reset_after_bare_use`). A connection that was lost is replaced on the next acquire."""

    def __init__(self, url: str, server_settings: dict[str, str] | None):
        self._url, self._settings = url, server_settings
        self._conn: asyncpg.Connection | None = None

    def acquire(self) -> "_InlineLease":
        return _InlineLease(self)

    async def _connection(self) -> asyncpg.Connection:
        if self._conn is None or self._conn.is_closed():
            self._conn = await asyncpg.connect(self._url, timeout=None, command_timeout=None,
                                               server_settings=self._settings)
        return self._conn

    async def close(self) -> None:
        if self._conn is not None and not self._conn.is_closed():
            await self._conn.close()


class _InlineLease:
    __slots__ = ("_pool", "_conn")

    def __init__(self, pool: _InlinePool):
        self._pool = pool

    async def __aenter__(self) -> asyncpg.Connection:
        self._conn = await self._pool._connection()
        return self._conn

    async def __aexit__(self, *exc) -> None:
        conn = self._conn
        if conn.is_closed():
            return
        try:
            if conn._protocol.is_in_transaction() or conn._top_xact is not None:
                await conn._reset()
            await _reset_after_bare_use(conn)
        except BaseException:
            conn.terminate()      # as the pool does: a connection that cannot be reset is dropped
            raise


async def _create_pool(url: str, min_size: int, max_size: int,
                       server_settings: dict[str, str] | None) -> asyncpg.Pool:
    # No client-side timeouts: under trio's MockClock (virtual time) an idle
    # wait on the socket lets the clock jump, and any asyncio timer would fire
    # at once. Timeouts belong to trio cancel scopes in the caller.
    return await asyncpg.create_pool(url, min_size=min_size, max_size=max_size, timeout=None,
                                     command_timeout=None, reset=_reset_after_bare_use,
                                     server_settings=server_settings)


# Connections lent out bare (`run_without_transaction`, the single-query helpers), which may
# have left session state behind (an advisory lock, a LISTEN, a SET).
_bare_use: "weakref.WeakSet[asyncpg.Connection]" = weakref.WeakSet()


async def _reset_after_bare_use(conn: asyncpg.Connection) -> None:
    """The pool's reset, only where it can matter.

    asyncpg resets every connection it takes back (advisory unlock, CLOSE ALL, UNLISTEN, RESET
    ALL): one more round trip per crossing. A unit of work run in a transaction leaves no
    session state (ours use `SET LOCAL` only), and asyncpg still rolls back any transaction left
    open before this runs; so the full reset runs only after a connection was lent out bare.
    """
    if conn in _bare_use:
        _bare_use.discard(conn)
        query = conn.get_reset_query()
        if query:
            await conn.execute(query)


async def _in_transaction(pool: asyncpg.Pool, unit: Unit, args: Sequence[Any]) -> Any:
    async with pool.acquire() as conn:
        async with conn.transaction():
            return await unit(conn, *args)


async def _statements(pool: asyncpg.Pool, unit: Unit, args: Sequence[Any]) -> Any:
    async with pool.acquire() as conn:
        return await unit(conn, *args)


async def _on_connection(pool: asyncpg.Pool, unit: Unit, args: Sequence[Any]) -> Any:
    async with pool.acquire() as conn:
        _bare_use.add(getattr(conn, "_con", conn))     # a pool's proxy, or the inline connection
        return await unit(conn, *args)


def _method(name: str, sql: str) -> Unit:
    async def call(conn: asyncpg.Connection, *args: Any) -> Any:
        return await getattr(conn, name)(sql, *args)

    return call
