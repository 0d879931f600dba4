-- Gates (issue 18): a performance's doors, set once in the back office; every device that
-- joins one decides with its rules.
CREATE TABLE gates (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    performance_id BIGINT NOT NULL REFERENCES performances(id),
    name           TEXT NOT NULL,
    -- The engine's `Gate` (mode, categories, windows, instructions) as JSON, read whole by the
    -- engine; its name is the column above.
    rules          TEXT NOT NULL,
    UNIQUE (performance_id, name)
);

-- Raised by every change to the performance's gates, in the same transaction: devices show
-- the version they decide with.
ALTER TABLE performances ADD COLUMN rules_version BIGINT NOT NULL DEFAULT 0;
