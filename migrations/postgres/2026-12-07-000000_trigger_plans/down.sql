ALTER FUNCTION game_sessions_keep() RESET ALL;
ALTER FUNCTION game_session_hours_keep() RESET ALL;
