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

-- Each statement finds one row on the primary key, once for the hour the
-- action happened in and once for the hour it was written in (the same row
-- twice when they are one hour). Statements with `hour IN (…)` or a grouped
-- subquery over the two hours made SQLite build a temporary table for
-- every action, which made purging 2.3× slower.
CREATE TRIGGER game_session_hours_added AFTER INSERT ON game_actions BEGIN
    INSERT INTO game_session_hours (hour, session_id, actions)
    VALUES (NEW.created_at - ((NEW.created_at % 3600000000) + 3600000000) % 3600000000, NEW.session_id, 1)
    ON CONFLICT (hour, session_id) DO UPDATE SET actions = actions + 1;
    INSERT INTO game_session_hours (hour, session_id, actions)
    VALUES (NEW.modified_at - ((NEW.modified_at % 3600000000) + 3600000000) % 3600000000, NEW.session_id, 1)
    ON CONFLICT (hour, session_id) DO UPDATE SET actions = actions + 1;
END;

CREATE TRIGGER game_session_hours_replaced AFTER UPDATE ON game_actions
WHEN OLD.session_id IS NOT NEW.session_id OR OLD.created_at IS NOT NEW.created_at
    OR OLD.modified_at IS NOT NEW.modified_at
BEGIN
    UPDATE game_session_hours SET actions = actions - 1
    WHERE hour = OLD.created_at - ((OLD.created_at % 3600000000) + 3600000000) % 3600000000 AND session_id = OLD.session_id;
    UPDATE game_session_hours SET actions = actions - 1
    WHERE hour = OLD.modified_at - ((OLD.modified_at % 3600000000) + 3600000000) % 3600000000 AND session_id = OLD.session_id;
    INSERT INTO game_session_hours (hour, session_id, actions)
    VALUES (NEW.created_at - ((NEW.created_at % 3600000000) + 3600000000) % 3600000000, NEW.session_id, 1)
    ON CONFLICT (hour, session_id) DO UPDATE SET actions = actions + 1;
    INSERT INTO game_session_hours (hour, session_id, actions)
    VALUES (NEW.modified_at - ((NEW.modified_at % 3600000000) + 3600000000) % 3600000000, NEW.session_id, 1)
    ON CONFLICT (hour, session_id) DO UPDATE SET actions = actions + 1;
    DELETE FROM game_session_hours
    WHERE hour = OLD.created_at - ((OLD.created_at % 3600000000) + 3600000000) % 3600000000 AND session_id = OLD.session_id AND actions = 0;
    DELETE FROM game_session_hours
    WHERE hour = OLD.modified_at - ((OLD.modified_at % 3600000000) + 3600000000) % 3600000000 AND session_id = OLD.session_id AND actions = 0;
END;

-- Deleted or purged.
CREATE TRIGGER game_session_hours_removed AFTER DELETE ON game_actions BEGIN
    UPDATE game_session_hours SET actions = actions - 1
    WHERE hour = OLD.created_at - ((OLD.created_at % 3600000000) + 3600000000) % 3600000000 AND session_id = OLD.session_id;
    UPDATE game_session_hours SET actions = actions - 1
    WHERE hour = OLD.modified_at - ((OLD.modified_at % 3600000000) + 3600000000) % 3600000000 AND session_id = OLD.session_id;
    DELETE FROM game_session_hours
    WHERE hour = OLD.created_at - ((OLD.created_at % 3600000000) + 3600000000) % 3600000000 AND session_id = OLD.session_id AND actions = 0;
    DELETE FROM game_session_hours
    WHERE hour = OLD.modified_at - ((OLD.modified_at % 3600000000) + 3600000000) % 3600000000 AND session_id = OLD.session_id AND actions = 0;
END;
