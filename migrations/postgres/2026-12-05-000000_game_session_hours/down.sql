DROP TRIGGER game_session_hours_removed ON game_actions;
DROP TRIGGER game_session_hours_replaced ON game_actions;
DROP TRIGGER game_session_hours_added ON game_actions;
DROP FUNCTION game_session_hours_keep();
DROP FUNCTION game_session_hour(BIGINT);
DROP TABLE game_session_hours;
