-- Sign-in throttling counts an attempt before its password is checked, on one row per key that
-- concurrent attempts lock in turn (app/src/backend/signin_throttle.rs), instead of counting
-- failures after the check: a burst no longer gets every guess checked.
DROP TABLE signin_failures;

CREATE TABLE signin_throttle (
    throttle_key    TEXT PRIMARY KEY,
    -- The login of a (login, address) key, so a Master can clear that login's delays.
    login           TEXT,
    attempts        BIGINT NOT NULL,
    last_attempt_at BIGINT NOT NULL,
    next_allowed_at BIGINT NOT NULL
);
CREATE INDEX signin_throttle_login ON signin_throttle (login);
