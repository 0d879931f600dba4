-- Venues, events and performances (the back office fills them in), tickets and every scan.
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

CREATE TABLE tickets (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    performance_id BIGINT NOT NULL REFERENCES performances(id),
    barcode        TEXT NOT NULL,
    state          TEXT NOT NULL CHECK (state IN ('valid', 'cancelled', 'duplicated', 'unknown')),
    category       TEXT NOT NULL DEFAULT '',
    holder         TEXT,
    -- When the ticket last changed (millis): device deltas read from it.
    changed_at     BIGINT NOT NULL,
    -- Bumped by every admission: an admission applies only on the version it was decided on.
    pass_version   BIGINT NOT NULL DEFAULT 0,
    UNIQUE (performance_id, barcode)
);
CREATE INDEX tickets_barcode ON tickets (barcode);
CREATE INDEX tickets_changed ON tickets (performance_id, changed_at);

CREATE TABLE category_filters (
    performance_id BIGINT NOT NULL REFERENCES performances(id),
    category       TEXT NOT NULL,
    PRIMARY KEY (performance_id, category)
);

-- Every scan, accepted or refused, online or uploaded later. Admitted scans are the passes.
CREATE TABLE scans (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- Made by the device: a retried upload finds its scan already here.
    scan_uuid      TEXT NOT NULL UNIQUE,
    performance_id BIGINT REFERENCES performances(id),
    ticket_id      BIGINT REFERENCES tickets(id),
    barcode        TEXT NOT NULL,
    device         TEXT NOT NULL,
    login_id       BIGINT REFERENCES logins(id),
    scanned_at     BIGINT NOT NULL,
    client_time    BIGINT NOT NULL,
    server_time    BIGINT NOT NULL,
    direction      TEXT NOT NULL CHECK (direction IN ('in', 'out')),
    admitted       BOOLEAN NOT NULL,
    -- The verdict as JSON (engine's Verdict), for the device and the reports.
    verdict        TEXT NOT NULL,
    offline        BOOLEAN NOT NULL,
    -- Set when an offline admission turned out to break the rules (double entry…).
    anomaly        TEXT
);
CREATE INDEX scans_ticket_passes ON scans (ticket_id, scanned_at) WHERE admitted;
CREATE INDEX scans_performance_time ON scans (performance_id, server_time);

-- Billing: who downloaded ticket numbers to a device, when.
CREATE TABLE device_downloads (
    login_id       BIGINT NOT NULL REFERENCES logins(id),
    performance_id BIGINT NOT NULL REFERENCES performances(id),
    downloaded_at  BIGINT NOT NULL
);
CREATE INDEX device_downloads_time ON device_downloads (downloaded_at);
