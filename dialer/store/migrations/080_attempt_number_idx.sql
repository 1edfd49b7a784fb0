-- Attempts by the number called. The hopper's claim asks, for every candidate lead, "was this
-- number abandoned within the lock-out?" and "how many calls to it today?" (store/hopper.py
-- _gate_sql), and the audit asks the same per attempt: without this index each question is a
-- scan of the whole attempt table, so a campaign day slowed down as its attempts piled up
-- (an 8-hour, 100-operator virtual day spent most of its database time there).
CREATE INDEX attempt_called_number_idx ON attempt (called_number, started_at);
