-- Identifiers are the operator's own text (UUIDs, URNs such as sr:match:1,
-- "a123b456"): every id and reference column becomes TEXT, and the integer
-- ids stored so far become their decimal text. Indexes are rebuilt with them.

ALTER TABLE users ALTER COLUMN id TYPE TEXT USING id::text;
ALTER TABLE contacts ALTER COLUMN player_id TYPE TEXT USING player_id::text;
ALTER TABLE transactions ALTER COLUMN id TYPE TEXT USING id::text, ALTER COLUMN player_id TYPE TEXT USING player_id::text, ALTER COLUMN wallet_id TYPE TEXT USING wallet_id::text;
ALTER TABLE logins ALTER COLUMN id TYPE TEXT USING id::text, ALTER COLUMN player_id TYPE TEXT USING player_id::text;
ALTER TABLE wallets ALTER COLUMN id TYPE TEXT USING id::text, ALTER COLUMN player_id TYPE TEXT USING player_id::text;
ALTER TABLE game_actions ALTER COLUMN player_id TYPE TEXT USING player_id::text;
ALTER TABLE tournaments ALTER COLUMN id TYPE TEXT USING id::text;
ALTER TABLE events ALTER COLUMN id TYPE TEXT USING id::text, ALTER COLUMN tournament_id TYPE TEXT USING tournament_id::text;
ALTER TABLE bets ALTER COLUMN id TYPE TEXT USING id::text, ALTER COLUMN player_id TYPE TEXT USING player_id::text;
ALTER TABLE bet_selections ALTER COLUMN id TYPE TEXT USING id::text, ALTER COLUMN bet_id TYPE TEXT USING bet_id::text, ALTER COLUMN event_id TYPE TEXT USING event_id::text;
