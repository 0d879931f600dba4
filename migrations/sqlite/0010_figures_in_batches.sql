-- The admission trigger rewrote each admitted ticket's row and three report indexes inside the
-- door's transaction: a third of the pages a scan wrote. The figures are now brought up to date
-- in batches (server/src/storage/sqlite.rs, `bring_figures_up_to_date`), from the scans after
-- the last one counted, which a batch moves in the same transaction as the figures. SQLite has
-- one writer at a time, so scans commit in id order and a batch never skips a later commit.
DROP TRIGGER scans_admission;

CREATE TABLE ticket_figures_counted (
    only_row     INTEGER PRIMARY KEY CHECK (only_row = 1),
    last_scan_id INTEGER NOT NULL
);
-- The trigger counted every scan so far.
INSERT INTO ticket_figures_counted (only_row, last_scan_id) VALUES (1, COALESCE((SELECT MAX(id) FROM scans), 0));
