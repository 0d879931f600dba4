-- Each foreign key on scans is a query per scan written, through SPI: three of them were a tenth of
-- PostgreSQL's time at the doors (measured 4,945–5,124 scans/s with them, 5,293–5,308 without
-- these two). The ticket's key stays: a scan's performance is its ticket's, which that key and the
-- ticket's own already guarantee (a number the doors do not know has neither), and logins are
-- never deleted. Purging a performance deletes its scans first (server/src/storage/shows.rs).
ALTER TABLE scans DROP CONSTRAINT scans_performance_id_fkey;
ALTER TABLE scans DROP CONSTRAINT scans_login_id_fkey;
