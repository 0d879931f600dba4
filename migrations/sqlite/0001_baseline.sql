-- Billetix's schema on SQLite, as of v0.1.0: the migrations 0001–0018 squashed into one (git
-- keeps their history). What differs from PostgreSQL's, and why: migrations/README.md.

-- Institutions, logins, memberships, sessions and sign-in throttling.
CREATE TABLE institutions (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    parent_id        INTEGER REFERENCES institutions(id),
    name             TEXT NOT NULL,
    -- How long a scanner waits for the server's verdict before showing its own.
    scan_deadline_ms INTEGER NOT NULL DEFAULT 400
);
-- Exactly one root.
CREATE UNIQUE INDEX institutions_one_root ON institutions ((parent_id IS NULL)) WHERE parent_id IS NULL;
CREATE INDEX institutions_parent ON institutions (parent_id);

CREATE TABLE logins (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    name                TEXT NOT NULL UNIQUE,
    password_hash       TEXT NOT NULL,
    disabled            BOOLEAN NOT NULL DEFAULT FALSE,
    master_of           INTEGER REFERENCES institutions(id),
    last_institution_id INTEGER REFERENCES institutions(id)
);

CREATE TABLE memberships (
    login_id       INTEGER NOT NULL REFERENCES logins(id),
    institution_id INTEGER NOT NULL REFERENCES institutions(id),
    is_admin       BOOLEAN NOT NULL,
    is_pda         BOOLEAN NOT NULL,
    is_backoffice  BOOLEAN NOT NULL,
    PRIMARY KEY (login_id, institution_id)
);
CREATE INDEX memberships_institution ON memberships (institution_id);

CREATE TABLE sessions (
    token_hash   TEXT PRIMARY KEY,
    login_id     INTEGER NOT NULL REFERENCES logins(id),
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
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    institution_id INTEGER NOT NULL REFERENCES institutions(id),
    name           TEXT NOT NULL,
    -- IANA zone: per-day quotas reset at the venue's local midnight.
    time_zone      TEXT NOT NULL
);
CREATE INDEX venues_institution ON venues (institution_id);

CREATE TABLE events (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    venue_id INTEGER NOT NULL REFERENCES venues(id),
    name     TEXT NOT NULL
);

CREATE TABLE performances (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id   INTEGER NOT NULL REFERENCES events(id),
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
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    institution_id INTEGER NOT NULL REFERENCES institutions(id),
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
    performance_id  INTEGER NOT NULL REFERENCES performances(id),
    source_id       INTEGER NOT NULL REFERENCES sources(id),
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
    id                     INTEGER PRIMARY KEY AUTOINCREMENT,
    performance_id         INTEGER NOT NULL REFERENCES performances(id),
    barcode                TEXT NOT NULL,
    state                  TEXT NOT NULL CHECK (state IN ('valid', 'cancelled', 'duplicated', 'unknown')),
    category               TEXT NOT NULL DEFAULT '',
    holder                 TEXT,
    -- When the ticket last changed (millis): device deltas read from it.
    changed_at             BIGINT NOT NULL,
    source_id              INTEGER REFERENCES sources(id),
    -- Every field the source gave (JSON object), for reports.
    fields                 TEXT,
    -- Cancelled tickets the TIXNGO wallet holds are pushed so it removes them (SPEC §5): once,
    -- and again if the ticket becomes valid and is cancelled anew (an import that changes its
    -- state clears this).
    cancellation_pushed_at BIGINT,
    -- A detached source's scanned tickets stay, as unknown numbers of no source, with their
    -- passes; a later import of the number takes the row back.
    detached_at            BIGINT,
    UNIQUE (performance_id, barcode)
);
CREATE INDEX tickets_barcode ON tickets (barcode);
CREATE INDEX tickets_changed ON tickets (performance_id, changed_at);
-- Reports (SPEC §3): a page of 100,000 tickets sorted on any column without sorting them all.
CREATE INDEX tickets_report_state ON tickets (performance_id, state, barcode);
CREATE INDEX tickets_report_category ON tickets (performance_id, category, barcode);
CREATE INDEX tickets_report_holder ON tickets (performance_id, holder, barcode);
-- The pusher's work list, kept small: only cancellations not pushed yet.
CREATE INDEX tickets_cancellations_to_push ON tickets (performance_id, id) WHERE state = 'cancelled' AND cancellation_pushed_at IS NULL;
-- Sorting on the source's name reads each source's tickets in barcode order.
CREATE INDEX tickets_report_source ON tickets (performance_id, source_id, barcode);
-- Totals by category from the index alone.
CREATE INDEX tickets_report_totals ON tickets (performance_id, category, state);

