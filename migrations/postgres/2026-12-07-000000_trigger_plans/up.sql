-- The triggers that keep game_sessions and game_session_hours join a
-- statement's changed actions (a transition table, which has no
-- statistics) to the kept table. PostgreSQL guessed 200 changed sessions
-- and scanned the whole kept table to hash-join them: every purge batch
-- and every re-sent action read all of game_session_hours (a purge of 50
-- rows took 9 ms at a million actions, and slowed as the table grew). A
-- statement changes few sessions next to the table's size, so the triggers
-- always find them on the key, one by one.
ALTER FUNCTION game_sessions_keep()
    SET enable_seqscan = off SET enable_hashjoin = off SET enable_mergejoin = off
    SET enable_material = off;
ALTER FUNCTION game_session_hours_keep()
    SET enable_seqscan = off SET enable_hashjoin = off SET enable_mergejoin = off
    SET enable_material = off;
