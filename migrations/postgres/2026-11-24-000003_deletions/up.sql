-- What was deleted from which dataset, and when: the `deletions` feed,
-- windowed on deleted_at like every dataset (its stamps come from the same
-- clock). One record per (dataset, id); a row deleted again after it was
-- written again gets a new time.
CREATE TABLE deletions (
    dataset TEXT NOT NULL,
    id TEXT NOT NULL,
    deleted_at BIGINT NOT NULL,
    PRIMARY KEY (dataset, id)
);
CREATE INDEX deletions_window ON deletions (deleted_at, id, dataset);
