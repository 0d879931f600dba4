-- Cancelled tickets the TIXNGO wallet holds are pushed so it removes them (SPEC §5): a ticket's
-- cancellation is pushed once, and again if it becomes valid and is cancelled anew (an import
-- that changes its state clears this).
ALTER TABLE tickets ADD COLUMN cancellation_pushed_at BIGINT;
-- The pusher's work list, kept small: only cancellations not pushed yet.
CREATE INDEX tickets_cancellations_to_push ON tickets (performance_id, id) WHERE state = 'cancelled' AND cancellation_pushed_at IS NULL;
