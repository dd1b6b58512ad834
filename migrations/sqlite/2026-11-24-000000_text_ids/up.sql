-- Identifiers are the operator's own text (UUIDs, URNs such as sr:match:1,
-- "a123b456"): every id and reference column becomes TEXT, and the integer
-- ids stored so far become their decimal text. SQLite cannot change a
-- column's type in place, so each table is rebuilt with its indexes.

CREATE TABLE users_new (
    id TEXT PRIMARY KEY NOT NULL,
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
INSERT INTO users_new SELECT CAST(id AS TEXT), first_name, last_name, gender, country, city, ip, birthday, registered_at, ref_code, traffic_source, user_agent, modified_at, is_blocked, self_excluded, locale FROM users;
DROP TABLE users;
ALTER TABLE users_new RENAME TO users;
CREATE INDEX users_window ON users (modified_at, id);

CREATE TABLE contacts_new (
    player_id TEXT PRIMARY KEY NOT NULL,
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
INSERT INTO contacts_new SELECT CAST(player_id AS TEXT), email, email_confirmed_at, email_subscribe, phone, phone_subscribe, phone_confirmed_at, push_token, created_at, modified_at FROM contacts;
DROP TABLE contacts;
ALTER TABLE contacts_new RENAME TO contacts;
CREATE INDEX contacts_window ON contacts (modified_at, player_id);

CREATE TABLE transactions_new (
    id TEXT PRIMARY KEY NOT NULL,
    player_id TEXT NOT NULL,
    amount BIGINT NOT NULL,
    currency TEXT NOT NULL,
    type TEXT,
    status TEXT,
    payment_system TEXT,
    dir TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    invoice_id TEXT,
    wallet_id TEXT,
    user_agent TEXT,
    ip TEXT,
    requisite TEXT,
    comment TEXT
);
INSERT INTO transactions_new SELECT CAST(id AS TEXT), CAST(player_id AS TEXT), amount, currency, type, status, payment_system, dir, created_at, updated_at, invoice_id, CAST(wallet_id AS TEXT), user_agent, ip, requisite, comment FROM transactions;
DROP TABLE transactions;
ALTER TABLE transactions_new RENAME TO transactions;
CREATE INDEX transactions_window ON transactions (updated_at, id);

CREATE TABLE logins_new (
    id TEXT PRIMARY KEY NOT NULL,
    player_id TEXT NOT NULL,
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
INSERT INTO logins_new SELECT CAST(id AS TEXT), CAST(player_id AS TEXT), ip, created_at, ref_code, traffic_source, user_agent, host, is_success, fail_reason, modified_at FROM logins;
DROP TABLE logins;
ALTER TABLE logins_new RENAME TO logins;
CREATE INDEX logins_window ON logins (modified_at, id);

CREATE TABLE wallets_new (
    id TEXT PRIMARY KEY NOT NULL,
    player_id TEXT NOT NULL,
    type TEXT NOT NULL,
    balance BIGINT NOT NULL,
    currency TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    modified_at BIGINT NOT NULL
);
INSERT INTO wallets_new SELECT CAST(id AS TEXT), CAST(player_id AS TEXT), type, balance, currency, created_at, modified_at FROM wallets;
DROP TABLE wallets;
ALTER TABLE wallets_new RENAME TO wallets;
CREATE INDEX wallets_window ON wallets (modified_at, id);

CREATE TABLE game_actions_new (
    id TEXT PRIMARY KEY NOT NULL,
    session_id TEXT NOT NULL,
    player_id TEXT NOT NULL,
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
INSERT INTO game_actions_new SELECT id, session_id, CAST(player_id AS TEXT), game_code, game_name, game_vendor, currency, balance_type, action, amount, ip, user_agent, ref_code, created_at, modified_at FROM game_actions;
DROP TABLE game_actions;
ALTER TABLE game_actions_new RENAME TO game_actions;
CREATE INDEX game_actions_window ON game_actions (created_at, session_id);
CREATE INDEX game_actions_session ON game_actions (session_id, created_at);
CREATE INDEX game_actions_written ON game_actions (modified_at, session_id);

CREATE TABLE tournaments_new (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    sport_id TEXT,
    sport_name TEXT,
    country_code TEXT,
    date_start BIGINT NOT NULL,
    date_end BIGINT,
    modified_at BIGINT NOT NULL
);
INSERT INTO tournaments_new SELECT CAST(id AS TEXT), name, sport_id, sport_name, country_code, date_start, date_end, modified_at FROM tournaments;
DROP TABLE tournaments;
ALTER TABLE tournaments_new RENAME TO tournaments;
CREATE INDEX tournaments_window ON tournaments (modified_at, id);

CREATE TABLE events_new (
    id TEXT PRIMARY KEY NOT NULL,
    tournament_id TEXT NOT NULL,
    title TEXT NOT NULL,
    status TEXT NOT NULL,
    start_time BIGINT NOT NULL,
    end_time BIGINT,
    type TEXT NOT NULL,
    modified_at BIGINT NOT NULL
);
INSERT INTO events_new SELECT CAST(id AS TEXT), CAST(tournament_id AS TEXT), title, status, start_time, end_time, type, modified_at FROM events;
DROP TABLE events;
ALTER TABLE events_new RENAME TO events;
CREATE INDEX events_window ON events (modified_at, id);

CREATE TABLE bets_new (
    id TEXT PRIMARY KEY NOT NULL,
    player_id TEXT NOT NULL,
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
INSERT INTO bets_new SELECT CAST(id AS TEXT), CAST(player_id AS TEXT), status, type, stake, win_amount, currency, kind, created_at, user_agent, modified_at FROM bets;
DROP TABLE bets;
ALTER TABLE bets_new RENAME TO bets;
CREATE INDEX bets_window ON bets (modified_at, id);

CREATE TABLE bet_selections_new (
    id TEXT PRIMARY KEY NOT NULL,
    bet_id TEXT NOT NULL,
    event_id TEXT NOT NULL,
    ratio BIGINT,
    status TEXT,
    market TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
INSERT INTO bet_selections_new SELECT CAST(id AS TEXT), CAST(bet_id AS TEXT), CAST(event_id AS TEXT), ratio, status, market, created_at, updated_at FROM bet_selections;
DROP TABLE bet_selections;
ALTER TABLE bet_selections_new RENAME TO bet_selections;
CREATE INDEX bet_selections_window ON bet_selections (updated_at, id);
