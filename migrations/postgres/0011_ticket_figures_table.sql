-- Each admission rewrote its ticket's row, and a new row version goes into every one of the
-- ticket's dozen indexes: with the PL/pgSQL trigger running once a scan, that was a third of
-- PostgreSQL's time at the doors. The figures (passes, first entry) now live in a narrow table
-- of their own, with only the indexes the reports sort on, and the trigger runs once for each
-- statement that records scans, as one set-based UPDATE. It still runs inside the admitting
-- statement: `read_before_an_admission` (server/src/storage/postgres.rs) relies on it.
CREATE TABLE ticket_figures (
    ticket_id      BIGINT PRIMARY KEY REFERENCES tickets(id) ON DELETE CASCADE,
    -- The ticket's, which never change: copied so that a report's sort walks this table alone.
    performance_id BIGINT NOT NULL,
    barcode        TEXT NOT NULL,
    -- The ticket's too, kept by a trigger below: the admitted count by category from one index.
    category       TEXT NOT NULL,
    passes         BIGINT NOT NULL DEFAULT 0,
    first_entry    BIGINT
);
INSERT INTO ticket_figures (ticket_id, performance_id, barcode, category, passes, first_entry)
SELECT id, performance_id, barcode, category, passes, first_entry FROM tickets;
CREATE INDEX ticket_figures_passes ON ticket_figures (performance_id, passes, barcode) INCLUDE (ticket_id, category);
-- Missing first entries sort first ascending, as on SQLite.
CREATE INDEX ticket_figures_first_entry ON ticket_figures (performance_id, first_entry NULLS FIRST, barcode) INCLUDE (ticket_id);

DROP TRIGGER scans_admission ON scans;
DROP INDEX tickets_report_passes;
DROP INDEX tickets_report_first_entry;
DROP INDEX tickets_report_totals;
CREATE INDEX tickets_report_totals ON tickets (performance_id, category, state);
ALTER TABLE tickets DROP COLUMN passes, DROP COLUMN first_entry;

-- Every ticket has its figures, whichever statement imports it, with its category.
CREATE FUNCTION tickets_figures() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO ticket_figures (ticket_id, performance_id, barcode, category)
    SELECT id, performance_id, barcode, category FROM imported_now;
    RETURN NULL;
END $$;
CREATE TRIGGER tickets_figures AFTER INSERT ON tickets REFERENCING NEW TABLE AS imported_now
FOR EACH STATEMENT EXECUTE FUNCTION tickets_figures();

CREATE FUNCTION tickets_figures_category() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE ticket_figures SET category = NEW.category WHERE ticket_id = NEW.id;
    RETURN NULL;
END $$;
CREATE TRIGGER tickets_figures_category AFTER UPDATE OF category ON tickets
FOR EACH ROW WHEN (OLD.category IS DISTINCT FROM NEW.category) EXECUTE FUNCTION tickets_figures_category();

CREATE OR REPLACE FUNCTION scans_admission() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE ticket_figures f SET
        passes = f.passes + a.passes,
        first_entry = LEAST(f.first_entry, a.first_entry)
    FROM (SELECT ticket_id, COUNT(*) AS passes, MIN(scanned_at) FILTER (WHERE direction = 'in') AS first_entry
          FROM recorded_now WHERE admitted AND ticket_id IS NOT NULL GROUP BY ticket_id) a
    WHERE f.ticket_id = a.ticket_id;
    RETURN NULL;
END $$;
CREATE TRIGGER scans_admission AFTER INSERT ON scans REFERENCING NEW TABLE AS recorded_now
FOR EACH STATEMENT EXECUTE FUNCTION scans_admission();
