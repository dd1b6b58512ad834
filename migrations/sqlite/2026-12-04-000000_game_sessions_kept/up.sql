-- Game sessions are kept as rows, their totals updated in the transaction
-- that writes their actions (by the triggers below), so that a pull reads a
-- session's totals instead of every action it ever had, and so that a
-- session outlives its purged actions. Columns are the dataset's, in its
-- order, plus the session's own stamp (the last write that changed it) and
-- whether retention purged some of its actions.
CREATE TABLE game_sessions (
    session_id TEXT PRIMARY KEY NOT NULL,
    player_id TEXT NOT NULL,
    game_code TEXT,
    game_name TEXT NOT NULL,
    currency TEXT NOT NULL,
    bet_count BIGINT NOT NULL,
    win_count BIGINT NOT NULL,
    bet_amount BIGINT NOT NULL,
    win_amount BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    game_vendor TEXT,
    balance_type TEXT,
    ip TEXT,
    user_agent TEXT,
    ref_code TEXT,
    modified_at BIGINT NOT NULL,
    -- Some of its actions were purged: its first and last action time and
    -- descriptive columns can no longer be taken again from its actions.
    actions_purged BOOLEAN NOT NULL DEFAULT FALSE
);

-- Totals computed once from the actions there are. The stamp is that of the
-- session's last written action, so every window finds the same sessions as
-- before.
INSERT INTO game_sessions (session_id, player_id, game_code, game_name, currency,
    bet_count, win_count, bet_amount, win_amount, created_at, updated_at,
    game_vendor, balance_type, ip, user_agent, ref_code, modified_at)
SELECT session_id, MIN(player_id), MIN(game_code), MIN(game_name), MIN(currency),
    COUNT(CASE WHEN action = 'bet' THEN 1 END), COUNT(CASE WHEN action = 'win' THEN 1 END),
    COALESCE(SUM(CASE WHEN action = 'bet' THEN amount END), 0),
    COALESCE(SUM(CASE WHEN action = 'win' THEN amount END), 0),
    MIN(created_at), MAX(created_at), MIN(game_vendor), MIN(balance_type), MIN(ip),
    MIN(user_agent), MIN(ref_code), MAX(modified_at)
FROM game_actions GROUP BY session_id;

-- A window's sessions: by their last action, their first, and their stamp.
CREATE INDEX game_sessions_last ON game_sessions (updated_at, session_id);
CREATE INDEX game_sessions_first ON game_sessions (created_at, session_id);
CREATE INDEX game_sessions_written ON game_sessions (modified_at, session_id);
-- A player's sessions (erasure).
CREATE INDEX game_sessions_player ON game_sessions (player_id);

-- An action added: counted in its session (made if new). Descriptive
-- columns keep the least value seen, as MIN over the actions did; a sum
-- that outgrows a 64-bit integer (SQLite would turn it into a float) is
-- refused.
CREATE TRIGGER game_actions_added AFTER INSERT ON game_actions BEGIN
    INSERT INTO game_sessions (session_id, player_id, game_code, game_name, currency,
        bet_count, win_count, bet_amount, win_amount, created_at, updated_at,
        game_vendor, balance_type, ip, user_agent, ref_code, modified_at)
    VALUES (NEW.session_id, NEW.player_id, NEW.game_code, NEW.game_name, NEW.currency,
        NEW.action = 'bet', NEW.action = 'win',
        CASE WHEN NEW.action = 'bet' THEN NEW.amount ELSE 0 END,
        CASE WHEN NEW.action = 'win' THEN NEW.amount ELSE 0 END,
        NEW.created_at, NEW.created_at, NEW.game_vendor, NEW.balance_type, NEW.ip,
        NEW.user_agent, NEW.ref_code, NEW.modified_at)
    ON CONFLICT (session_id) DO UPDATE SET
        player_id = min(player_id, excluded.player_id),
        game_code = CASE WHEN game_code IS NULL OR excluded.game_code < game_code THEN excluded.game_code ELSE game_code END,
        game_name = min(game_name, excluded.game_name),
        currency = min(currency, excluded.currency),
        bet_count = bet_count + excluded.bet_count,
        win_count = win_count + excluded.win_count,
        bet_amount = bet_amount + excluded.bet_amount,
        win_amount = win_amount + excluded.win_amount,
        created_at = min(created_at, excluded.created_at),
        updated_at = max(updated_at, excluded.updated_at),
        game_vendor = CASE WHEN game_vendor IS NULL OR excluded.game_vendor < game_vendor THEN excluded.game_vendor ELSE game_vendor END,
        balance_type = CASE WHEN balance_type IS NULL OR excluded.balance_type < balance_type THEN excluded.balance_type ELSE balance_type END,
        ip = CASE WHEN ip IS NULL OR excluded.ip < ip THEN excluded.ip ELSE ip END,
        user_agent = CASE WHEN user_agent IS NULL OR excluded.user_agent < user_agent THEN excluded.user_agent ELSE user_agent END,
        ref_code = CASE WHEN ref_code IS NULL OR excluded.ref_code < ref_code THEN excluded.ref_code ELSE ref_code END,
        modified_at = max(modified_at, excluded.modified_at);
    SELECT RAISE(ABORT, 'a game session''s bet_amount or win_amount is past the largest amount')
    FROM game_sessions WHERE session_id = NEW.session_id
        AND (typeof(bet_amount) <> 'integer' OR typeof(win_amount) <> 'integer');
