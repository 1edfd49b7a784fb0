"""Sleeping in a cancel scope the caller entered, woken by a plain return (`sleep_in`)."""

from __future__ import annotations

import trio


async def sleep_in(scope: trio.CancelScope) -> None:
    """Sleep until `scope` (entered by the caller) is cancelled: its deadline, or `cancel()`.

    `trio.sleep_forever()` would end by raising Cancelled, to be caught by the scope; here the
    task is woken with a plain return instead, at the same moment and in the same place in the
    run queue (the SIP timer task and the runner's round sleep each wake about once a call, and
    the exception's raise and unwinding were a fifth of such a wake-up). A cancellation from
    an outer scope is raised as usual; should one come together with ours, it is raised at the
    caller's next checkpoint."""
    task = trio.lowlevel.current_task()

    def abort(raise_cancel) -> trio.lowlevel.Abort:
        if scope.cancel_called:
            trio.lowlevel.reschedule(task)      # woken by our own scope: return normally
            return trio.lowlevel.Abort.FAILED
        return trio.lowlevel.Abort.SUCCEEDED    # an outer scope: Cancelled, as usual

    await trio.lowlevel.wait_task_rescheduled(abort)
