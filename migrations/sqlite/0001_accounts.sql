-- Institutions, logins, memberships, sessions and sign-in throttling.
CREATE TABLE institutions (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    parent_id INTEGER REFERENCES institutions(id),
    name      TEXT NOT NULL
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
    token_hash TEXT PRIMARY KEY,
    login_id   INTEGER NOT NULL REFERENCES logins(id),
    started_at BIGINT NOT NULL,
    ended_at   BIGINT,
    end_reason TEXT
);
-- One live session per login, decided by the database.
CREATE UNIQUE INDEX sessions_one_live_per_login ON sessions (login_id) WHERE ended_at IS NULL;

CREATE TABLE signin_failures (
    throttle_key TEXT NOT NULL,
    failed_at    BIGINT NOT NULL
);
CREATE INDEX signin_failures_key ON signin_failures (throttle_key, failed_at);
