-- The hours in which each game session has actions: by when they happened
-- and by when they were written (`actions` counts both, so an action
-- happened and written in one hour counts twice). A pull of a window that
-- spans whole hours finds the sessions with an action in them here, a row
-- per session and hour, instead of in every action of those hours; only a
-- window's partial first and last hours are still read from the actions'
-- indexes (`datasets/game_sessions.rs`). Kept by the triggers below in the
-- transaction that writes, replaces, deletes or purges the actions; a row
-- goes when its count reaches zero, so it holds exactly while an action of
-- the session is in that hour.
CREATE TABLE game_session_hours (
    hour BIGINT NOT NULL,
    session_id TEXT NOT NULL,
    actions BIGINT NOT NULL,
    PRIMARY KEY (hour, session_id)
) WITHOUT ROWID;

-- Hours are the microsecond stamps rounded down to a multiple of 3,600,000,000
-- (rounded down for times before 1970 too).
INSERT INTO game_session_hours (hour, session_id, actions)
SELECT hour, session_id, COUNT(*) FROM (
    SELECT created_at - ((created_at % 3600000000) + 3600000000) % 3600000000 AS hour, session_id
    FROM game_actions
    UNION ALL
    SELECT modified_at - ((modified_at % 3600000000) + 3600000000) % 3600000000, session_id
    FROM game_actions)
WHERE true GROUP BY hour, session_id;

CREATE TRIGGER game_session_hours_added AFTER INSERT ON game_actions BEGIN
    INSERT INTO game_session_hours (hour, session_id, actions)
    SELECT hour, NEW.session_id, COUNT(*) FROM (
        SELECT NEW.created_at - ((NEW.created_at % 3600000000) + 3600000000) % 3600000000 AS hour
        UNION ALL
        SELECT NEW.modified_at - ((NEW.modified_at % 3600000000) + 3600000000) % 3600000000)
    WHERE true GROUP BY hour
    ON CONFLICT (hour, session_id) DO UPDATE SET actions = actions + excluded.actions;
END;

CREATE TRIGGER game_session_hours_replaced AFTER UPDATE ON game_actions
WHEN OLD.session_id IS NOT NEW.session_id OR OLD.created_at IS NOT NEW.created_at
    OR OLD.modified_at IS NOT NEW.modified_at
BEGIN
    UPDATE game_session_hours SET actions = actions
        - (hour = OLD.created_at - ((OLD.created_at % 3600000000) + 3600000000) % 3600000000)
        - (hour = OLD.modified_at - ((OLD.modified_at % 3600000000) + 3600000000) % 3600000000)
    WHERE session_id = OLD.session_id AND hour IN (
        OLD.created_at - ((OLD.created_at % 3600000000) + 3600000000) % 3600000000,
        OLD.modified_at - ((OLD.modified_at % 3600000000) + 3600000000) % 3600000000);
    INSERT INTO game_session_hours (hour, session_id, actions)
    SELECT hour, NEW.session_id, COUNT(*) FROM (
        SELECT NEW.created_at - ((NEW.created_at % 3600000000) + 3600000000) % 3600000000 AS hour
        UNION ALL
        SELECT NEW.modified_at - ((NEW.modified_at % 3600000000) + 3600000000) % 3600000000)
    WHERE true GROUP BY hour
    ON CONFLICT (hour, session_id) DO UPDATE SET actions = actions + excluded.actions;
    DELETE FROM game_session_hours WHERE session_id = OLD.session_id AND actions = 0 AND hour IN (
        OLD.created_at - ((OLD.created_at % 3600000000) + 3600000000) % 3600000000,
        OLD.modified_at - ((OLD.modified_at % 3600000000) + 3600000000) % 3600000000);
END;

-- Deleted or purged.
CREATE TRIGGER game_session_hours_removed AFTER DELETE ON game_actions BEGIN
    UPDATE game_session_hours SET actions = actions
        - (hour = OLD.created_at - ((OLD.created_at % 3600000000) + 3600000000) % 3600000000)
        - (hour = OLD.modified_at - ((OLD.modified_at % 3600000000) + 3600000000) % 3600000000)
    WHERE session_id = OLD.session_id AND hour IN (
        OLD.created_at - ((OLD.created_at % 3600000000) + 3600000000) % 3600000000,
        OLD.modified_at - ((OLD.modified_at % 3600000000) + 3600000000) % 3600000000);
    DELETE FROM game_session_hours WHERE session_id = OLD.session_id AND actions = 0 AND hour IN (
        OLD.created_at - ((OLD.created_at % 3600000000) + 3600000000) % 3600000000,
        OLD.modified_at - ((OLD.modified_at % 3600000000) + 3600000000) % 3600000000);
END;
