DROP TRIGGER game_actions_replaced ON game_actions;
DROP TRIGGER game_actions_added ON game_actions;
DROP FUNCTION game_sessions_keep();
DROP TABLE game_sessions;
