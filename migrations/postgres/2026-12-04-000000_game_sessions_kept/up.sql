-- Game sessions are kept as rows, their totals updated in the transaction
-- that writes their actions (by the trigger below), so that a pull reads a
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
    COUNT(*) FILTER (WHERE action = 'bet'), COUNT(*) FILTER (WHERE action = 'win'),
    CAST(COALESCE(SUM(amount) FILTER (WHERE action = 'bet'), 0) AS BIGINT),
    CAST(COALESCE(SUM(amount) FILTER (WHERE action = 'win'), 0) AS BIGINT),
    MIN(created_at), MAX(created_at), MIN(game_vendor), MIN(balance_type), MIN(ip),
    MIN(user_agent), MIN(ref_code), MAX(modified_at)
FROM game_actions GROUP BY session_id;

-- A window's sessions: by their last action, their first, and their stamp.
CREATE INDEX game_sessions_last ON game_sessions (updated_at, session_id);
CREATE INDEX game_sessions_first ON game_sessions (created_at, session_id);
CREATE INDEX game_sessions_written ON game_sessions (modified_at, session_id);
-- A player's sessions (erasure).
CREATE INDEX game_sessions_player ON game_sessions (player_id);

-- Keeps the totals, once per statement on all of its rows (the transition
-- tables): an action added is counted in its session (made if new); an
-- action replaced (sent again with its id, re-stamped, or erased) is taken
-- out first, and both sessions take the write's stamp (one the action left
-- comes out again). The old rows are the versions the statement replaced, read
-- under their row locks, so two writers of one action can never both count
-- it as new. Descriptive columns keep the least value seen, as MIN over the
-- actions did. If an action's time or a descriptive column changed, those
-- columns are taken again from the session's actions, when all of them are
-- still kept (a session whose actions were purged keeps the least and
-- greatest seen); personal columns blanked by an erasure are left to the
-- erasure, which blanks the sessions' own. A session left with no action
-- is deleted.
CREATE FUNCTION game_sessions_keep() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        UPDATE game_sessions AS s SET
            bet_count = s.bet_count - o.bet_count,
            win_count = s.win_count - o.win_count,
            bet_amount = s.bet_amount - o.bet_amount,
            win_amount = s.win_amount - o.win_amount,
            modified_at = GREATEST(s.modified_at, o.stamp)
        FROM (SELECT o.session_id,
                COUNT(*) FILTER (WHERE o.action = 'bet') AS bet_count,
                COUNT(*) FILTER (WHERE o.action = 'win') AS win_count,
                CAST(COALESCE(SUM(o.amount) FILTER (WHERE o.action = 'bet'), 0) AS BIGINT) AS bet_amount,
                CAST(COALESCE(SUM(o.amount) FILTER (WHERE o.action = 'win'), 0) AS BIGINT) AS win_amount,
                MAX(n.modified_at) AS stamp
              FROM replaced AS o JOIN added AS n ON n.id = o.id GROUP BY o.session_id) AS o
        WHERE s.session_id = o.session_id;
    END IF;
    INSERT INTO game_sessions AS s (session_id, player_id, game_code, game_name, currency,
        bet_count, win_count, bet_amount, win_amount, created_at, updated_at,
        game_vendor, balance_type, ip, user_agent, ref_code, modified_at)
    SELECT session_id, MIN(player_id), MIN(game_code), MIN(game_name), MIN(currency),
        COUNT(*) FILTER (WHERE action = 'bet'), COUNT(*) FILTER (WHERE action = 'win'),
        CAST(COALESCE(SUM(amount) FILTER (WHERE action = 'bet'), 0) AS BIGINT),
        CAST(COALESCE(SUM(amount) FILTER (WHERE action = 'win'), 0) AS BIGINT),
        MIN(created_at), MAX(created_at), MIN(game_vendor), MIN(balance_type), MIN(ip),
        MIN(user_agent), MIN(ref_code), MAX(modified_at)
    FROM added GROUP BY session_id
    ON CONFLICT (session_id) DO UPDATE SET
        player_id = LEAST(s.player_id, excluded.player_id),
        game_code = LEAST(s.game_code, excluded.game_code),
        game_name = LEAST(s.game_name, excluded.game_name),
        currency = LEAST(s.currency, excluded.currency),
        bet_count = s.bet_count + excluded.bet_count,
        win_count = s.win_count + excluded.win_count,
        bet_amount = s.bet_amount + excluded.bet_amount,
        win_amount = s.win_amount + excluded.win_amount,
        created_at = LEAST(s.created_at, excluded.created_at),
        updated_at = GREATEST(s.updated_at, excluded.updated_at),
        game_vendor = LEAST(s.game_vendor, excluded.game_vendor),
        balance_type = LEAST(s.balance_type, excluded.balance_type),
        ip = LEAST(s.ip, excluded.ip),
        user_agent = LEAST(s.user_agent, excluded.user_agent),
        ref_code = LEAST(s.ref_code, excluded.ref_code),
        modified_at = GREATEST(s.modified_at, excluded.modified_at);
    IF TG_OP = 'UPDATE' THEN
        UPDATE game_sessions AS s SET
            player_id = a.player_id, game_code = a.game_code, game_name = a.game_name,
            currency = a.currency, created_at = a.created_at, updated_at = a.updated_at,
            game_vendor = a.game_vendor, balance_type = a.balance_type, ip = a.ip,
            user_agent = a.user_agent, ref_code = a.ref_code
        FROM (SELECT session_id, MIN(player_id) AS player_id, MIN(game_code) AS game_code,
                MIN(game_name) AS game_name, MIN(currency) AS currency,
                MIN(created_at) AS created_at, MAX(created_at) AS updated_at,
                MIN(game_vendor) AS game_vendor, MIN(balance_type) AS balance_type,
                MIN(ip) AS ip, MIN(user_agent) AS user_agent, MIN(ref_code) AS ref_code
              FROM game_actions
              WHERE session_id IN (
                  SELECT unnest(ARRAY[o.session_id, n.session_id])
                  FROM replaced AS o JOIN added AS n ON n.id = o.id
                  WHERE (o.session_id, o.player_id, o.game_code, o.game_name, o.currency,
                         o.created_at, o.game_vendor, o.balance_type, o.ref_code)
                      IS DISTINCT FROM
                        (n.session_id, n.player_id, n.game_code, n.game_name, n.currency,
                         n.created_at, n.game_vendor, n.balance_type, n.ref_code)
                     OR (n.ip IS NOT NULL AND n.ip IS DISTINCT FROM o.ip)
                     OR (n.user_agent IS NOT NULL AND n.user_agent IS DISTINCT FROM o.user_agent))
              GROUP BY session_id) AS a
        WHERE s.session_id = a.session_id AND NOT s.actions_purged;
        DELETE FROM game_sessions
        WHERE session_id IN (SELECT session_id FROM replaced) AND bet_count = 0 AND win_count = 0;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER game_actions_added AFTER INSERT ON game_actions
    REFERENCING NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION game_sessions_keep();
CREATE TRIGGER game_actions_replaced AFTER UPDATE ON game_actions
    REFERENCING OLD TABLE AS replaced NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION game_sessions_keep();
