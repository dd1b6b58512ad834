DROP TRIGGER game_session_hours_removed;
DROP TRIGGER game_session_hours_replaced;
DROP TRIGGER game_session_hours_added;
DROP TABLE game_session_hours;
