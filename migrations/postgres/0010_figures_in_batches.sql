-- SQLite's 0010 counts the tickets' figures in batches after the scans. PostgreSQL keeps its
-- trigger (server/src/storage/postgres.rs, `figures_up_to_date`, says why); nothing to change.
-- Kept so both dialects share migration numbers.
SELECT 1;
