-- An admitted scan bumps its ticket's pass version in the same statement that inserts it, so
-- an admission decided on an older version finds the version moved and is not written.
CREATE TRIGGER scans_bump_pass_version AFTER INSERT ON scans
WHEN NEW.admitted AND NEW.ticket_id IS NOT NULL
BEGIN
    UPDATE tickets SET pass_version = pass_version + 1 WHERE id = NEW.ticket_id;
END;
