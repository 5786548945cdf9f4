"""The timer service wakes its task only for a timer that comes due.

An earlier deadline armed while the task sleeps, or the earliest timer cancelled
(an answered CALL's answer timer), moves the deadline of the sleep under way:
the task is not woken to sleep again. A deadline already past still wakes it,
and the expiry comes a scheduling step later, as from an idle service.
"""

from __future__ import annotations

from collections import Counter

import trio
import trio.testing

from chargebox.actors.timers import TimerService
from chargebox.ocpp import v16
from tests.actors.test_endpoint import heartbeat_result, serving, start_call


class Owner:
    """Armed timers by name -> generation; expiries with the trio time they came."""

    def __init__(self) -> None:
        self.armed: dict[str, int] = {}
        self.expired: list[tuple[str, float]] = []

    def timer_armed(self, name: str, generation: int) -> bool:
        return self.armed.get(name) == generation

    def timer_expired(self, name: str, generation: int) -> None:
        del self.armed[name]
        self.expired.append((name, trio.current_time()))


class Steps(trio.abc.Instrument):
    """Task steps per task name."""

    def __init__(self) -> None:
        self.steps: Counter[str] = Counter()

    def before_task_step(self, task: trio.lowlevel.Task) -> None:
        self.steps[task.name] += 1


async def test_an_earlier_timer_and_a_cancelled_one_do_not_wake_the_task(autojump_clock):
    owner, steps = Owner(), Steps()
    trio.lowlevel.add_instrument(steps)
    try:
        async with trio.open_nursery() as nursery:
            timers = TimerService(nursery)
            start = trio.current_time()
            owner.armed["sample"] = 1
            timers.arm(owner, "sample", start + 60, 1)
            await trio.sleep(1)  # the task sleeps until the sample's deadline
            for n in range(5):  # five CALLs, each answered a second after it went
                owner.armed[f"answer {n}"] = 10 + n
                timers.arm(owner, f"answer {n}", start + 31 + n, 10 + n)
                await trio.sleep(1)
                del owner.armed[f"answer {n}"]
                timers.disarmed(start + 31 + n)
            owner.armed["retry"] = 2
            timers.arm(owner, "retry", start + 40, 2)
            await trio.sleep(70)
    finally:
        trio.lowlevel.remove_instrument(steps)
    assert owner.expired == [("retry", start + 40), ("sample", start + 60)]
    # its start, the retry's expiry, the sample's, and its end with nothing armed
    assert steps.steps["timers"] == 3


async def test_a_timer_already_due_expires_a_step_later_as_from_an_idle_service(
    autojump_clock,
):
    steps = Steps()
    trio.lowlevel.add_instrument(steps)
    try:
        async with trio.open_nursery() as nursery:
            timers = TimerService(nursery)
            owner = Owner()
            owner.armed["sample"] = 1
            timers.arm(owner, "sample", trio.current_time() + 60, 1)
            await trio.sleep(1)
            now, before = trio.current_time(), steps.steps["timers"]
            owner.armed["due"] = 2
            timers.arm(owner, "due", now - 5, 2)
            await trio.sleep(0.5)
            assert owner.expired == [("due", now)]
            # woken, it sleeps again until the deadline already past: two steps, as a
            # task started for the timer takes (its start, then the deadline)
            assert steps.steps["timers"] - before == 2
            await trio.sleep(60)
            assert [name for name, _ in owner.expired] == ["due", "sample"]
    finally:
        trio.lowlevel.remove_instrument(steps)


async def test_an_answered_call_leaves_the_timer_task_asleep(autojump_clock):
    steps = Steps()
    async with serving() as (endpoint, ws, nursery):
        timers = TimerService(nursery)
        endpoint.timers = timers
        owner = Owner()
        owner.armed["sample"] = 1
        timers.arm(owner, "sample", trio.current_time() + 60, 1)
        await trio.sleep(1)
        trio.lowlevel.add_instrument(steps)
        try:
            for hour in range(5):  # five CALLs, each answered at once; their timers stale
                call = start_call(nursery, endpoint, v16.HeartbeatRequest())
                frame = await ws.next_frame()
                ws.push(heartbeat_result(frame[1], hour))
                await call.done.wait()
                assert call.error is None
            await trio.sleep(40)  # past the CALLs' deadlines (30 s), before the sample's
            assert steps.steps["timers"] == 0
            await trio.sleep(20)
        finally:
            trio.lowlevel.remove_instrument(steps)
        assert [name for name, _ in owner.expired] == ["sample"]
        assert steps.steps["timers"] == 1  # the sample's expiry (nothing armed after: it ends)


async def test_a_sleeping_timer_task_ends_when_its_nursery_is_cancelled(autojump_clock) -> None:
    """Its own deadline wakes it without a Cancelled; any other cancellation is one."""
    owner = Owner()
    ended = False
    timers: TimerService | None = None
    async with trio.open_nursery() as outer:

        async def served() -> None:
            nonlocal ended, timers
            async with trio.open_nursery() as nursery:
                timers = TimerService(nursery)
                owner.armed["soon"], owner.armed["late"] = 1, 2
                timers.arm(owner, "soon", trio.current_time() + 10, 1)
                timers.arm(owner, "late", trio.current_time() + 3600, 2)
                await trio.sleep(20)  # "soon" came due: the task sleeps on for "late"
                nursery.cancel_scope.cancel()
            ended = True

        outer.start_soon(served)
        await trio.sleep(20)
        for _ in range(100):  # (a task that ignored the cancellation would still run)
            await trio.lowlevel.checkpoint()
            if ended:
                break
        ended_in_time = ended
        if not ended and timers is not None:
            await timers.close()  # (so that the test ends to tell)
        assert ended_in_time
    assert owner.expired == [("soon", 10.0)]
    assert trio.current_time() == 20
