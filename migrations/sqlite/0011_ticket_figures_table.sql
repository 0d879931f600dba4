-- The figures (passes, first entry) move to a narrow table of their own, with only the
-- indexes the reports sort on: a batch (server/src/storage/sqlite.rs, `bring_figures_up_to_date`)
-- no longer rewrites the tickets' rows and their other indexes. As on PostgreSQL, so that
-- both dialects run the same report statements.
CREATE TABLE ticket_figures (
    ticket_id      INTEGER PRIMARY KEY REFERENCES tickets(id) ON DELETE CASCADE,
    -- The ticket's, which never change: copied so that a report's sort walks this table alone.
    performance_id INTEGER NOT NULL,
    barcode        TEXT NOT NULL,
    -- The ticket's too, kept by a trigger below: the admitted count by category from one index.
    category       TEXT NOT NULL,
    passes         INTEGER NOT NULL DEFAULT 0,
    first_entry    INTEGER
);
INSERT INTO ticket_figures (ticket_id, performance_id, barcode, category, passes, first_entry)
SELECT id, performance_id, barcode, category, passes, first_entry FROM tickets;
CREATE INDEX ticket_figures_passes ON ticket_figures (performance_id, passes, barcode, category);
CREATE INDEX ticket_figures_first_entry ON ticket_figures (performance_id, first_entry, barcode);

DROP INDEX tickets_report_passes;
DROP INDEX tickets_report_first_entry;
DROP INDEX tickets_report_totals;
CREATE INDEX tickets_report_totals ON tickets (performance_id, category, state);
ALTER TABLE tickets DROP COLUMN passes;
ALTER TABLE tickets DROP COLUMN first_entry;

-- Every ticket has its figures, whichever statement imports it, with its category.
CREATE TRIGGER tickets_figures AFTER INSERT ON tickets
BEGIN
    INSERT INTO ticket_figures (ticket_id, performance_id, barcode, category)
    VALUES (NEW.id, NEW.performance_id, NEW.barcode, NEW.category);
END;
CREATE TRIGGER tickets_figures_category AFTER UPDATE OF category ON tickets WHEN OLD.category IS NOT NEW.category
BEGIN
    UPDATE ticket_figures SET category = NEW.category WHERE ticket_id = NEW.id;
END;
