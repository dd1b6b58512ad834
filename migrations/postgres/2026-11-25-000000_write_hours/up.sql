-- Rows written per dataset and hour, kept as writes commit: what the feed
-- health of `GET /api/stats` and the page are drawn from, without counting
-- a dataset's rows. `hour` is the start of the hour (microseconds since the
-- epoch, UTC) in which the rows were stamped; `last_write` the last stamp.
CREATE TABLE write_hours (
    dataset TEXT NOT NULL,
    hour BIGINT NOT NULL,
    rows BIGINT NOT NULL,
    last_write BIGINT NOT NULL,
    PRIMARY KEY (dataset, hour)
);
