-- Detaching a source no longer deletes the tickets that were scanned, nor unlinks their scans:
-- they stay, as unknown numbers of no source, marked with the time they were detached, so
-- their passes and history are kept; a later import of the same number takes the row back
-- (its passes with it), and a ticket admitted before the detach is "already scanned" after.
ALTER TABLE tickets ADD COLUMN detached_at BIGINT;
