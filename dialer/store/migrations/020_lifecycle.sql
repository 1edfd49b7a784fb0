-- Lifecycle: finishing a batch of attempts closes the leads' due callbacks,
-- and the hopper asks for due callbacks per lead; both look callbacks up by
-- lead. Deleting a lead cascades to its callbacks by the same column.
CREATE INDEX callback_lead_idx ON callback (lead_id) WHERE done_at IS NULL;
