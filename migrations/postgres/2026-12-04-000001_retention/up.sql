-- The horizon each dataset's retention purge has reached: rows stamped
-- before it are gone, or going. Recorded before the first row goes, so
-- that every server refuses a window before it (410), whether or not it
-- purges itself.
CREATE TABLE retention_horizons (
    dataset TEXT PRIMARY KEY NOT NULL,
    horizon BIGINT NOT NULL
);
