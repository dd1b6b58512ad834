ALTER TABLE api_keys DROP COLUMN allowed_from, DROP COLUMN last_used_at;