END;

-- An action replaced (sent again with its id, re-stamped, or erased): the
-- old one is taken out of its session and the new one counted, and both
-- sessions take the write's stamp (one the action left comes out again). If the
-- action's time or a descriptive column changed, those columns are taken
-- again from the session's actions, when all of them are still kept (a
-- session whose actions were purged keeps the least and greatest seen).
-- Personal columns blanked by an erasure are left to the erasure, which
-- blanks the sessions' own. A session left with no action is deleted.
CREATE TRIGGER game_actions_replaced AFTER UPDATE ON game_actions BEGIN
    UPDATE game_sessions SET
        bet_count = bet_count - (OLD.action = 'bet'),
        win_count = win_count - (OLD.action = 'win'),
        bet_amount = bet_amount - CASE WHEN OLD.action = 'bet' THEN OLD.amount ELSE 0 END,
        win_amount = win_amount - CASE WHEN OLD.action = 'win' THEN OLD.amount ELSE 0 END,
        modified_at = max(modified_at, NEW.modified_at)
    WHERE session_id = OLD.session_id;
    INSERT INTO game_sessions (session_id, player_id, game_code, game_name, currency,
        bet_count, win_count, bet_amount, win_amount, created_at, updated_at,
        game_vendor, balance_type, ip, user_agent, ref_code, modified_at)
    VALUES (NEW.session_id, NEW.player_id, NEW.game_code, NEW.game_name, NEW.currency,
        NEW.action = 'bet', NEW.action = 'win',
        CASE WHEN NEW.action = 'bet' THEN NEW.amount ELSE 0 END,
        CASE WHEN NEW.action = 'win' THEN NEW.amount ELSE 0 END,
        NEW.created_at, NEW.created_at, NEW.game_vendor, NEW.balance_type, NEW.ip,
        NEW.user_agent, NEW.ref_code, NEW.modified_at)
    ON CONFLICT (session_id) DO UPDATE SET
        player_id = min(player_id, excluded.player_id),
        game_code = CASE WHEN game_code IS NULL OR excluded.game_code < game_code THEN excluded.game_code ELSE game_code END,
        game_name = min(game_name, excluded.game_name),
        currency = min(currency, excluded.currency),
        bet_count = bet_count + excluded.bet_count,
        win_count = win_count + excluded.win_count,
        bet_amount = bet_amount + excluded.bet_amount,
        win_amount = win_amount + excluded.win_amount,
        created_at = min(created_at, excluded.created_at),
        updated_at = max(updated_at, excluded.updated_at),
        game_vendor = CASE WHEN game_vendor IS NULL OR excluded.game_vendor < game_vendor THEN excluded.game_vendor ELSE game_vendor END,
        balance_type = CASE WHEN balance_type IS NULL OR excluded.balance_type < balance_type THEN excluded.balance_type ELSE balance_type END,
        ip = CASE WHEN ip IS NULL OR excluded.ip < ip THEN excluded.ip ELSE ip END,
        user_agent = CASE WHEN user_agent IS NULL OR excluded.user_agent < user_agent THEN excluded.user_agent ELSE user_agent END,
        ref_code = CASE WHEN ref_code IS NULL OR excluded.ref_code < ref_code THEN excluded.ref_code ELSE ref_code END,
        modified_at = max(modified_at, excluded.modified_at);
    UPDATE game_sessions SET (player_id, game_code, game_name, currency, created_at, updated_at,
            game_vendor, balance_type, ip, user_agent, ref_code) =
        (SELECT MIN(player_id), MIN(game_code), MIN(game_name), MIN(currency), MIN(created_at),
            MAX(created_at), MIN(game_vendor), MIN(balance_type), MIN(ip), MIN(user_agent),
            MIN(ref_code)
         FROM game_actions WHERE game_actions.session_id = game_sessions.session_id)
    WHERE session_id IN (OLD.session_id, NEW.session_id)
        AND (OLD.session_id IS NOT NEW.session_id OR OLD.player_id IS NOT NEW.player_id
            OR OLD.game_code IS NOT NEW.game_code OR OLD.game_name IS NOT NEW.game_name
            OR OLD.currency IS NOT NEW.currency OR OLD.created_at IS NOT NEW.created_at
            OR OLD.game_vendor IS NOT NEW.game_vendor OR OLD.balance_type IS NOT NEW.balance_type
            OR OLD.ref_code IS NOT NEW.ref_code
            OR (NEW.ip IS NOT NULL AND OLD.ip IS NOT NEW.ip)
            OR (NEW.user_agent IS NOT NULL AND OLD.user_agent IS NOT NEW.user_agent))
        AND bet_count + win_count > 0 AND NOT actions_purged;
    DELETE FROM game_sessions WHERE session_id = OLD.session_id AND bet_count = 0 AND win_count = 0;
    SELECT RAISE(ABORT, 'a game session''s bet_amount or win_amount is past the largest amount')
    FROM game_sessions WHERE session_id = NEW.session_id
        AND (typeof(bet_amount) <> 'integer' OR typeof(win_amount) <> 'integer');
END;
