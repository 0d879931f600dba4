-- PostgreSQL drops two foreign keys of scans that cost it a query per scan. SQLite checks a key
-- with an index lookup inside the insert, and would have to rebuild the table to drop one: it
-- keeps them. Kept so both dialects share migration numbers.
SELECT 1;
