-- A group of door scans is now decided inside the transaction that writes it, holding
-- SQLite's write lock: no admission compares a ticket's pass version any more.
DROP TRIGGER scans_admission;
CREATE TRIGGER scans_admission AFTER INSERT ON scans
WHEN NEW.admitted AND NEW.ticket_id IS NOT NULL
BEGIN
    UPDATE tickets SET
        passes = passes + 1,
        first_entry = CASE WHEN NEW.direction = 'in' AND (first_entry IS NULL OR NEW.scanned_at < first_entry)
                           THEN NEW.scanned_at ELSE first_entry END
    WHERE id = NEW.ticket_id;
END;
ALTER TABLE tickets DROP COLUMN pass_version;
