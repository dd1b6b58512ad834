-- Erasures (GDPR article 17): which player, and when; nothing personal.
CREATE TABLE erasures (
    player_id TEXT NOT NULL,
    erased_at BIGINT NOT NULL,
    PRIMARY KEY (player_id, erased_at)
);
-- A player's rows in (time, key) order: what erasure blanks, and what a
-- player's activity reads page by page without sorting.
CREATE INDEX transactions_player ON transactions (player_id, updated_at, id);
CREATE INDEX logins_player ON logins (player_id, modified_at, id);
CREATE INDEX wallets_player ON wallets (player_id, modified_at, id);
CREATE INDEX game_actions_player ON game_actions (player_id, modified_at, id);
CREATE INDEX bets_player ON bets (player_id, modified_at, id);
