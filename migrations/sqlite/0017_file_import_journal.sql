-- A file import is written in two phases so that no transaction holds SQLite's one writer for
-- long (finding 11 of the security review: a 300,000-row import stopped the doors for 4 s).
-- First its tickets are staged here in chunks, then the import is marked complete (the point
-- from which it will happen), then each chunk is merged into the tickets in a transaction of
-- its own that also deletes it. A server stopped while staging leaves an import never
-- complete, removed at the next start; stopped while merging, it finishes at the next start.
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
