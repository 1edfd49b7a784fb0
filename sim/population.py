"""The called parties: for each call, what happens and how long it takes.

A call's fate is drawn from its own generator, seeded by the profile seed, the
called number and how many times that number has been called. So the same
seed gives every number the same fate whatever order the calls arrive in
(trio may run tasks woken at the same instant in either order), and a retried
number gets a fresh, but still reproducible, draw.
"""

from __future__ import annotations

import bisect
import itertools
import random
from collections import Counter
from dataclasses import dataclass

from .profile import FINAL_STATUS, OUTCOMES, Profile


@dataclass(frozen=True)
class CallPlan:
    outcome: str
    ring: float  # seconds from INVITE to the final response (inf: until CANCEL)
    talk: float  # answered: until the called party hangs up; machine: greeting + recording
    greeting: float  # machine greeting length (0 for people)
    status: int  # final SIP status the carrier sends

    @property
    def answers(self) -> bool:
        return self.status == 200


class Population:
    def __init__(self, profile: Profile, seed: int | None = None):
        self.profile = profile
        self.seed = profile.seed if seed is None else seed
        probs = profile.outcomes.probabilities()
        self._outcomes = [o for o in OUTCOMES if probs[o] > 0]
        self._thresholds = list(itertools.accumulate(probs[o] for o in self._outcomes))
        self._thresholds[-1] = 1.0  # no rounding gap at the top
        self._calls_to: Counter[str] = Counter()
        self._sequence = itertools.count()
        self._ring = {o: profile.ring.for_outcome(o).dist for o in OUTCOMES if o != "no_answer"}
        self._talk = profile.talk.dist
        self._greeting = profile.machine.greeting.dist
        self._recording = profile.machine.recording.dist
        self._no_answer_limit = profile.carrier.no_answer_limit

    def rng_for(self, key: str) -> random.Random:
        # str seeds are hashed with SHA-512 by random.Random: stable across processes.
        return random.Random(f"{self.seed}/{key}")

    def plan_for(self, number: str) -> CallPlan:
        """The fate of the next call to `number`."""
        attempt = self._calls_to[number]
        self._calls_to[number] += 1
        return self.draw(self.rng_for(f"{number}#{attempt}"))

    def next_plan(self) -> CallPlan:
        """A fate for a call with no number (e.g. statistical tests)."""
        return self.draw(self.rng_for(f"#{next(self._sequence)}"))

    def draw(self, rng: random.Random) -> CallPlan:
        outcome = self._outcomes[bisect.bisect_right(self._thresholds, rng.random())]
        # Always draw the same number of values in the same order, so changing
        # one outcome's timing does not reshuffle the others.
        ring_draw = self._ring[outcome if outcome != "no_answer" else "answered"].sample(rng)
        talk = self._talk.sample(rng)
        greeting = self._greeting.sample(rng)
        recording = self._recording.sample(rng)
        if outcome == "no_answer":
            ring = self._no_answer_limit or float("inf")
            return CallPlan(outcome, ring, 0.0, 0.0, FINAL_STATUS[outcome])
        if outcome == "answered":
            return CallPlan(outcome, ring_draw, talk, 0.0, 200)
        if outcome == "machine":
            return CallPlan(outcome, ring_draw, greeting + recording, greeting, 200)
        return CallPlan(outcome, ring_draw, 0.0, 0.0, FINAL_STATUS[outcome])
