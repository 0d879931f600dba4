-- Who decided each scan, and how the device's clock stood (issue 24; issue 17, item 6).
-- `offline` already says the device decided (its verdict was the one shown at the door); the
-- server decided the others. For those: the round trip the device measured. For device
-- decisions: why the device did not ask or wait (offline, timeout, error, device_only), whether
-- the server's own verdict agreed, and the device's clock against the server's (server minus
-- device, as the device last measured it): more than 60 s off is flagged in reports.
ALTER TABLE scans ADD COLUMN round_trip_ms BIGINT;
ALTER TABLE scans ADD COLUMN device_reason TEXT;
ALTER TABLE scans ADD COLUMN server_agreed BOOLEAN;
ALTER TABLE scans ADD COLUMN clock_skew_ms BIGINT;
-- How long a scanner waits for the server's verdict before showing its own (per institution).
ALTER TABLE institutions ADD COLUMN scan_deadline_ms INTEGER NOT NULL DEFAULT 400;
