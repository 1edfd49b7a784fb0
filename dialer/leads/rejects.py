"""Rejected rows, kept compact so a huge file with many rejects stays small.

Each reject costs 9 bytes (row number, reason code); the free-text detail is
kept for the first DETAIL_LIMIT rejects only (later ones show the reason code
alone). Parse-side rejects arrive per batch (each batch sorted, batches in any
order); database-side rejects arrive sorted. `iter_sorted` merges them by row
number, which is the order the second pass over the file needs.
"""

from __future__ import annotations

import heapq
from array import array
from collections import Counter
from typing import Iterator

DETAIL_LIMIT = 100_000


class RejectLog:
    def __init__(self) -> None:
        self._codes: list[str] = []
        self._code_index: dict[str, int] = {}
        self._segments: list[tuple[int, array, bytearray]] = []  # (first row, rows, codes)
        self._details: dict[int, str] = {}
        self.count = 0

    def _code(self, reason: str) -> int:
        index = self._code_index.get(reason)
        if index is None:
            index = self._code_index[reason] = len(self._codes)
            self._codes.append(reason)
        return index

    def add_segment(self, items: list[tuple[int, str, str]]) -> None:
        """Rejects of one batch (or one sorted source), sorted by row number."""
        if not items:
            return
        rows, codes = array("q"), bytearray()
        for row, reason, detail in items:
            rows.append(row)
            codes.append(self._code(reason))
            if detail and len(self._details) < DETAIL_LIMIT:
                self._details[row] = detail
        self._segments.append((rows[0], rows, codes))
        self.count += len(rows)

    def reasons(self) -> dict[str, int]:
        counts: Counter = Counter()
        for _, _, codes in self._segments:
            for code, n in Counter(codes).items():
                counts[self._codes[code]] += n
        return dict(sorted(counts.items()))

    def iter_sorted(self) -> Iterator[tuple[int, str, str]]:
        """(row, reason, detail) in row order."""
        def one(rows, codes):
            for row, code in zip(rows, codes):
                yield row, code

        # Parse batches never overlap each other, so ordering them by first row
        # sorts them; the database's segment overlaps them all: merge.
        streams = [one(rows, codes) for _, rows, codes in sorted(self._segments, key=lambda s: s[0])]
        for row, code in heapq.merge(*streams):
            yield row, self._codes[code], self._details.get(row, "")
