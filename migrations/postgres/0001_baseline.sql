-- Billetix's schema on PostgreSQL, as of v0.1.0: the migrations 0001–0018 squashed into one
-- (git keeps their history). What differs from SQLite's, and why: migrations/README.md.

-- Institutions, logins, memberships, sessions and sign-in throttling.
CREATE TABLE institutions (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    parent_id        BIGINT REFERENCES institutions(id),
    name             TEXT NOT NULL,
    -- How long a scanner waits for the server's verdict before showing its own.
    scan_deadline_ms INTEGER NOT NULL DEFAULT 400
);
-- Exactly one root.
CREATE UNIQUE INDEX institutions_one_root ON institutions ((parent_id IS NULL)) WHERE parent_id IS NULL;
CREATE INDEX institutions_parent ON institutions (parent_id);

CREATE TABLE logins (
    id                  BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name                TEXT NOT NULL UNIQUE,
    password_hash       TEXT NOT NULL,
    disabled            BOOLEAN NOT NULL DEFAULT FALSE,
    master_of           BIGINT REFERENCES institutions(id),
    last_institution_id BIGINT REFERENCES institutions(id)
);

CREATE TABLE memberships (
    login_id       BIGINT NOT NULL REFERENCES logins(id),
    institution_id BIGINT NOT NULL REFERENCES institutions(id),
    is_admin       BOOLEAN NOT NULL,
    is_pda         BOOLEAN NOT NULL,
    is_backoffice  BOOLEAN NOT NULL,
    PRIMARY KEY (login_id, institution_id)
);
CREATE INDEX memberships_institution ON memberships (institution_id);

CREATE TABLE sessions (
    token_hash   TEXT PRIMARY KEY,
    login_id     BIGINT NOT NULL REFERENCES logins(id),
    started_at   BIGINT NOT NULL,
    ended_at     BIGINT,
    end_reason   TEXT,
    -- Sessions end after an idle time: when each was last used (written at most once a minute).
    last_seen_at BIGINT NOT NULL DEFAULT 0
);
-- One live session per login, decided by the database.
CREATE UNIQUE INDEX sessions_one_live_per_login ON sessions (login_id) WHERE ended_at IS NULL;

-- An attempt is counted before its password is checked, on one row per key that concurrent
-- attempts lock in turn (app/src/backend/signin_throttle.rs).
CREATE TABLE signin_throttle (
    throttle_key    TEXT PRIMARY KEY,
    -- The login of a (login, address) key, so a Master can clear that login's delays.
    login           TEXT,
    attempts        BIGINT NOT NULL,
    last_attempt_at BIGINT NOT NULL,
    next_allowed_at BIGINT NOT NULL
);
CREATE INDEX signin_throttle_login ON signin_throttle (login);

-- Venues, events and performances (the back office fills them in).
CREATE TABLE venues (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    institution_id BIGINT NOT NULL REFERENCES institutions(id),
    name           TEXT NOT NULL,
    -- IANA zone: per-day quotas reset at the venue's local midnight.
    time_zone      TEXT NOT NULL
);
CREATE INDEX venues_institution ON venues (institution_id);

CREATE TABLE events (
    id       BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    venue_id BIGINT NOT NULL REFERENCES venues(id),
    name     TEXT NOT NULL
);

