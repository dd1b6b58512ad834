-- Custom fields (hourglass fields add): each is a column of its dataset's
-- table, added with ALTER TABLE; this table gives its type and declaration
-- order. A retired field keeps its column and data.
CREATE TABLE custom_fields (
    dataset TEXT NOT NULL,
    name TEXT NOT NULL,
    field_type TEXT NOT NULL,
    position BIGINT NOT NULL,
    added_at BIGINT NOT NULL,
    retired_at BIGINT,
    PRIMARY KEY (dataset, name)
);
