-- A group of door scans now locks its tickets' rows (FOR UPDATE) before deciding: no
-- admission compares a ticket's pass version any more.
ALTER TABLE tickets DROP COLUMN pass_version;
