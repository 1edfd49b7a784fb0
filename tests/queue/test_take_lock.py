"""The hopper's take/refill lock (`dialer.queue.hopper._Lock`): one take or refill at a time, and
an uncontended acquire that is not a scheduling point (a launch round does not yield to the
scheduler just to take a free lock; its crossing is its checkpoint)."""

import trio
import trio.testing

from dialer.queue.hopper import _Lock


async def test_a_free_lock_is_taken_without_a_checkpoint():
    lock = _Lock()
    with trio.testing.assert_no_checkpoints():
        async with lock:
            pass
        async with lock:            # released: free again
            pass


async def test_a_held_lock_makes_the_next_one_wait_its_turn():
    lock, order = _Lock(), []

    async def hold(name, seconds):
        async with lock:
            order.append(f"{name} in")
            await trio.sleep(seconds)
            order.append(f"{name} out")

    async with trio.open_nursery() as nursery:
        nursery.start_soon(hold, "first", 1.0)
        await trio.testing.wait_all_tasks_blocked()
        nursery.start_soon(hold, "second", 0.0)
        nursery.start_soon(hold, "third", 0.0)
    assert order[:2] == ["first in", "first out"]
    assert sorted(order[2:]) == ["second in", "second out", "third in", "third out"]
    assert order[2].split()[0] == order[3].split()[0], "one holder at a time"


async def test_a_waiter_can_be_cancelled_and_the_lock_survives():
    lock, waited = _Lock(), []

    async def wait_briefly():
        with trio.move_on_after(1.0) as scope:
            async with lock:
                raise AssertionError("taken while held")
        waited.append(scope.cancelled_caught)

    async with lock:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(wait_briefly)
    assert waited == [True]
    async with lock:
        pass
