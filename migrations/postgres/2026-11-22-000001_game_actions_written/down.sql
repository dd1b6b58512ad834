DROP INDEX game_actions_written;
