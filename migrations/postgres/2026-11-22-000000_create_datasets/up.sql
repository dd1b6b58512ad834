-- Column conventions (the same on every backend, so one query serves both):
--   * timestamps: BIGINT microseconds since the Unix epoch, UTC;
--   * amounts, balances, stakes, ratios: BIGINT millionths (exact decimals);
--   * modified_at / updated_at: stamped by hourglass on every write, never by
--     a client; each table has an index on (stamp, key) for window pulls.

CREATE TABLE users (
    id BIGINT PRIMARY KEY,
    first_name TEXT,
    last_name TEXT,
    gender TEXT,
    country TEXT,
    city TEXT,
    ip TEXT,
    birthday TEXT,
    registered_at BIGINT NOT NULL,
    ref_code TEXT,
    traffic_source TEXT,
    user_agent TEXT,
    modified_at BIGINT NOT NULL,
    is_blocked BOOLEAN,
    self_excluded BOOLEAN,
    locale TEXT
);
CREATE INDEX users_window ON users (modified_at, id);

CREATE TABLE contacts (
    player_id BIGINT PRIMARY KEY,
    email TEXT,
    email_confirmed_at BIGINT,
    email_subscribe BOOLEAN,
    phone TEXT,
    phone_subscribe BOOLEAN,
    phone_confirmed_at BIGINT,
    push_token TEXT,
    created_at BIGINT NOT NULL,
    modified_at BIGINT NOT NULL
);
CREATE INDEX contacts_window ON contacts (modified_at, player_id);

CREATE TABLE transactions (
    id BIGINT PRIMARY KEY,
    player_id BIGINT NOT NULL,
    amount BIGINT NOT NULL,
    currency TEXT NOT NULL,
    type TEXT,
    status TEXT,
    payment_system TEXT,
    dir TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    invoice_id TEXT,
    wallet_id BIGINT,
    user_agent TEXT,
    ip TEXT,
    requisite TEXT,
    comment TEXT
);
CREATE INDEX transactions_window ON transactions (updated_at, id);

CREATE TABLE logins (
    id BIGINT PRIMARY KEY,
    player_id BIGINT NOT NULL,
    ip TEXT,
    created_at BIGINT NOT NULL,
    ref_code TEXT,
    traffic_source TEXT,
    user_agent TEXT,
    host TEXT,
    is_success BOOLEAN,
    fail_reason TEXT,
    modified_at BIGINT NOT NULL
);
CREATE INDEX logins_window ON logins (modified_at, id);

CREATE TABLE wallets (
    id BIGINT PRIMARY KEY,
    player_id BIGINT NOT NULL,
    type TEXT NOT NULL,
    balance BIGINT NOT NULL,
    currency TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    modified_at BIGINT NOT NULL
);
CREATE INDEX wallets_window ON wallets (modified_at, id);

-- Raw game actions; the game_sessions dataset aggregates them per session.
CREATE TABLE game_actions (
    id TEXT PRIMARY KEY,
    session_id TEXT NOT NULL,
    player_id BIGINT NOT NULL,
    game_code TEXT,
    game_name TEXT NOT NULL,
    game_vendor TEXT,
    currency TEXT NOT NULL,
    balance_type TEXT,
    action TEXT NOT NULL,
    amount BIGINT NOT NULL,
    ip TEXT,
    user_agent TEXT,
    ref_code TEXT,
    created_at BIGINT NOT NULL,
    modified_at BIGINT NOT NULL
);
-- Finds the sessions with an action in a window without touching the table.
CREATE INDEX game_actions_window ON game_actions (created_at, session_id);
-- Gathers all actions of one session.
CREATE INDEX game_actions_session ON game_actions (session_id, created_at);

CREATE TABLE tournaments (
    id BIGINT PRIMARY KEY,
    name TEXT NOT NULL,
    sport_id TEXT,
    sport_name TEXT,
    country_code TEXT,
    date_start BIGINT NOT NULL,
    date_end BIGINT,
    modified_at BIGINT NOT NULL
);
CREATE INDEX tournaments_window ON tournaments (modified_at, id);

CREATE TABLE events (
    id BIGINT PRIMARY KEY,
    tournament_id BIGINT NOT NULL,
    title TEXT NOT NULL,
    status TEXT NOT NULL,
    start_time BIGINT NOT NULL,
    end_time BIGINT,
    type TEXT NOT NULL,
    modified_at BIGINT NOT NULL
);
CREATE INDEX events_window ON events (modified_at, id);

CREATE TABLE bets (
    id BIGINT PRIMARY KEY,
    player_id BIGINT NOT NULL,
    status TEXT,
    type TEXT NOT NULL,
    stake BIGINT,
    win_amount BIGINT,
    currency TEXT,
    kind TEXT,
    created_at BIGINT NOT NULL,
    user_agent TEXT,
    modified_at BIGINT NOT NULL
);
CREATE INDEX bets_window ON bets (modified_at, id);

CREATE TABLE bet_selections (
    id BIGINT PRIMARY KEY,
    bet_id BIGINT NOT NULL,
    event_id BIGINT NOT NULL,
    ratio BIGINT,
    status TEXT,
    market TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX bet_selections_window ON bet_selections (updated_at, id);

-- The last write stamp handed out: stamps only ever increase, even when the
-- system clock steps back.
CREATE TABLE stamp_clock (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    last_stamp BIGINT NOT NULL
);
INSERT INTO stamp_clock (id, last_stamp) VALUES (1, 0);

-- API keys: only a SHA-256 of each key is kept.
CREATE TABLE api_keys (
    name TEXT PRIMARY KEY,
    key_hash TEXT NOT NULL UNIQUE,
    scopes TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);
