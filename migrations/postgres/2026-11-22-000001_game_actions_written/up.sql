-- A game session is also pulled in the window in which one of its actions was
-- written (a late action re-emits its session); this finds those cheaply.
CREATE INDEX game_actions_written ON game_actions (modified_at, session_id);
