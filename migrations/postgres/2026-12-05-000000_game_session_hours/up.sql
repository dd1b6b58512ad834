-- The hours in which each game session has actions: by when they happened
-- and by when they were written (`actions` counts both, so an action
-- happened and written in one hour counts twice). A pull of a window that
-- spans whole hours finds the sessions with an action in them here, a row
-- per session and hour, instead of in every action of those hours; only a
-- window's partial first and last hours are still read from the actions'
-- indexes (`datasets/game_sessions.rs`). Kept by the trigger below in the
-- statement that writes, replaces, deletes or purges the actions; a row
-- goes when its count reaches zero, so it holds exactly while an action of
-- the session is in that hour.
CREATE TABLE game_session_hours (
    hour BIGINT NOT NULL,
    session_id TEXT NOT NULL,
    actions BIGINT NOT NULL,
    PRIMARY KEY (hour, session_id)
);

-- A microsecond stamp rounded down to its hour (before 1970 too).
CREATE FUNCTION game_session_hour(stamp BIGINT) RETURNS BIGINT
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT stamp - ((stamp % 3600000000) + 3600000000) % 3600000000 $$;

INSERT INTO game_session_hours (hour, session_id, actions)
SELECT hour, session_id, COUNT(*) FROM (
    SELECT game_session_hour(created_at) AS hour, session_id FROM game_actions
    UNION ALL
    SELECT game_session_hour(modified_at), session_id FROM game_actions) AS t
GROUP BY hour, session_id;

-- Once per statement on all of its rows (the transition tables): the old
-- versions' hours counted down, the new ones' up (in key order, so that
-- two writers lock the rows they share in the same order), and the rows
-- counted down to zero deleted.
CREATE FUNCTION game_session_hours_keep() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE game_session_hours AS h SET actions = h.actions - o.actions
        FROM (SELECT hour, session_id, COUNT(*) AS actions FROM (
                SELECT game_session_hour(created_at) AS hour, session_id FROM replaced
                UNION ALL
                SELECT game_session_hour(modified_at), session_id FROM replaced) AS t
              GROUP BY hour, session_id) AS o
        WHERE h.hour = o.hour AND h.session_id = o.session_id;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO game_session_hours AS h (hour, session_id, actions)
        SELECT hour, session_id, COUNT(*) FROM (
            SELECT game_session_hour(created_at) AS hour, session_id FROM added
            UNION ALL
            SELECT game_session_hour(modified_at), session_id FROM added) AS t
        GROUP BY hour, session_id ORDER BY hour, session_id
        ON CONFLICT (hour, session_id) DO UPDATE SET actions = h.actions + excluded.actions;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        DELETE FROM game_session_hours AS h
        USING (SELECT game_session_hour(created_at) AS hour, session_id FROM replaced
               UNION
               SELECT game_session_hour(modified_at), session_id FROM replaced) AS o
        WHERE h.hour = o.hour AND h.session_id = o.session_id AND h.actions = 0;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER game_session_hours_added AFTER INSERT ON game_actions
    REFERENCING NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION game_session_hours_keep();
CREATE TRIGGER game_session_hours_replaced AFTER UPDATE ON game_actions
    REFERENCING OLD TABLE AS replaced NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION game_session_hours_keep();
CREATE TRIGGER game_session_hours_removed AFTER DELETE ON game_actions
    REFERENCING OLD TABLE AS replaced
    FOR EACH STATEMENT EXECUTE FUNCTION game_session_hours_keep();
