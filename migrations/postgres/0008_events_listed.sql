-- The listing of a partner's events (every past and future event of a Shotgun organisation can
-- take many pages) shows its progress: events read so far, written as pages arrive.
ALTER TABLE sources ADD COLUMN events_listed BIGINT NOT NULL DEFAULT 0;
