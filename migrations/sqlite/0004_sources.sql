-- Sources of ticket numbers (SPEC §5), attached to performances, and what they imported.
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

ALTER TABLE tickets ADD COLUMN source_id INTEGER REFERENCES sources(id);
-- Every field the source gave (JSON object), for reports.
ALTER TABLE tickets ADD COLUMN fields TEXT;

-- A number a second source also carried: the first imported wins, the later one is shown here.
CREATE TABLE ticket_duplicates (
    performance_id INTEGER NOT NULL REFERENCES performances(id),
    barcode        TEXT NOT NULL,
    source_id      INTEGER NOT NULL REFERENCES sources(id),
    seen_at        BIGINT NOT NULL,
    PRIMARY KEY (performance_id, barcode, source_id)
);

-- Work that one server process at a time may do (refreshing a source, pushing its scans): a
-- process holds the lease named for it until `until`, renewing it while it works.
CREATE TABLE leases (
    name  TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    until BIGINT NOT NULL
);