CREATE TABLE category_filters (
    performance_id INTEGER NOT NULL REFERENCES performances(id),
    category       TEXT NOT NULL,
    PRIMARY KEY (performance_id, category)
);

-- A number a second source also carried: the first imported wins, the later one is shown here.
CREATE TABLE ticket_duplicates (
    performance_id INTEGER NOT NULL REFERENCES performances(id),
    barcode        TEXT NOT NULL,
    source_id      INTEGER NOT NULL REFERENCES sources(id),
    seen_at        BIGINT NOT NULL,
    PRIMARY KEY (performance_id, barcode, source_id)
);

-- Every scan, accepted or refused, online or uploaded later. Admitted scans are the passes.
-- SQLite checks a foreign key with an index lookup inside the insert: it keeps the three that
-- PostgreSQL drops for speed.
CREATE TABLE scans (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    -- Made by the device: a retried upload finds its scan already here.
    scan_uuid      TEXT NOT NULL UNIQUE,
    performance_id INTEGER REFERENCES performances(id),
    ticket_id      INTEGER REFERENCES tickets(id),
    barcode        TEXT NOT NULL,
    device         TEXT NOT NULL,
    login_id       INTEGER REFERENCES logins(id),
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
    flags_changed_at INTEGER
);
CREATE INDEX scans_performance_time ON scans (performance_id, server_time);
-- A ticket's history, every scan (admitted or not), and its passes.
CREATE INDEX scans_ticket_history ON scans (ticket_id, scanned_at);
CREATE INDEX scans_flags_changed ON scans (performance_id, flags_changed_at) WHERE flags_changed_at IS NOT NULL;

-- Billing: who downloaded ticket numbers to a device, when.
CREATE TABLE device_downloads (
    login_id       INTEGER NOT NULL REFERENCES logins(id),
    performance_id INTEGER NOT NULL REFERENCES performances(id),
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
-- narrow table with only the indexes the reports sort on: a batch of figures then rewrites no
-- row of `tickets` and none of its other indexes.
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
CREATE INDEX ticket_figures_passes ON ticket_figures (performance_id, passes, barcode, category);
CREATE INDEX ticket_figures_first_entry ON ticket_figures (performance_id, first_entry, barcode);

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

-- The figures catch up with the scans in batches, off the doors' transactions
-- (server/src/storage/sqlite.rs, `bring_figures_up_to_date`), from the scans after the last one
-- counted, which a batch moves in the same transaction as the figures. SQLite has one writer at
-- a time, so scans commit in id order and a batch never skips a later commit.
CREATE TABLE ticket_figures_counted (
    only_row     INTEGER PRIMARY KEY CHECK (only_row = 1),
    last_scan_id INTEGER NOT NULL
);
INSERT INTO ticket_figures_counted (only_row, last_scan_id) VALUES (1, 0);

-- A file import is written in two phases so that no transaction holds SQLite's one writer for
-- long (a 300,000-row import stopped the doors for 4 s). First its tickets are staged here in
-- chunks, then the import is marked complete (the point from which it will happen), then each
-- chunk is merged into the tickets in a transaction of its own that also deletes it. A server
-- stopped while staging leaves an import never complete, removed at the next start; stopped
-- while merging, it finishes at the next start.
CREATE TABLE file_imports (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    performance_id INTEGER NOT NULL REFERENCES performances(id) ON DELETE CASCADE,
    source_id      INTEGER NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
    mode           TEXT NOT NULL,
    -- The import's time, written on each ticket it changes.
    imported_at    BIGINT NOT NULL,
    staged_at      BIGINT NOT NULL,
    complete       BOOLEAN NOT NULL DEFAULT FALSE
);

CREATE TABLE file_import_chunks (
    import_id INTEGER NOT NULL REFERENCES file_imports(id) ON DELETE CASCADE,
    chunk     BIGINT NOT NULL,
    -- The chunk's tickets as JSON (server/src/storage/sources.rs, `JournalTicket`).
    tickets   TEXT NOT NULL,
    PRIMARY KEY (import_id, chunk)
);
