-- Each scan keeps the door rules it was made under (the mode, as JSON), so that when passes
-- arrive late (offline uploads) a ticket's scans can be judged again in time order; and when
-- its anomaly was last changed that way, so deltas carry the correction to devices.
ALTER TABLE scans ADD COLUMN door_mode TEXT;
ALTER TABLE scans ADD COLUMN flags_changed_at BIGINT;
CREATE INDEX scans_flags_changed ON scans (performance_id, flags_changed_at) WHERE flags_changed_at IS NOT NULL;
