-- When each key was last used (recorded at most once a minute per instance),
-- and the addresses it may be used from (comma-separated CIDR blocks; NULL:
-- anywhere).
ALTER TABLE api_keys ADD COLUMN last_used_at BIGINT;
ALTER TABLE api_keys ADD COLUMN allowed_from TEXT;
