DROP INDEX bets_player;
DROP INDEX game_actions_player;
DROP INDEX wallets_player;
DROP INDEX logins_player;
DROP INDEX transactions_player;
DROP TABLE erasures;
