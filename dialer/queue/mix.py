"""Weighted list mix: smooth weighted round-robin (the nginx upstream algorithm).

Each pick adds every list's weight to its credit, picks the list with the most
credit and takes the total weight off it. Over any run of 100 consecutive picks
each list's count stays within ±1 of its exact share when the shares are whole
numbers (70/30/100 -> 35/15/50), and below 2 away otherwise, because a list's
running count never strays a whole pick from weight/total × picks. It is
deterministic: no sampling noise to explain to a supervisor.

A list that has nothing to give is left out of a pick; the others share its
turns in proportion to their weights, which is what the issue asks for.
"""

from __future__ import annotations

from typing import Hashable, Iterable


class WeightedMix:
    def __init__(self, weights: dict[Hashable, int] | None = None):
        self._weights: dict[Hashable, int] = {}
        self._credit: dict[Hashable, int] = {}
        self.set_weights(weights or {})

    def set_weights(self, weights: dict[Hashable, int]) -> None:
        """Change the lists or their weights; credits of lists that stay are kept."""
        self._weights = {k: int(w) for k, w in weights.items() if int(w) > 0}
        self._credit = {k: self._credit.get(k, 0) for k in self._weights}

    @property
    def weights(self) -> dict[Hashable, int]:
        return dict(self._weights)

    def share(self, key: Hashable, among: Iterable[Hashable] | None = None) -> float:
        keys = list(self._weights if among is None else among)
        total = sum(self._weights.get(k, 0) for k in keys)
        return self._weights.get(key, 0) / total if total else 0.0

    def pick(self, available: Iterable[Hashable] | None = None) -> Hashable | None:
        """The next list, among `available` ones (default: all); None if none can give."""
        weights, credit = self._weights, self._credit
        keys = list(weights) if available is None else [k for k in available if k in weights]
        if not keys:
            return None
        if len(keys) < len(weights):
            # A list that cannot give must not bank credit for later (it would then
            # burst when it comes back); it starts again from zero.
            chosen = set(keys)
            for k in weights:
                if k not in chosen:
                    credit[k] = 0
        total = 0
        best, best_credit = None, None
        for k in keys:
            w = weights[k]
            c = credit[k] + w
            credit[k] = c
            total += w
            if best_credit is None or c > best_credit:
                best, best_credit = k, c
        credit[best] -= total
        return best
