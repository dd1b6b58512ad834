DROP TRIGGER game_actions_replaced;
DROP TRIGGER game_actions_added;
DROP TABLE game_sessions;
