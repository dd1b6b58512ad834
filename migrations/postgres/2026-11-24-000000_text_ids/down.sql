-- Back to integer ids: fails on any id that is not a whole number.

ALTER TABLE users ALTER COLUMN id TYPE BIGINT USING id::bigint;
ALTER TABLE contacts ALTER COLUMN player_id TYPE BIGINT USING player_id::bigint;
ALTER TABLE transactions ALTER COLUMN id TYPE BIGINT USING id::bigint, ALTER COLUMN player_id TYPE BIGINT USING player_id::bigint, ALTER COLUMN wallet_id TYPE BIGINT USING wallet_id::bigint;
ALTER TABLE logins ALTER COLUMN id TYPE BIGINT USING id::bigint, ALTER COLUMN player_id TYPE BIGINT USING player_id::bigint;
ALTER TABLE wallets ALTER COLUMN id TYPE BIGINT USING id::bigint, ALTER COLUMN player_id TYPE BIGINT USING player_id::bigint;
ALTER TABLE game_actions ALTER COLUMN player_id TYPE BIGINT USING player_id::bigint;
ALTER TABLE tournaments ALTER COLUMN id TYPE BIGINT USING id::bigint;
ALTER TABLE events ALTER COLUMN id TYPE BIGINT USING id::bigint, ALTER COLUMN tournament_id TYPE BIGINT USING tournament_id::bigint;
ALTER TABLE bets ALTER COLUMN id TYPE BIGINT USING id::bigint, ALTER COLUMN player_id TYPE BIGINT USING player_id::bigint;
ALTER TABLE bet_selections ALTER COLUMN id TYPE BIGINT USING id::bigint, ALTER COLUMN bet_id TYPE BIGINT USING bet_id::bigint, ALTER COLUMN event_id TYPE BIGINT USING event_id::bigint;
