-- PostgreSQL bumps the pass version in the admission statement itself (a data-modifying CTE,
-- see server/src/storage/postgres.rs); nothing to add here. Kept so both dialects share
-- migration numbers.
SELECT 1;
