-- An operator's own calls, newest first (the operator page's "my calls", `web.operator_calls`):
-- without an index it read the whole attempt table and sorted it, on every page load, and
-- the table grows by every call of every campaign (~50,000 a day for 100 seats). Partial: the
-- launch inserts attempts without an operator, so only the closes of calls put through to an
-- operator (about one in three) write an entry (a close already updates `attempt_open_idx`'s
-- predicate column, so it was never a HOT update). Figures: docs/BENCHMARKS.md,
-- `bench/operator_calls.py`.
CREATE INDEX IF NOT EXISTS attempt_operator_idx ON attempt (operator_id, started_at DESC, id DESC)
    WHERE operator_id IS NOT NULL;