CREATE TABLE performances (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id   BIGINT NOT NULL REFERENCES events(id),
    label      TEXT NOT NULL,
    -- Dated: starts_at. Undated: a validity window.
    starts_at  BIGINT,
    valid_from BIGINT,
    valid_to   BIGINT,
    import_end BIGINT,
    pda_open   BOOLEAN NOT NULL DEFAULT FALSE,
    archived   BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX performances_event ON performances (event_id);

-- Sources of ticket numbers (SPEC §5), attached to performances.
CREATE TABLE sources (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    institution_id BIGINT NOT NULL REFERENCES institutions(id),
    kind           TEXT NOT NULL,
    name           TEXT NOT NULL,
    -- The kind's parameters (JSON object of strings); secrets apart, encrypted with the server key.
    settings       TEXT NOT NULL,
    secrets        TEXT,
    -- Web-service refresh: every long_period, or every short_period within short_window of the show.
    long_period    BIGINT NOT NULL,
    short_period   BIGINT NOT NULL,
    short_window   BIGINT NOT NULL,
    -- Set for file kinds only: at most one source of each file kind per institution.
    file_kind      TEXT,
    -- The listing of a partner's events shows its progress: events read so far.
    events_listed  BIGINT NOT NULL DEFAULT 0,
    UNIQUE (institution_id, file_kind)
);
CREATE INDEX sources_institution ON sources (institution_id);

CREATE TABLE performance_sources (
    performance_id  BIGINT NOT NULL REFERENCES performances(id),
    source_id       BIGINT NOT NULL REFERENCES sources(id),
    -- Per attachment options of the kind (JSON object of strings): partner event id, "do not push"…
    options         TEXT NOT NULL,
    -- Where the next incremental pull starts (partner cursor), and when it is due.
    cursor          TEXT,
    next_refresh_at BIGINT NOT NULL,
    running         BOOLEAN NOT NULL DEFAULT FALSE,
    progress        BIGINT NOT NULL DEFAULT 0,
    last_refresh_at BIGINT,
    last_error      TEXT,
    -- Scans pushed back to the partner up to this scan id (a durable retry queue over the log).
    pushed_scan_id  BIGINT NOT NULL DEFAULT 0,
    push_error      TEXT,
    PRIMARY KEY (performance_id, source_id)
);
CREATE INDEX performance_sources_due ON performance_sources (source_id, next_refresh_at);

CREATE TABLE tickets (
    id                     BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    performance_id         BIGINT NOT NULL REFERENCES performances(id),
    barcode                TEXT NOT NULL,
    state                  TEXT NOT NULL CHECK (state IN ('valid', 'cancelled', 'duplicated', 'unknown')),
    category               TEXT NOT NULL DEFAULT '',
    holder                 TEXT,
    -- When the ticket last changed (millis): device deltas read from it.
    changed_at             BIGINT NOT NULL,
    source_id              BIGINT REFERENCES sources(id),
    -- Every field the source gave (JSON object), for reports.
    fields                 TEXT,
    -- Cancelled tickets the TIXNGO wallet holds are pushed so it removes them (SPEC §5): once,
    -- and again if the ticket becomes valid and is cancelled anew (an import that changes its
    -- state clears this).
    cancellation_pushed_at BIGINT,
    -- A detached source's scanned tickets stay, as unknown numbers of no source, with their
    -- passes; a later import of the number takes the row back.
    detached_at            BIGINT
);
-- Report pages read ticket ids along an index, skipping the pages before: PostgreSQL's indexes
-- must include the id for an index-only scan (SQLite's carry the rowid), or a deep page visits
-- the table once for every row it skips (230 ms instead of 8 ms at 60,000 rows in).
CREATE UNIQUE INDEX tickets_performance_barcode ON tickets (performance_id, barcode) INCLUDE (id);
CREATE INDEX tickets_barcode ON tickets (barcode);
CREATE INDEX tickets_changed ON tickets (performance_id, changed_at);
-- Reports (SPEC §3): a page of 100,000 tickets sorted on any column without sorting them all.
-- Missing holders sort first ascending, as on SQLite.
CREATE INDEX tickets_report_state ON tickets (performance_id, state, barcode) INCLUDE (id);
CREATE INDEX tickets_report_category ON tickets (performance_id, category, barcode) INCLUDE (id);
CREATE INDEX tickets_report_holder ON tickets (performance_id, holder NULLS FIRST, barcode) INCLUDE (id);
-- The pusher's work list, kept small: only cancellations not pushed yet.
CREATE INDEX tickets_cancellations_to_push ON tickets (performance_id, id) WHERE state = 'cancelled' AND cancellation_pushed_at IS NULL;
-- Sorting on the source's name reads each source's tickets in barcode order.
CREATE INDEX tickets_report_source ON tickets (performance_id, source_id, barcode) INCLUDE (id);
-- Totals by category from the index alone.
CREATE INDEX tickets_report_totals ON tickets (performance_id, category, state);

CREATE TABLE category_filters (
    performance_id BIGINT NOT NULL REFERENCES performances(id),
    category       TEXT NOT NULL,
    PRIMARY KEY (performance_id, category)
);

-- A number a second source also carried: the first imported wins, the later one is shown here.
CREATE TABLE ticket_duplicates (
    performance_id BIGINT NOT NULL REFERENCES performances(id),
    barcode        TEXT NOT NULL,
    source_id      BIGINT NOT NULL REFERENCES sources(id),
    seen_at        BIGINT NOT NULL,
    PRIMARY KEY (performance_id, barcode, source_id)
);

-- Every scan, accepted or refused, online or uploaded later. Admitted scans are the passes.
-- Each foreign key on scans is a query per scan written, through SPI: the ticket's stays, but
-- not the performance's (the ticket's key already guarantees it) nor the login's (logins are
-- never deleted); measured 4,945–5,124 scans/s with them, 5,293–5,308 without. Purging a
-- performance deletes its scans first (server/src/storage/shows.rs).
CREATE TABLE scans (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- Made by the device: a retried upload finds its scan already here.
    scan_uuid      TEXT NOT NULL UNIQUE,
    performance_id BIGINT,
    ticket_id      BIGINT REFERENCES tickets(id),
    barcode        TEXT NOT NULL,
    device         TEXT NOT NULL,
    login_id       BIGINT,
    scanned_at     BIGINT NOT NULL,
    client_time    BIGINT NOT NULL,
    server_time    BIGINT NOT NULL,
    direction      TEXT NOT NULL CHECK (direction IN ('in', 'out')),
    admitted       BOOLEAN NOT NULL,
    -- The verdict as JSON (engine's Verdict), for the device and the reports.
    verdict        TEXT NOT NULL,
    -- The device decided (its verdict was the one shown at the door).
    offline        BOOLEAN NOT NULL,
    -- Set when an offline admission turned out to break the rules (double entry…).
    anomaly        TEXT,
    -- Server decisions: the round trip the device measured. Device decisions: why the device
    -- did not ask or wait, whether the server's own verdict agreed, and the device's clock
    -- against the server's (server minus device): more than 60 s off is flagged in reports.
    round_trip_ms    BIGINT,
    device_reason    TEXT,
    server_agreed    BOOLEAN,
    clock_skew_ms    BIGINT,
    -- The door's rules it was made under (the mode, as JSON), so that when passes arrive late
    -- (offline uploads) a ticket's scans can be judged again in time order; and when its
    -- anomaly was last changed that way, so deltas carry the correction to devices.
    door_mode        TEXT,
    flags_changed_at BIGINT
);
CREATE INDEX scans_performance_time ON scans (performance_id, server_time);
-- A ticket's history, every scan (admitted or not), and its passes.
CREATE INDEX scans_ticket_history ON scans (ticket_id, scanned_at);
CREATE INDEX scans_flags_changed ON scans (performance_id, flags_changed_at) WHERE flags_changed_at IS NOT NULL;

-- Billing: who downloaded ticket numbers to a device, when.
CREATE TABLE device_downloads (
    login_id       BIGINT NOT NULL REFERENCES logins(id),
    performance_id BIGINT NOT NULL REFERENCES performances(id),
    downloaded_at  BIGINT NOT NULL
);
CREATE INDEX device_downloads_time ON device_downloads (downloaded_at);

-- Work that one server process at a time may do (refreshing a source, pushing its scans): a
-- process holds the lease named for it until `until`, renewing it while it works.
CREATE TABLE leases (
    name  TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    until BIGINT NOT NULL
);

-- Each ticket's figures (passes, first entry), which reports sort 100,000 tickets on, in a
-- narrow table with only the indexes the reports sort on: an admission then writes no row of
-- `tickets` and none of its dozen indexes.
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
CREATE INDEX ticket_figures_passes ON ticket_figures (performance_id, passes, barcode) INCLUDE (ticket_id, category);
-- Missing first entries sort first ascending, as on SQLite.
CREATE INDEX ticket_figures_first_entry ON ticket_figures (performance_id, first_entry NULLS FIRST, barcode) INCLUDE (ticket_id);

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

-- The figures are counted by the statement that records the scans, once a statement, as one
-- set-based UPDATE: several processes write scans, which do not commit in id order, and the
-- doors' write (server/src/storage/postgres.rs, `write_door_group`) compares the passes it
-- read with these, which must be counted at once.
CREATE FUNCTION scans_admission() RETURNS trigger LANGUAGE plpgsql AS $$
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

-- The journal of file imports, which SQLite writes in two phases (migrations/README.md says
-- why). PostgreSQL imports in one transaction, which holds no door back; the tables are here
-- so that both databases share the code that finishes an interrupted import.
CREATE TABLE file_imports (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    performance_id BIGINT NOT NULL REFERENCES performances(id) ON DELETE CASCADE,
    source_id      BIGINT NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
    mode           TEXT NOT NULL,
    -- The import's time, written on each ticket it changes.
    imported_at    BIGINT NOT NULL,
    staged_at      BIGINT NOT NULL,
    complete       BOOLEAN NOT NULL DEFAULT FALSE
);

CREATE TABLE file_import_chunks (
    import_id BIGINT NOT NULL REFERENCES file_imports(id) ON DELETE CASCADE,
    chunk     BIGINT NOT NULL,
    -- The chunk's tickets as JSON (server/src/storage/sources.rs, `JournalTicket`).
    tickets   TEXT NOT NULL,
    PRIMARY KEY (import_id, chunk)
);
