-- Sessions end after an idle time: when each was last used (written at most once a minute).
ALTER TABLE sessions ADD COLUMN last_seen_at BIGINT NOT NULL DEFAULT 0;
UPDATE sessions SET last_seen_at = started_at;
